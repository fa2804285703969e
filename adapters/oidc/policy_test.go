package oidc_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/adapters/oidc"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
)

func policyConfig(c *oidc.Config) {
	c.PolicyClaim = "plan"
	c.Policies = map[string]oidc.Policy{
		"free": {Providers: []string{"openai"}, Models: []string{"gpt-realtime-mini"}, MaxTTL: time.Minute,
			RateLimit: realtimesecret.Rate{Requests: 10, Per: time.Minute}, MaxSession: 5 * time.Minute, MaxSessions: 1},
		"pro": {MaxSessions: 5, MaxUses: 3, GovernanceFailOpen: true, SingleUse: true},
	}
}

func TestPolicyByClaim(t *testing.T) {
	cases := []struct {
		name   string
		plan   any // nil: no claim
		def    string
		model  string
		status int
		code   string
		policy string // of the principal, by its limits
	}{
		{name: "string", plan: "pro", model: "other/any-model", status: http.StatusOK, policy: "pro"},
		{name: "list: first that names one", plan: []any{"admin", 7, "free", "pro"}, model: "openai/gpt-realtime-mini", status: http.StatusOK, policy: "free"},
		{name: "model not allowed", plan: "free", model: "openai/gpt-realtime", status: http.StatusForbidden, code: "model_not_allowed"},
		{name: "provider not allowed", plan: "free", model: "other/gpt-realtime-mini", status: http.StatusForbidden, code: "provider_not_allowed"},
		{name: "no claim, no default", plan: nil, model: "openai/gpt-realtime-mini", status: http.StatusForbidden, code: "policy_forbids"},
		{name: "unknown value, no default", plan: "enterprise", model: "openai/gpt-realtime-mini", status: http.StatusForbidden, code: "policy_forbids"},
		{name: "no claim: default", plan: nil, def: "free", model: "openai/gpt-realtime-mini", status: http.StatusOK, policy: "free"},
		{name: "unknown value: default", plan: "enterprise", def: "free", model: "openai/gpt-realtime", status: http.StatusForbidden, code: "model_not_allowed"},
		{name: "a claim of another type", plan: map[string]any{"pro": true}, def: "free", model: "openai/gpt-realtime-mini", status: http.StatusOK, policy: "free"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(c *oidc.Config) {
				policyConfig(c)
				c.DefaultPolicy = tc.def
			})
			claims := e.claims("alice")
			if tc.plan != nil {
				claims["plan"] = tc.plan
			}
			w := e.mint(t, e.idp.Sign(claims), tc.model)
			require.Equal(t, tc.status, w.Code, w.Body.String())
			if tc.code != "" {
				_, code, msg := openAIError(t, w)
				assert.Equal(t, tc.code, code)
				assert.Contains(t, msg, `user "alice"`)
				assert.Zero(t, e.upstream.Load())
				return
			}
			require.Len(t, e.principals, 1)
			p := e.principals[0]
			assert.Equal(t, "alice", p.ID)
			assert.Equal(t, tc.policy, p.Policy)
			assert.Equal(t, "jti-alice", p.TokenID, "the jti, for the audit trail")
			switch tc.policy {
			case "free":
				assert.Equal(t, time.Minute, p.MaxTTL)
				assert.Equal(t, realtimesecret.Rate{Requests: 10, Per: time.Minute}, p.RateLimit)
				assert.Equal(t, 5*time.Minute, p.MaxSession)
				assert.Equal(t, 1, p.MaxSessions)
			case "pro":
				assert.Equal(t, 5, p.MaxSessions)
				assert.Equal(t, 3, p.MaxUses)
				assert.True(t, p.GovernanceFailOpen)
				assert.True(t, p.SingleUse)
			}
		})
	}
}

// Without policies, every verified caller may mint, unlimited.
func TestNoPolicies(t *testing.T) {
	e := newEnv(t, nil)
	require.Equal(t, http.StatusOK, e.mint(t, e.idp.Sign(e.claims("alice")), "other/anything").Code)
	assert.Equal(t, realtimesecret.Principal{ID: "alice", Kind: oidc.KindUser, TokenID: "jti-alice"}, e.principals[0])
}

// The policy's rate limit is the user's: another user has their own.
func TestPolicyRateLimitPerUser(t *testing.T) {
	e := newEnv(t, func(c *oidc.Config) {
		c.Policies = map[string]oidc.Policy{"one": {RateLimit: realtimesecret.Rate{Requests: 1, Per: time.Hour}}}
		c.DefaultPolicy = "one"
	})
	alice, bob := e.idp.Sign(e.claims("alice")), e.idp.Sign(e.claims("bob"))
	require.Equal(t, http.StatusOK, e.mint(t, alice, "openai/gpt-realtime").Code)
	require.Equal(t, http.StatusTooManyRequests, e.mint(t, alice, "openai/gpt-realtime").Code)
	require.Equal(t, http.StatusOK, e.mint(t, bob, "openai/gpt-realtime").Code)
}
