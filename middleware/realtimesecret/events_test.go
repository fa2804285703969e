package realtimesecret_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
)

// mintLog captures the JSON log lines and MintEvents of a Handler.
type mintLog struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	events []realtimesecret.MintEvent
}

func (l *mintLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *mintLog) configure(cfg *realtimesecret.Config) {
	cfg.Logger = slog.New(slog.NewJSONHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg.OnMint = func(ev realtimesecret.MintEvent) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.events = append(l.events, ev)
	}
}

// lines returns the "realtime mint" log lines.
func (l *mintLog) lines(t *testing.T) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(l.buf.Bytes()))
	for sc.Scan() {
		var m map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &m), sc.Text())
		if m["msg"] == "realtime mint" {
			out = append(out, m)
		}
	}
	return out
}

// TestMintLogLine checks the one log line (and OnMint event) every answer
// on a mint route produces: the caller's virtual key id whenever the key was
// identified, durations in milliseconds, and 405s too.
func TestMintLogLine(t *testing.T) {
	tests := []struct {
		name   string
		models []string
		method string
		body   string
		auth   string
		status int
		vkID   string
		code   string
	}{
		{name: "minted", method: http.MethodPost, body: gaBody, auth: vkWeb, status: http.StatusOK, vkID: "web"},
		{name: "model not allowed names the key", models: []string{"gpt-realtime-mini"}, method: http.MethodPost,
			body: gaBody, auth: vkWeb, status: http.StatusForbidden, vkID: "web", code: "model_not_allowed"},
		{name: "unknown key has no id", method: http.MethodPost, body: gaBody, auth: "vk-unknown", status: http.StatusUnauthorized,
			code: "invalid_api_key"},
		{name: "GET is 405 and logged", method: http.MethodGet, auth: vkWeb, status: http.StatusMethodNotAllowed, code: "method_not_allowed"},
		{name: "DELETE is 405 and logged", method: http.MethodDelete, status: http.StatusMethodNotAllowed, code: "method_not_allowed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var l mintLog
			cfg := baseConfig(newFakeProvider())
			cfg.VirtualKeys[0].Models = tc.models
			l.configure(&cfg)
			h := realtimesecret.Middleware(cfg)(&nextRecorder{})
			var header []string
			if tc.auth != "" {
				header = []string{"Authorization", "Bearer " + tc.auth}
			}
			w := do(t, h, tc.method, "/v1/realtime/client_secrets", tc.body, header...)
			require.Equal(t, tc.status, w.Code, w.Body.String())

			lines := l.lines(t)
			require.Len(t, lines, 1)
			line := lines[0]
			assert.InDelta(t, float64(tc.status), line["status"], 0)
			assert.Equal(t, tc.vkID, line["virtual_key_id"])
			assert.Equal(t, "client_secrets", line["endpoint"])
			for _, key := range []string{"duration_ms", "upstream_duration_ms"} {
				require.Contains(t, line, key)
				ms, ok := line[key].(float64)
				require.True(t, ok, "%s is a number", key)
				assert.Less(t, ms, 60_000.0, "%s is in milliseconds, not nanoseconds", key)
			}
			assert.NotContains(t, line, "duration")
			assert.NotContains(t, line, "upstream_duration")
			assert.NotContains(t, l.buf.String(), vkWeb)

			require.Len(t, l.events, 1)
			assert.Equal(t, tc.status, l.events[0].Status)
			assert.Equal(t, tc.vkID, l.events[0].VirtualKeyID)
			assert.Equal(t, tc.code, l.events[0].Code)
			if tc.code == "" {
				assert.NotContains(t, line, "code")
			} else {
				assert.Equal(t, tc.code, line["code"])
			}
		})
	}
}

// TestAuthorizerRefusalKeepsID: an Authorizer that identified the caller
// and refused it gets the caller's ID in the log line.
func TestAuthorizerRefusalKeepsID(t *testing.T) {
	var l mintLog
	cfg := baseConfig(newFakeProvider())
	cfg.VirtualKeys = nil
	cfg.Authorizer = func(*http.Request, realtimesecret.Intent) (realtimesecret.Principal, error) {
		return realtimesecret.Principal{ID: "user-7"}, realtimesecret.ErrForbidden
	}
	l.configure(&cfg)
	w := do(t, realtimesecret.Middleware(cfg)(&nextRecorder{}), http.MethodPost, "/v1/realtime/client_secrets", gaBody)
	require.Equal(t, http.StatusForbidden, w.Code)
	lines := l.lines(t)
	require.Len(t, lines, 1)
	assert.Equal(t, "user-7", lines[0]["virtual_key_id"])
}
