package realtimesecret_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
)

// A caller authenticated by a cookie may not mint, create a session or
// hang one up from another site; one with a header credential may.
func TestCrossSiteCookieRequestsRefused(t *testing.T) {
	up := newBrokerProvider()
	cfg := baseConfig(up)
	cfg.VirtualKeys = nil
	cfg.Authorizer = func(r *http.Request, _ realtimesecret.Intent) (realtimesecret.Principal, error) {
		if _, err := r.Cookie("session"); err == nil {
			return realtimesecret.Principal{ID: "alice", Kind: "user", Cookie: true}, nil
		}
		if r.Header.Get("Authorization") == "Bearer app-token" {
			return realtimesecret.Principal{ID: "alice", Kind: "user"}, nil
		}
		return realtimesecret.Principal{}, realtimesecret.ErrUnauthenticated
	}
	cop := http.NewCrossOriginProtection()
	require.NoError(t, cop.AddTrustedOrigin("https://app.example.com"))
	cfg.CrossOriginProtection = cop
	h := realtimesecret.Middleware(cfg)(&nextRecorder{})
	cookie := []string{"Cookie", "session=s1"}

	cases := []struct {
		name   string
		header []string
		status int
	}{
		{name: "same origin", header: append([]string{"Sec-Fetch-Site", "same-origin", "Origin", "https://api.example.com"}, cookie...), status: http.StatusOK},
		{name: "not a browser", header: cookie, status: http.StatusOK},
		{name: "user typed it", header: append([]string{"Sec-Fetch-Site", "none"}, cookie...), status: http.StatusOK},
		{name: "cross site", header: append([]string{"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"}, cookie...), status: http.StatusForbidden},
		{name: "same site, other origin", header: append([]string{"Sec-Fetch-Site", "same-site", "Origin", "https://blog.example.com"}, cookie...), status: http.StatusForbidden},
		{name: "old browser, other origin", header: append([]string{"Origin", "https://evil.example"}, cookie...), status: http.StatusForbidden},
		{name: "trusted origin", header: append([]string{"Sec-Fetch-Site", "same-site", "Origin", "https://app.example.com"}, cookie...), status: http.StatusOK},
		{name: "a header credential, cross site", header: []string{"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example", "Authorization", "Bearer app-token"}, status: http.StatusOK},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := up.count()
			w := do(t, h, http.MethodPost, "/v1/realtime/client_secrets", gaBody, tc.header...)
			require.Equal(t, tc.status, w.Code, w.Body.String())
			if tc.status == http.StatusForbidden {
				e := requireAPIError(t, w, http.StatusForbidden)
				assert.Equal(t, "cross_site_request", *e.Error.Code)
				assert.Equal(t, before, up.count(), "nothing upstream")
				w = call(t, h, "/v1/realtime/calls", `{"type":"realtime","model":"openai/gpt-realtime"}`, tc.header...)
				assert.Equal(t, "cross_site_request", *requireAPIError(t, w, http.StatusForbidden).Error.Code, "a session")
				w = do(t, h, http.MethodPost, "/v1/realtime/calls/rtc_1/hangup", "", tc.header...)
				assert.Equal(t, "cross_site_request", *requireAPIError(t, w, http.StatusForbidden).Error.Code, "a hang-up")
			}
		})
	}
}

// Without a CrossOriginProtection, the default one refuses cross-site
// cookie requests all the same.
func TestCrossSiteRefusedByDefault(t *testing.T) {
	up := newBrokerProvider()
	cfg := baseConfig(up)
	cfg.VirtualKeys = nil
	cfg.Authorizer = func(*http.Request, realtimesecret.Intent) (realtimesecret.Principal, error) {
		return realtimesecret.Principal{ID: "alice", Kind: "user", Cookie: true}, nil
	}
	h := realtimesecret.Middleware(cfg)(&nextRecorder{})
	w := do(t, h, http.MethodPost, "/v1/realtime/client_secrets", gaBody, "Sec-Fetch-Site", "cross-site")
	assert.Equal(t, "cross_site_request", *requireAPIError(t, w, http.StatusForbidden).Error.Code)
}

// The refusal of a cross-site cookie request names the caller as the
// Authorizer did, policy and token ID included, for the audit.
func TestCrossSiteRefusalKeepsTheAudit(t *testing.T) {
	up := newBrokerProvider()
	cfg := baseConfig(up)
	cfg.VirtualKeys = nil
	cfg.Authorizer = func(*http.Request, realtimesecret.Intent) (realtimesecret.Principal, error) {
		return realtimesecret.Principal{ID: "alice", Kind: "user", Policy: "free", TokenID: "jti-1", Cookie: true, MaxSessions: 1}, nil
	}
	var mints []realtimesecret.MintEvent
	var sessions []realtimesecret.SessionEvent
	cfg.OnMint = func(ev realtimesecret.MintEvent) { mints = append(mints, ev) }
	cfg.OnSession = func(ev realtimesecret.SessionEvent) { sessions = append(sessions, ev) }
	h := realtimesecret.Middleware(cfg)(&nextRecorder{})
	do(t, h, http.MethodPost, "/v1/realtime/client_secrets", gaBody, "Sec-Fetch-Site", "cross-site")
	call(t, h, "/v1/realtime/calls", `{"type":"realtime","model":"openai/gpt-realtime"}`, "Sec-Fetch-Site", "cross-site")
	require.Len(t, mints, 1)
	require.Len(t, sessions, 1)
	assert.Equal(t, []string{"alice", "user", "free", "jti-1"}, []string{mints[0].VirtualKeyID, mints[0].PrincipalKind, mints[0].Policy, mints[0].TokenID})
	assert.Equal(t, []string{"alice", "user", "free", "jti-1"},
		[]string{sessions[0].VirtualKeyID, sessions[0].PrincipalKind, sessions[0].Policy, sessions[0].TokenID})
}
