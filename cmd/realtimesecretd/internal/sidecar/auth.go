package sidecar

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/realtimesecret/realtimesecret/adapters/oidc"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
)

// AuthConfig holds the ways callers authenticate besides virtual keys.
type AuthConfig struct {
	// JWT lets the end users of an app mint with the tokens their OpenID
	// Connect provider signs (adapters/oidc). With virtual_keys beside it,
	// a request that presents a virtual key is the key's (a wrong one in
	// virtual_key_header is 401), and any other must carry a token.
	// Default none.
	JWT *JWTConfig `yaml:"jwt"`
}

// JWTConfig is auth.jwt: how tokens are verified and which policy a user
// gets.
type JWTConfig struct {
	// Issuer is the provider's issuer URL, compared exactly with a token's
	// iss. Required; https.
	Issuer string `yaml:"issuer"`
	// Audiences are the values a token's aud must hold one of. Required.
	Audiences []string `yaml:"audiences"`
	// JWKSURL is where the provider's keys are. Default: the jwks_uri of
	// the issuer's /.well-known/openid-configuration.
	JWKSURL string `yaml:"jwks_url"`
	// Algorithms are the signature algorithms accepted. Default [RS256,
	// ES256, EdDSA]; none and the HMAC algorithms are refused.
	Algorithms []string `yaml:"algorithms"`
	// ClockSkew is how far exp, nbf and iat may be off. Default 30s; 0s
	// means none.
	ClockSkew *Duration `yaml:"clock_skew"`
	// RefreshInterval is the least time between two fetches of the key
	// set: a token with an unknown kid fetches it at most this often,
	// however many arrive. Default 30s.
	RefreshInterval Duration `yaml:"refresh_interval"`
	// RequiredClaims are claims a token must have: "" for present and not
	// empty, else the value (true, a string, a number) or a list holding
	// it. Default none.
	RequiredClaims map[string]string `yaml:"required_claims"`
	// Cookie names a cookie browsers may send the token in, when they send
	// no Authorization header. Default none: the header only.
	Cookie string `yaml:"cookie"`
	// TrustedOrigins are origins (https://app.example.com) whose pages may
	// mint with the cookie although they are on another host. A request
	// authenticated by the cookie from any other site is refused (403
	// cross_site_request). Default none: same-origin only.
	TrustedOrigins []string `yaml:"trusted_origins"`
	// UserClaim names the user: the principal's ID in logs, records, limits
	// and hang-ups. Default sub.
	UserClaim string `yaml:"user_claim"`
	// PolicyClaim is the claim whose value (a string, or the first of a
	// list that is one) names the user's policy. Default none: every user
	// gets default_policy.
	PolicyClaim string `yaml:"policy_claim"`
	// Policies are the policies by name, with the fields of a virtual key.
	Policies map[string]PolicyConfig `yaml:"policies"`
	// DefaultPolicy is the policy of a user whose claim names none.
	// Default none: such a user is refused (403) when there are policies,
	// and unrestricted when there are none.
	DefaultPolicy string `yaml:"default_policy"`
}

// PolicyConfig is what a user may mint: a virtual key's policy fields.
type PolicyConfig struct {
	Providers           []string     `yaml:"providers"`
	Models              []string     `yaml:"models"`
	MaxTTL              Duration     `yaml:"max_ttl"`
	RateLimit           RateConfig   `yaml:"rate_limit"`
	MaxSession          Duration     `yaml:"max_session"`
	MaxSessions         Count        `yaml:"max_sessions"`
	MaxUses             Count        `yaml:"max_uses"`
	GovernanceFailOpen  bool         `yaml:"governance_fail_open"`
	SingleUse           bool         `yaml:"single_use"`
	Budget              BudgetConfig `yaml:"budget"`
	AllowUnmeteredMints bool         `yaml:"allow_unmetered_mints"`
}

