package openai_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/adapters/openai"
	"github.com/realtimesecret/realtimesecret/internal/fakeupstream"
	"github.com/realtimesecret/realtimesecret/internal/faultupstream"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/memory"
)

// Each TestFault... injects one upstream failure under the whole stack and
// checks the status the README's error table names, the OpenAI-shaped error body, that no secret
// reaches the client or a log line, and that no goroutine is left behind.

// TestFaultUpstreamFails runs every failure mode of faultupstream under the
// stack: a timeout answers 504, anything else 502, with nothing of a partial
// reply; OnMint records the status and the upstream sentinel.
func TestFaultUpstreamFails(t *testing.T) {
	for _, f := range faultupstream.Faults {
		t.Run(f.Name, func(t *testing.T) {
			verifyNoLeaks(t)
			status, code := http.StatusBadGateway, "upstream_unavailable"
			if errors.Is(f.Want, contract.ErrUpstreamTimeout) {
				status, code = http.StatusGatewayTimeout, "upstream_timeout"
			}
			s := newStack(t, stackConfig{adapter: openai.Config{BaseURL: f.Start(t), Timeout: f.Timeout}})

			resp, body := s.mint(t, "/v1/realtime/client_secrets", gaBody)

			e := requireError(t, resp, body, status)
			assert.Equal(t, code, *e.Error.Code)
			assert.NotContains(t, string(body), faultupstream.PartialSecret)
			ev := s.event(t)
			assert.Equal(t, status, ev.Status)
			f.Check(t, ev.Err, stackKey, stackVK)
		})
	}
}

