package realtimesecret_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
)

// Mint, session, hang-up and refusal lines carry the principal, its kind,
// its policy and the credential's ID; never the credential.
func TestAuditTrail(t *testing.T) {
	up := newBrokerProvider()
	cfg := baseConfig(up)
	const jwtLike = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl"
	cfg.Authorizer = func(r *http.Request, in realtimesecret.Intent) (realtimesecret.Principal, error) {
		p := realtimesecret.Principal{ID: "alice", Kind: "user", Policy: "free", TokenID: "jti-42"}
		if strings.Contains(in.Model, "forbidden") {
			return p, realtimesecret.ErrForbidden
		}
		return p, nil
	}
	var logs bytes.Buffer
	cfg.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	var mints []realtimesecret.MintEvent
	var sessions []realtimesecret.SessionEvent
	cfg.OnMint = func(ev realtimesecret.MintEvent) { mints = append(mints, ev) }
	cfg.OnSession = func(ev realtimesecret.SessionEvent) { sessions = append(sessions, ev) }
	h := realtimesecret.Middleware(cfg)(&nextRecorder{})
	auth := []string{"Authorization", "Bearer " + jwtLike}

	require.Equal(t, http.StatusOK, do(t, h, http.MethodPost, "/v1/realtime/client_secrets", gaBody, auth...).Code)
	require.Equal(t, http.StatusForbidden, do(t, h, http.MethodPost, "/v1/realtime/client_secrets",
		`{"session":{"type":"realtime","model":"openai/forbidden"}}`, auth...).Code)
	w := call(t, h, "/v1/realtime/calls", `{"type":"realtime","model":"openai/gpt-realtime"}`, auth...)
	require.Equal(t, http.StatusCreated, w.Code, w.Body.String())
	require.Equal(t, http.StatusOK, do(t, h, http.MethodPost, w.Header().Get("Location")+"/hangup", "", auth...).Code)
	require.Equal(t, http.StatusOK, do(t, h, http.MethodPost, "/v1/realtime/client_secrets", gaBody, "Authorization", "Bearer "+vkWeb).Code)

	require.Len(t, mints, 3)
	for _, ev := range mints[:2] {
		assert.Equal(t, []string{"alice", "user", "free", "jti-42"}, []string{ev.VirtualKeyID, ev.PrincipalKind, ev.Policy, ev.TokenID})
	}
	assert.Equal(t, []string{"web", "virtual_key", "", ""}, []string{mints[2].VirtualKeyID, mints[2].PrincipalKind, mints[2].Policy, mints[2].TokenID})
	require.Len(t, sessions, 2)
	for _, ev := range sessions {
		assert.Equal(t, []string{"alice", "user", "free", "jti-42"}, []string{ev.VirtualKeyID, ev.PrincipalKind, ev.Policy, ev.TokenID})
	}

	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	seen := 0
	for _, l := range lines {
		assert.NotContains(t, l, jwtLike)
		assert.NotContains(t, l, vkWeb)
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &m))
		if m["msg"] != "realtime mint" && m["msg"] != "realtime session" || m["virtual_key_id"] != "alice" {
			continue
		}
		seen++
		assert.Equal(t, "user", m["principal_kind"])
		assert.Equal(t, "free", m["policy"])
		assert.Equal(t, "jti-42", m["token_id"])
	}
	assert.Equal(t, 4, seen, "a mint, a refusal, a creation and a hang-up")
}
