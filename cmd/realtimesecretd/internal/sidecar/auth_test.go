package sidecar_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/cmd/realtimesecretd/internal/sidecar"
	"github.com/realtimesecret/realtimesecret/internal/fakeidp"
)

const jwtYAML = `auth:
  jwt:
    issuer: ${IDP_URL}
    audiences: [realtime-api]
    cookie: id_token
    trusted_origins: [https://app.example.com]
    policy_claim: plan
    policies:
      free: {models: [gpt-realtime-mini], max_sessions: 1}
      pro: {single_use: true, rate_limit: {requests: 100, per: 1m}}
    default_policy: free
`

func userToken(idp *fakeidp.IDP, sub, plan string) string {
	c := jwt.MapClaims{"iss": idp.Issuer(), "aud": "realtime-api", "sub": sub, "exp": time.Now().Add(time.Hour).Unix(), "jti": "jti-" + sub}
	if plan != "" {
		c["plan"] = plan
	}
	return idp.Sign(c)
}

// End users mint with their provider's tokens beside the virtual keys;
// every bad token is a 401 in OpenAI's shape; a cookie's cross-site
// request is refused; a pro user's secrets are single-use.
func TestJWTAuthThroughTheSidecar(t *testing.T) {
	idp := fakeidp.New()
	t.Cleanup(idp.Close)
	h := start(t, options{extra: jwtYAML, env: map[string]string{"IDP_URL": idp.Issuer()}})
	mint := func(header http.Header, model string) (reply, []byte) {
		header.Set("Content-Type", "application/json")
		return do(t, http.MethodPost, h.URL+"/v1/realtime/client_secrets", header,
			`{"session":{"type":"realtime","model":"openai/`+model+`"}}`)
	}
	bearer := func(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }

	resp, body := mint(bearer(userToken(idp, "alice", "pro")), "gpt-realtime")
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	var secret struct{ Value string }
	require.NoError(t, json.Unmarshal(body, &secret))

	resp, body = mint(bearer(userToken(idp, "bob", "")), "gpt-realtime")
	require.Equal(t, http.StatusForbidden, resp.StatusCode, string(body))
	assert.Contains(t, string(body), `"code":"model_not_allowed"`)
	assert.Contains(t, string(body), `user \"bob\"`)

	resp, body = mint(bearer("not.a.token"), "gpt-realtime")
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode, string(body))
	assert.Contains(t, string(body), `"type":"authentication_error"`)

	resp, _ = mint(bearer(virtualKey), "gpt-realtime")
	assert.Equal(t, http.StatusOK, resp.StatusCode, "virtual keys keep working beside auth.jwt")

	cookie := http.Header{"Cookie": {"id_token=" + userToken(idp, "carol", "pro")}}
	cookie.Set("Sec-Fetch-Site", "cross-site")
	cookie.Set("Origin", "https://evil.example")
	resp, body = mint(cookie, "gpt-realtime")
	require.Equal(t, http.StatusForbidden, resp.StatusCode, string(body))
	assert.Contains(t, string(body), `"code":"cross_site_request"`)
	cookie.Set("Sec-Fetch-Site", "same-site")
	cookie.Set("Origin", "https://app.example.com")
	resp, body = mint(cookie, "gpt-realtime")
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))

	// The pro secret is single-use through the sidecar.
	redeem := func() int {
		resp, _ := do(t, http.MethodPost, h.URL+"/v1/responses", http.Header{"Authorization": {"Bearer " + secret.Value}}, "{}")
		return resp.StatusCode
	}
	require.NotEqual(t, http.StatusUnauthorized, redeem())
	assert.Equal(t, http.StatusUnauthorized, redeem())
	assert.Zero(t, idp.JWKSFetches()-1, "one key fetch for all of it")
}

func TestJWTConfigErrors(t *testing.T) {
	base := "providers: {openai: {keys: [{id: primary, value: sk-x}]}}\n"
	cases := []struct{ name, yaml, want string }{
		{"no issuer", "auth: {jwt: {audiences: [a]}}\n", "issuer is required"},
		{"no audiences", "auth: {jwt: {issuer: https://idp.example}}\n", "audiences are required"},
		{"http issuer", "auth: {jwt: {issuer: http://idp.example, audiences: [a]}}\n", "https"},
		{"alg none", "auth: {jwt: {issuer: https://idp.example, audiences: [a], algorithms: [none]}}\n", `"none" is not supported`},
		{"HS256", "auth: {jwt: {issuer: https://idp.example, audiences: [a], algorithms: [HS256]}}\n", `"HS256" is not supported`},
		{"unknown default policy", "auth: {jwt: {issuer: https://idp.example, audiences: [a], default_policy: x}}\n", "not one of auth.jwt.policies"},
		{"claim without policies", "auth: {jwt: {issuer: https://idp.example, audiences: [a], policy_claim: plan}}\n", "no policies"},
		{"unknown provider", "auth: {jwt: {issuer: https://idp.example, audiences: [a], policies: {p: {providers: [nope]}}}}\n", `"nope" is not one of providers`},
		{"half a rate", "auth: {jwt: {issuer: https://idp.example, audiences: [a], policies: {p: {rate_limit: {requests: 1}}}}}\n", "needs both requests and per"},
		{"bad origin", "auth: {jwt: {issuer: https://idp.example, audiences: [a], trusted_origins: [app.example.com]}}\n", "want an origin"},
		{"unknown key", "auth: {jwt: {issuer: https://idp.example, audiences: [a], audience: b}}\n", `unknown key "audience"`},
		{"anonymous too", "allow_anonymous: true\nauth: {jwt: {issuer: https://idp.example, audiences: [a]}}\n", "allow_anonymous"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := sidecar.Parse([]byte(base+tc.yaml), env(baseEnv()))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	// auth.jwt alone is enough: no virtual_keys needed.
	_, err := sidecar.Parse([]byte(base+"auth: {jwt: {issuer: https://idp.example/, audiences: [a]}}\n"), env(baseEnv()))
	require.NoError(t, err)
	assert.NotContains(t, strings.ToLower(base), "virtual_keys")
}