// TestFaultUnusableReply covers 2xx replies without a usable client secret
// (no string value/client_secret.value or no positive
// expires_at is 502) on every endpoint's reply shape.
func TestFaultUnusableReply(t *testing.T) {
	future := strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)
	for _, tc := range []struct {
		name, path, reply string
	}{
		{"invalid JSON", "/v1/realtime/client_secrets", `{"value":"ek_x","expires_at":` + future},
		{"not JSON", "/v1/realtime/client_secrets", `<html>ok</html>`},
		{"empty body", "/v1/realtime/client_secrets", ``},
		{"JSON array", "/v1/realtime/client_secrets", `[{"value":"ek_x","expires_at":` + future + `}]`},
		{"without value", "/v1/realtime/client_secrets", `{"expires_at":` + future + `,"session":{"type":"realtime"}}`},
		{"value null", "/v1/realtime/client_secrets", `{"value":null,"expires_at":` + future + `}`},
		{"value empty", "/v1/realtime/client_secrets", `{"value":"","expires_at":` + future + `}`},
		{"value a number", "/v1/realtime/client_secrets", `{"value":12345,"expires_at":` + future + `}`},
		{"value an object", "/v1/realtime/client_secrets", `{"value":{"value":"ek_x"},"expires_at":` + future + `}`},
		{"without expires_at", "/v1/realtime/client_secrets", `{"value":"ek_x"}`},
		{"expires_at zero", "/v1/realtime/client_secrets", `{"value":"ek_x","expires_at":0}`},
		{"expires_at negative", "/v1/realtime/client_secrets", `{"value":"ek_x","expires_at":-5}`},
		{"expires_at a string", "/v1/realtime/client_secrets", `{"value":"ek_x","expires_at":"` + future + `"}`},
		{"expires_at beyond int64", "/v1/realtime/client_secrets", `{"value":"ek_x","expires_at":1e30}`},
		{"beta client_secret null", "/v1/realtime/sessions", `{"id":"sess_1","client_secret":null}`},
		{"beta client_secret without value", "/v1/realtime/sessions", `{"id":"sess_1","client_secret":{"expires_at":` + future + `}}`},
		{"beta client_secret a string", "/v1/realtime/sessions", `{"id":"sess_1","client_secret":"ek_x"}`},
		{"beta transcription without expires_at", "/v1/realtime/transcription_sessions", `{"id":"sess_1","client_secret":{"value":"ek_x"}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			verifyNoLeaks(t)
			up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
				w.Header().Set("Content-Type", "application/json")
				_, _ = io.WriteString(w, tc.reply)
			})
			s := newStack(t, stackConfig{adapter: openai.Config{BaseURL: up.srv.URL}})
			body := gaBody
			switch tc.path {
			case "/v1/realtime/sessions":
				body = `{"model":"openai/gpt-realtime"}`
			case "/v1/realtime/transcription_sessions":
				body = `{"input_audio_transcription":{"model":"openai/whisper-1"}}`
			}

			resp, got := s.mint(t, tc.path, body)

			e := requireError(t, resp, got, http.StatusBadGateway)
			assert.Equal(t, "invalid_upstream_response", *e.Error.Code)
			n, _ := up.requests()
			assert.Equal(t, 1, n)
		})
	}
}

// TestFaultExpiredOnArrival: a secret whose expires_at has passed is
// answered as the upstream gave it (the middleware asks only for a positive
// expires_at) but never stored, so redeeming it is not
// attributed; sealed, it is refused with 401 and never reaches next.
func TestFaultExpiredOnArrival(t *testing.T) {
	for _, sealed := range []bool{false, true} {
		t.Run("sealed="+strconv.FormatBool(sealed), func(t *testing.T) {
			verifyNoLeaks(t)
			fake := fakeupstream.New(fakeupstream.Options{Keys: []string{stackKey}, TTL: -time.Minute})
			up := newUpstream(t, fake.ServeHTTP)
			store := memory.NewStore()
			s := newStack(t, stackConfig{
				adapter: openai.Config{BaseURL: up.srv.URL},
				tweak: func(cfg *realtimesecret.Config) {
					cfg.Store = store
					if sealed {
						cfg.SealKeys = []realtimesecret.SealKey{bytes.Repeat([]byte{9}, 32)}
					}
				},
			})

			resp, body := s.mint(t, "/v1/realtime/client_secrets", gaBody)
			require.Equal(t, http.StatusOK, resp.StatusCode, "body: %s", body)
			token, expiresAt := secretOf(t, body)
			assert.Less(t, expiresAt, time.Now().Unix())
			assert.Zero(t, store.Len(), "an expired secret was stored")

			status, a := s.redeem(t, token)
			if sealed {
				assert.Equal(t, http.StatusUnauthorized, status)
				return
			}
			assert.Equal(t, nextStatus, status)
			assert.False(t, a.Found, "an expired secret was attributed")
			_, found, err := s.handler.Lookup(context.Background(), token)
			require.NoError(t, err)
			assert.False(t, found)
		})
	}
}

// secretOf returns the client secret and expiry of a GA mint answer.
func secretOf(t *testing.T, body []byte) (string, int64) {
	t.Helper()
	var v struct {
		Value        string `json:"value"`
		ExpiresAt    int64  `json:"expires_at"`
		ClientSecret *struct {
			Value     string `json:"value"`
			ExpiresAt int64  `json:"expires_at"`
		} `json:"client_secret"`
	}
	require.NoError(t, json.Unmarshal(body, &v), "body: %s", body)
	if v.ClientSecret != nil {
		return v.ClientSecret.Value, v.ClientSecret.ExpiresAt
	}
	require.NotEmpty(t, v.Value, "body: %s", body)
	return v.Value, v.ExpiresAt
}

func TestFaultOversizedReply(t *testing.T) {
	const limit = 4096
	valid := func(n int) string { // a valid mint reply of exactly n bytes
		head := `{"value":"ek_big","expires_at":4102444800,"pad":"`
		return head + strings.Repeat("x", n-len(head)-2) + `"}`
	}
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	_, err := io.WriteString(zw, valid(limit+1))
	require.NoError(t, err)
	require.NoError(t, zw.Close())

	for _, tc := range []struct {
		name  string
		limit int64 // adapter MaxResponseBytes; 0 is the default
		write func(w http.ResponseWriter)
	}{
		{"declared length over the limit", limit, func(w http.ResponseWriter) {
			_, _ = io.WriteString(w, valid(limit+1))
		}},
		{"chunked over the limit", limit, func(w http.ResponseWriter) {
			body := valid(limit + 1)
			_, _ = io.WriteString(w, body[:100])
			w.(http.Flusher).Flush() // no Content-Length from here on
			_, _ = io.WriteString(w, body[100:])
		}},
		{"gzip that inflates over the limit", limit, func(w http.ResponseWriter) {
			w.Header().Set("Content-Encoding", "gzip")
			_, _ = w.Write(zipped.Bytes())
		}},
		{"default limit plus one", 0, func(w http.ResponseWriter) {
			_, _ = io.WriteString(w, valid(int(openai.DefaultMaxResponseBytes)+1))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			verifyNoLeaks(t)
			up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
				w.Header().Set("Content-Type", "application/json")
				tc.write(w)
			})
			s := newStack(t, stackConfig{adapter: openai.Config{BaseURL: up.srv.URL, MaxResponseBytes: tc.limit}})

			resp, body := s.mint(t, "/v1/realtime/client_secrets", gaBody)

			requireError(t, resp, body, http.StatusBadGateway)
			assert.NotContains(t, string(body), "ek_big")
			assert.ErrorIs(t, s.event(t).Err, contract.ErrUpstreamBadResponse)
		})
	}
}