// oidcConfig is j in the adapter's terms.
func (j *JWTConfig) oidcConfig() oidc.Config {
	oc := oidc.Config{
		Issuer:         j.Issuer,
		Audiences:      j.Audiences,
		JWKSURL:        j.JWKSURL,
		Algorithms:     j.Algorithms,
		RequiredClaims: j.RequiredClaims,
		Cookie:         j.Cookie,
		UserClaim:      j.UserClaim,
		PolicyClaim:    j.PolicyClaim,
		DefaultPolicy:  j.DefaultPolicy,

		MinRefreshInterval: time.Duration(j.RefreshInterval),
	}
	if j.ClockSkew != nil {
		oc.ClockSkew = time.Duration(*j.ClockSkew)
		if oc.ClockSkew == 0 {
			oc.ClockSkew = -1 // none
		}
	}
	if len(j.Policies) > 0 {
		oc.Policies = make(map[string]oidc.Policy, len(j.Policies))
	}
	for name, p := range j.Policies {
		oc.Policies[name] = oidc.Policy{
			Providers:           p.Providers,
			Models:              p.Models,
			MaxTTL:              time.Duration(p.MaxTTL),
			RateLimit:           realtimesecret.Rate{Requests: p.RateLimit.Requests, Per: time.Duration(p.RateLimit.Per)},
			MaxSession:          time.Duration(p.MaxSession),
			MaxSessions:         int(p.MaxSessions),
			MaxUses:             int(p.MaxUses),
			GovernanceFailOpen:  p.GovernanceFailOpen,
			SingleUse:           p.SingleUse,
			Budget:              p.Budget.core(),
			AllowUnmeteredMints: p.AllowUnmeteredMints,
		}
	}
	return oc
}

// validateAuth checks auth.jwt in the file's terms.
func (c *Config) validateAuth() error {
	j := c.Auth.JWT
	if j == nil {
		return nil
	}
	ix := c.ix
	switch {
	case j.Issuer == "":
		return fmt.Errorf("%s: issuer is required, like https://login.example.com/", ix.at("auth.jwt"))
	case len(j.Audiences) == 0:
		return fmt.Errorf("%s: audiences are required: the aud a token for this service has", ix.at("auth.jwt"))
	case j.PolicyClaim != "" && len(j.Policies) == 0:
		return fmt.Errorf("%s %q names a claim, but there are no policies to pick from", ix.at("auth.jwt.policy_claim"), j.PolicyClaim)
	}
	if _, ok := j.Policies[j.DefaultPolicy]; j.DefaultPolicy != "" && !ok {
		return fmt.Errorf("%s %q is not one of auth.jwt.policies", ix.at("auth.jwt.default_policy"), j.DefaultPolicy)
	}
	for name, p := range j.Policies {
		path := "auth.jwt.policies." + name
		rl := p.RateLimit
		if rl.Requests < 0 || (rl.Requests > 0) != (rl.Per > 0) {
			return fmt.Errorf("%s needs both requests and per, like {requests: 60, per: 1m}", ix.at(path+".rate_limit"))
		}
		if b := p.Budget; b != (BudgetConfig{}) && (!(b.USD > 0) || time.Duration(b.Per) < minBudgetPer) {
			return fmt.Errorf("%s: want a positive usd and per of at least %s, like {usd: 5.00, per: 24h}", ix.at(path+".budget"), minBudgetPer)
		}
		for i, pr := range p.Providers {
			if _, ok := c.Providers[pr]; !ok {
				return fmt.Errorf("%s %q is not one of providers (%s)", ix.at(path+".providers["+strconv.Itoa(i)+"]"), pr, strings.Join(c.providerOrder, ", "))
			}
		}
	}
	if _, err := trustedOrigins(j.TrustedOrigins); err != nil {
		return fmt.Errorf("%s%w", lineOf(ix, "auth.jwt.trusted_origins"), err)
	}
	if _, err := oidc.New(j.oidcConfig()); err != nil {
		// The adapter names Go fields; the message after its prefix is
		// about the value, which the file's author can find.
		return fmt.Errorf("%s: %s", ix.at("auth.jwt"), strings.TrimPrefix(err.Error(), oidc.ErrInvalidConfig.Error()+": "))
	}
	return nil
}

// trustedOrigins is the cross-origin protection of cookie callers, with
// the origins trusted.
func trustedOrigins(origins []string) (*http.CrossOriginProtection, error) {
	cop := http.NewCrossOriginProtection()
	for i, o := range origins {
		if err := cop.AddTrustedOrigin(o); err != nil {
			return nil, errors.New("auth.jwt.trusted_origins[" + strconv.Itoa(i) + "]: want an origin, like https://app.example.com")
		}
	}
	return cop, nil
}

// buildAuth sets the core's Authorizer for auth.jwt, and the cross-origin
// protection of the callers it authenticates by cookie. Without auth.jwt,
// the protection is the core's default (on).
func (b *built) buildAuth(cfg *Config, log *slog.Logger) error {
	j := cfg.Auth.JWT
	if j == nil {
		return nil
	}
	oc := j.oidcConfig()
	oc.Logger = log
	v, err := oidc.New(oc)
	if err != nil {
		return fmt.Errorf("auth.jwt: %w", err)
	}
	cop, err := trustedOrigins(j.TrustedOrigins)
	if err != nil {
		return err
	}
	b.core.Authorizer = v.Authorize
	b.core.CrossOriginProtection = cop
	return nil
}
