package realtimesecret_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
)

// TestAnswerReachesCallerBeforeHooks checks that the caller has the whole
// answer, a mint's and an error's, while OnMint still runs: the log line and
// the hooks are not part of the caller's wait. OnMint waits for the client
// to have read the answer; if the answer were sent only when the handler
// returns, that would not happen until OnMint gave up.
func TestAnswerReachesCallerBeforeHooks(t *testing.T) {
	read := make(chan struct{}) // unbuffered: a send is taken only by an OnMint that waits
	var waited []bool
	cfg := baseConfig(newFakeProvider())
	cfg.OnMint = func(realtimesecret.MintEvent) {
		select {
		case <-read:
			waited = append(waited, true)
		case <-time.After(5 * time.Second):
			waited = append(waited, false)
		}
	}
	srv := httptest.NewServer(realtimesecret.Middleware(cfg)(&nextRecorder{}))
	defer srv.Close()

	for _, tc := range []struct {
		name, auth string
		status     int
	}{
		{"mint", "Bearer " + vkWeb, http.StatusOK},
		{"error", "Bearer vk-unknown", http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+"/v1/realtime/client_secrets", strings.NewReader(gaBody))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", tc.auth)
			resp, err := srv.Client().Do(req)
			require.NoError(t, err)
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			require.NoError(t, resp.Body.Close())
			select {
			case read <- struct{}{}:
			case <-time.After(5 * time.Second): // OnMint had given up
			}
			assert.Equal(t, tc.status, resp.StatusCode, "%s", body)
			assert.Positive(t, resp.ContentLength, "the answer is framed by Content-Length, not chunked by the flush")
		})
	}
	srv.Close() // waits for the handlers, and so for OnMint
	assert.Equal(t, []bool{true, true}, waited, "the caller had the answer before OnMint returned")
}

// TestErrorBodyNotHTMLEscaped: the message quotes the client's model as it
// came, '<' and '>' included.
func TestErrorBodyNotHTMLEscaped(t *testing.T) {
	cfg := baseConfig(newFakeProvider())
	cfg.VirtualKeys[0].Models = []string{"gpt-realtime"}
	h := realtimesecret.Middleware(cfg)(&nextRecorder{})
	w := do(t, h, http.MethodPost, "/v1/realtime/client_secrets",
		`{"session":{"type":"realtime","model":"openai/<b>&x"}}`, "Authorization", "Bearer "+vkWeb)
	require.Equal(t, http.StatusForbidden, w.Code)
	assert.Contains(t, w.Body.String(), `model \"<b>&x\"`)
	assert.NotContains(t, w.Body.String(), `\u003c`)
	assert.False(t, strings.HasSuffix(w.Body.String(), "\n"))
	assert.Equal(t, "nosniff", w.Header().Get("X-Content-Type-Options"))
}