// TestFaultRedirect: a 3xx is never followed, so the key only ever goes to
// the configured base URL; the client gets 502 and nothing of the 3xx.
func TestFaultRedirect(t *testing.T) {
	for _, status := range []int{
		http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect,
	} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			verifyNoLeaks(t)
			elsewhere := newUpstream(t, func(w http.ResponseWriter, _ *http.Request) {
				_, _ = io.WriteString(w, `{"value":"ek_elsewhere","expires_at":4102444800}`)
			})
			up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
				w.Header().Set("Location", elsewhere.srv.URL+r.URL.Path)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(status)
				_, _ = io.WriteString(w, `{"value":"ek_redirect","expires_at":4102444800}`)
			})
			s := newStack(t, stackConfig{adapter: openai.Config{BaseURL: up.srv.URL}})

			resp, body := s.mint(t, "/v1/realtime/client_secrets", gaBody)

			requireError(t, resp, body, http.StatusBadGateway)
			assert.Empty(t, resp.Header.Get("Location"))
			assert.NotContains(t, string(body), "ek_")
			n, auth := up.requests()
			assert.Equal(t, 1, n)
			assert.Equal(t, []string{"Bearer " + stackKey}, auth)
			n, _ = elsewhere.requests()
			assert.Zero(t, n, "the redirect was followed")
		})
	}
}

// TestFaultClientDisconnect: a client that goes away mid-mint cancels the
// upstream call (the upstream sees its request's context end) and the mint
// is recorded as 499.
func TestFaultClientDisconnect(t *testing.T) {
	verifyNoLeaks(t)
	arrived := make(chan struct{})
	upstreamGone := make(chan error, 1)
	up := newUpstream(t, func(_ http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		close(arrived)
		select {
		case <-r.Context().Done():
			upstreamGone <- r.Context().Err()
		case <-time.After(10 * time.Second):
			upstreamGone <- errors.New("the upstream call was not cancelled within 10 s")
		}
	})
	s := newStack(t, stackConfig{adapter: openai.Config{BaseURL: up.srv.URL}})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.srv.URL+"/v1/realtime/client_secrets", strings.NewReader(gaBody))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+stackVK)
	done := make(chan error, 1)
	go func() {
		resp, err := s.client.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	<-arrived
	cancel()

	require.ErrorIs(t, <-done, context.Canceled)
	require.ErrorIs(t, <-upstreamGone, context.Canceled)
	ev := s.event(t)
	assert.Equal(t, 499, ev.Status)
	assert.ErrorIs(t, ev.Err, context.Canceled)
}

// TestFaultUpstreamErrorStatus: non-2xx replies keep their status; an
// OpenAI-shaped body passes through, anything else is wrapped.
func TestFaultUpstreamErrorStatus(t *testing.T) {
	for _, tc := range []struct {
		name        string
		status      int
		reply       string
		passThrough bool
	}{
		{"OpenAI-shaped 429", http.StatusTooManyRequests, `{"error":{"message":"slow down","type":"rate_limit_error","param":null,"code":null}}`, true},
		{"OpenAI-shaped 500", http.StatusInternalServerError, `{"error":{"message":"The server had an error","type":"server_error","param":null,"code":null}}`, true},
		{"HTML 503", http.StatusServiceUnavailable, `<html><body>503 Service Unavailable</body></html>`, false},
		{"empty 502", http.StatusBadGateway, ``, false},
		{"error without message 400", http.StatusBadRequest, `{"error":{"type":"x"}}`, false},
		{"204 without a body", http.StatusNoContent, ``, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			verifyNoLeaks(t)
			up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("Set-Cookie", "upstream=1")
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.reply)
			})
			s := newStack(t, stackConfig{adapter: openai.Config{BaseURL: up.srv.URL}})

			resp, body := s.mint(t, "/v1/realtime/client_secrets", gaBody)

			assert.Empty(t, resp.Header.Get("Set-Cookie"))
			if tc.status == http.StatusNoContent { // a 2xx without a secret
				requireError(t, resp, body, http.StatusBadGateway)
				return
			}
			requireError(t, resp, body, tc.status)
			if tc.passThrough {
				assert.JSONEq(t, tc.reply, string(body))
			}
		})
	}
}
