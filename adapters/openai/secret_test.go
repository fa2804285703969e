package openai_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/adapters/openai"
	"github.com/realtimesecret/realtimesecret/internal/fakeupstream"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// secretWitness collects everything a secret must never reach: every log
// line (debug level), every answer the middleware gave (not next's), and
// every OnMint and OnRedeem event as a program would print it.
type secretWitness struct {
	mu      sync.Mutex
	answers []string
	events  []string
	logs    []*logCapture
}

func (w *secretWitness) answer(status int, header http.Header, body []byte) {
	if status == nextStatus {
		return // what next answers is the app's; the stack's next echoes the token it was given
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.answers = append(w.answers, fmt.Sprintf("%d %v %s", status, header, body))
}

func (w *secretWitness) event(ev any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.events = append(w.events, fmt.Sprintf("%v %+v", ev, ev))
}

// check fails the test for each secret found, naming where.
func (w *secretWitness) check(t *testing.T, secrets []string) {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, l := range w.logs {
		assertNoSecret(t, "a log line", l.String(), secrets...)
	}
	for _, a := range w.answers {
		assertNoSecret(t, "an answer", a, secrets...)
	}
	for _, e := range w.events {
		assertNoSecret(t, "a hook event", e, secrets...)
	}
}

// secretStack is a stack whose logs, answers and events the witness sees.
func (w *secretWitness) stack(t *testing.T, base string, timeout time.Duration, tweak func(*realtimesecret.Config)) *stack {
	t.Helper()
	s := newStack(t, stackConfig{
		adapter: openai.Config{BaseURL: base, Timeout: timeout, MaxResponseBytes: 8192},
		tweak: func(cfg *realtimesecret.Config) {
			cfg.OnMint = func(ev realtimesecret.MintEvent) { w.event(ev) }
			cfg.OnRedeem = func(ev realtimesecret.RedeemEvent) { w.event(ev.Record); w.event(ev.Err) }
			if tweak != nil {
				tweak(cfg)
			}
		},
	})
	w.mu.Lock()
	w.logs = append(w.logs, s.logs)
	w.mu.Unlock()
	return s
}

// send makes a request to a stack and shows the answer to the witness.
func (w *secretWitness) send(t *testing.T, s *stack, method, path, body string, header ...string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, s.srv.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := s.client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	w.answer(resp.StatusCode, resp.Header, b)
	return resp.StatusCode, b
}

type failingStore struct{}

var errStoreDown = errors.New("store down")

func (failingStore) Put(context.Context, contract.TokenHash, realtimesecret.Record) error {
	return errStoreDown
}

func (failingStore) Get(context.Context, contract.TokenHash) (realtimesecret.Record, bool, error) {
	return realtimesecret.Record{}, false, errStoreDown
}

// TestSecretHygiene runs mints on every endpoint, sealed and not, errors of
// every status the middleware answers, redemptions (found, unknown,
// expired, forged) and upstream faults through the whole stack, and fails
// if a provider key, a virtual key or a minted secret (the upstream's or
// the sealed one) reaches a log line at debug level, an answer it does not
// belong in, or a hook event.
func TestSecretHygiene(t *testing.T) {
	verifyNoLeaks(t)
	w := &secretWitness{}
	clock := &settableClock{now: time.Now().Add(time.Hour).Truncate(time.Second)}
	fake := fakeupstream.New(fakeupstream.Options{Keys: []string{stackKey}, Now: clock.Now})
	tap := &keyTap{next: fake, keys: map[string]string{}}
	good := newUpstream(t, tap.ServeHTTP)

	const (
		offVK    = "vk-off-SECRET-aa11"
		narrowVK = "vk-narrow-SECRET-bb22"
		slowVK   = "vk-slow-SECRET-cc33"
		guessVK  = "vk-guess-SECRET-dd44"
		wrongKey = "sk-wrong-upstream-SECRET-ee55"
	)
	vks := func(cfg *realtimesecret.Config) {
		cfg.Now = clock.Now
		cfg.MaxBodyBytes = 1024
		cfg.VirtualKeys = append(cfg.VirtualKeys,
			realtimesecret.VirtualKey{ID: "off", Value: offVK, Disabled: true},
			realtimesecret.VirtualKey{ID: "narrow", Value: narrowVK, Models: []string{"gpt-x"}},
			realtimesecret.VirtualKey{ID: "slow", Value: slowVK, RateLimit: realtimesecret.Rate{Requests: 1, Per: time.Hour}},
		)
	}
	sealKey := bytes.Repeat([]byte{0x5e}, 32)
	plain := w.stack(t, good.srv.URL, 0, vks)
	sealed := w.stack(t, good.srv.URL, 0, func(cfg *realtimesecret.Config) { vks(cfg); cfg.SealKeys = []realtimesecret.SealKey{sealKey} })

	auth := func(v string) []string { return []string{"Authorization", "Bearer " + v} }
	var clientTokens []string // what clients were given: they may see these
	mintAll := func(s *stack) {
		for _, mint := range []struct{ path, body string }{
			{"/v1/realtime/client_secrets", gaBody},
			{"/v1/realtime/translations/client_secrets", `{"session":{"model":"openai/gpt-realtime-translate"}}`},
			{"/v1/realtime/sessions", `{"model":"openai/gpt-realtime"}`},
			{"/v1/realtime/transcription_sessions", `{"input_audio_transcription":{"model":"openai/whisper-1"}}`},
			{"/openai/v1/realtime/transcription_sessions", `{}`},
		} {
			status, body := w.send(t, s, http.MethodPost, mint.path, mint.body, auth(stackVK)...)
			require.Equal(t, http.StatusOK, status, "%s: %s", mint.path, body)
			token, _ := secretOf(t, body)
			clientTokens = append(clientTokens, token)
			status, _ = w.send(t, s, http.MethodGet, "/v1/realtime", "", auth(token)...)
			assert.Equal(t, nextStatus, status)
			status, _ = w.send(t, s, http.MethodGet, "/v1/realtime", "", "Sec-WebSocket-Protocol", "realtime, openai-insecure-api-key."+token)
			assert.Equal(t, nextStatus, status)
		}
	}
	mintAll(plain)
	mintAll(sealed)

	// Errors of every status the middleware answers by itself.
	for _, s := range []*stack{plain, sealed} {
		for _, tc := range []struct {
			method, path, body string
			header             []string
			status             int
		}{
			{"POST", "/v1/realtime/client_secrets", `{"session":{"model":"gpt-realtime"}}`, auth(stackVK), 400},
			{"POST", "/v1/realtime/client_secrets", gaBody, auth(guessVK), 401},
			{"POST", "/v1/realtime/client_secrets", gaBody, []string{"X-Virtual-Key", guessVK}, 401},
			{"POST", "/v1/realtime/client_secrets", gaBody, auth(offVK), 403},
			{"POST", "/v1/realtime/client_secrets", gaBody, auth(narrowVK), 403},
			{"PUT", "/v1/realtime/client_secrets", gaBody, auth(stackVK), 405},
			{"POST", "/v1/realtime/client_secrets", `{"pad":"` + strings.Repeat(stackVK, 64) + `"}`, auth(stackVK), 413},
			{"POST", "/v1/realtime/client_secrets", gaBody, auth(slowVK), 200},
			{"POST", "/v1/realtime/client_secrets", gaBody, auth(slowVK), 429},
			{"GET", "/v1/realtime", "", auth("ek_unknown-SECRET-ff66"), nextStatus},
		} {
			status, body := w.send(t, s, tc.method, tc.path, tc.body, tc.header...)
			require.Equal(t, tc.status, status, "%s %s: %s", tc.method, tc.path, body)
			if status == http.StatusOK {
				token, _ := secretOf(t, body)
				clientTokens = append(clientTokens, token)
			}
		}
	}
	status, _ := w.send(t, sealed, http.MethodGet, "/v1/realtime", "", auth("ek_rs_forged-SECRET-0000")...)
	assert.Equal(t, http.StatusUnauthorized, status)

	// Expiry: every secret minted so far expires; redeeming them is not
	// attributed (sealed: refused).
	clock.Set(clock.Now().Add(3 * time.Hour))
	for _, token := range clientTokens {
		status, _ := w.send(t, plain, http.MethodGet, "/v1/realtime", "", auth(token)...)
		assert.Equal(t, nextStatus, status)
		if strings.HasPrefix(token, "ek_rs_") {
			status, _ := w.send(t, sealed, http.MethodGet, "/v1/realtime", "", auth(token)...)
			assert.Equal(t, http.StatusUnauthorized, status)
		}
	}

	// Upstream faults: wrong key (401 passed through), a store that fails
	// (strict: 503), a slow upstream (504), unusable and oversized replies
	// (502), a redirect (502), an upstream that is gone (502).
	wrong := w.stack(t, good.srv.URL, 0, func(cfg *realtimesecret.Config) {
		cfg.Providers[0].Keys = []realtimesecret.Key{{ID: "wrong", Value: wrongKey}}
	})
	status, _ = w.send(t, wrong, http.MethodPost, "/v1/realtime/client_secrets", gaBody, auth(stackVK)...)
	assert.Equal(t, http.StatusUnauthorized, status)

	strict := w.stack(t, good.srv.URL, 0, func(cfg *realtimesecret.Config) { cfg.Store = failingStore{}; cfg.StrictStore = true })
	status, _ = w.send(t, strict, http.MethodPost, "/v1/realtime/client_secrets", gaBody, auth(stackVK)...)
	assert.Equal(t, http.StatusServiceUnavailable, status)
	lax := w.stack(t, good.srv.URL, 0, func(cfg *realtimesecret.Config) { cfg.Store = failingStore{} })
	status, body := w.send(t, lax, http.MethodPost, "/v1/realtime/client_secrets", gaBody, auth(stackVK)...)
	require.Equal(t, http.StatusOK, status)
	token, _ := secretOf(t, body)
	clientTokens = append(clientTokens, token)
	status, _ = w.send(t, lax, http.MethodGet, "/v1/realtime", "", auth(token)...)
	assert.Equal(t, nextStatus, status)

	slow := newUpstream(t, func(_ http.ResponseWriter, r *http.Request) { untilClientGone(r) })
	status, _ = w.send(t, w.stack(t, slow.srv.URL, faultTimeout, nil), http.MethodPost, "/v1/realtime/client_secrets", gaBody, auth(stackVK)...)
	assert.Equal(t, http.StatusGatewayTimeout, status)

	// These upstreams echo the key they were sent (stackKey) where a
	// careless adapter would copy it into an error, a header or an answer.
	for _, tc := range []struct {
		name   string
		status int
		write  func(w http.ResponseWriter)
	}{
		{"unusable 200", http.StatusBadGateway, func(w http.ResponseWriter) {
			_, _ = io.WriteString(w, `{"error":"Bearer `+stackKey+`"}`)
		}},
		{"oversized 200", http.StatusBadGateway, func(w http.ResponseWriter) {
			_, _ = io.WriteString(w, strings.Repeat("Bearer "+stackKey, 1000))
		}},
		{"redirect", http.StatusBadGateway, func(w http.ResponseWriter) {
			w.Header().Set("Location", "http://127.0.0.1:1/?key="+stackKey)
			w.WriteHeader(http.StatusFound)
		}},
		{"non-JSON 500", http.StatusInternalServerError, func(w http.ResponseWriter) {
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = io.WriteString(w, "upstream failed for Bearer "+stackKey)
		}},
		{"OpenAI-shaped 401 that echoes the key", http.StatusUnauthorized, func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"error":{"message":"Incorrect API key provided: `+stackKey+
				`.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`)
		}},
	} {
		up := newUpstream(t, func(rw http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			assert.Equal(t, "Bearer "+stackKey, r.Header.Get("Authorization"))
			tc.write(rw)
		})
		status, _ := w.send(t, w.stack(t, up.srv.URL, 0, nil), http.MethodPost, "/v1/realtime/client_secrets", gaBody, auth(stackVK)...)
		assert.Equal(t, tc.status, status, tc.name)
	}
	gone := newUpstream(t, func(http.ResponseWriter, *http.Request) {})
	gone.srv.Close()
	status, _ = w.send(t, w.stack(t, gone.srv.URL, 0, nil), http.MethodPost, "/v1/realtime/client_secrets", gaBody, auth(stackVK)...)
	assert.Equal(t, http.StatusBadGateway, status)

	// Provider and virtual keys may reach nothing; upstream secrets of
	// sealed mints may reach nothing (clients get only the sealed form);
	// no minted secret may reach a log line or a hook event.
	secrets := []string{stackKey, stackVK, offVK, narrowVK, slowVK, guessVK, wrongKey, "ek_rs_forged-SECRET", "ek_unknown-SECRET"}
	tap.mu.Lock()
	var upstreamTokens []string
	for token := range tap.keys {
		upstreamTokens = append(upstreamTokens, token)
	}
	tap.mu.Unlock()
	require.NotEmpty(t, upstreamTokens)
	w.check(t, secrets)
	// A hook runs after its answer has been sent, so a stack may still be
	// adding an event: read them under the witness's lock.
	w.mu.Lock()
	for _, l := range w.logs {
		assertNoSecret(t, "a log line", l.String(), append(upstreamTokens, clientTokens...)...)
	}
	for _, e := range w.events {
		assertNoSecret(t, "a hook event", e, append(upstreamTokens, clientTokens...)...)
	}
	w.mu.Unlock()
	sealedUpstream := upstreamTokens[:0:0]
	for _, token := range upstreamTokens {
		if !containsString(clientTokens, token) {
			sealedUpstream = append(sealedUpstream, token)
		}
	}
	require.NotEmpty(t, sealedUpstream, "the sealed stack minted nothing")
	for _, a := range w.answers {
		assertNoSecret(t, "an answer", a, sealedUpstream...)
	}
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestSecretUpstreamEchoRedacted: a reply body that echoes the key, as an
// OpenAI-compatible vendor's 401 may, reaches the middleware with the key
// replaced, whatever the status or encoding.
func TestSecretUpstreamEchoRedacted(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		gzip   bool
	}{
		{"401", http.StatusUnauthorized, false},
		{"200", http.StatusOK, false},
		{"401 gzip", http.StatusUnauthorized, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reply := `{"error":{"message":"Incorrect API key provided: ` + stackKey + ` (` + stackKey + `)","type":"invalid_request_error"}}`
			up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
				w.Header().Set("Content-Type", "application/json")
				if tc.gzip {
					w.Header().Set("Content-Encoding", "gzip")
					w.WriteHeader(tc.status)
					_, _ = w.Write(gzipped(t, reply))
					return
				}
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, reply)
			})
			p := newProvider(t, openai.Config{BaseURL: up.srv.URL})
			resp, err := p.Mint(context.Background(), &contract.MintRequest{
				Endpoint: contract.EndpointClientSecret,
				Key:      &realtimesecret.Key{ID: "k", Value: stackKey},
				Body:     []byte(`{}`),
			})
			require.NoError(t, err)
			assert.Equal(t, tc.status, resp.StatusCode)
			assert.NotContains(t, string(resp.Body), stackKey)
			assert.Equal(t, 2, strings.Count(string(resp.Body), "[REDACTED]"))
		})
	}
}
