package openai_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/realtimesecret/realtimesecret/adapters/openai"
	"github.com/realtimesecret/realtimesecret/internal/faultupstream"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
)

// The fault, soak and secret tests of this package run the whole stack a
// deployment runs: a client on loopback HTTP, the middleware, this adapter,
// and an upstream that misbehaves on purpose.

const (
	stackKey = "sk-stack-upstream-SECRET-7f3a9c"
	stackVK  = "vk-stack-caller-SECRET-41d2e8"
)

// verifyNoLeaks fails the test if it leaves goroutines behind. Call it first:
// cleanups run last-registered first, so it runs after every server and
// transport the test set up later is closed. Goroutines that were running
// before the test (other tests' idle connections winding down) are ignored.
func verifyNoLeaks(t *testing.T) {
	t.Helper()
	current := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, current) })
}

// logCapture is an io.Writer for a slog handler that keeps every line.
type logCapture struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (c *logCapture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.Write(p)
}

func (c *logCapture) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}

// debugLogger returns a JSON logger at debug level writing to a new capture.
func debugLogger() (*slog.Logger, *logCapture) {
	c := &logCapture{}
	return slog.New(slog.NewJSONHandler(c, &slog.HandlerOptions{Level: slog.LevelDebug})), c
}

// assertNoSecret fails if any of secrets occurs in text.
func assertNoSecret(t *testing.T, where, text string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(text, s) {
			t.Errorf("%s holds the secret %.12s...: %s", where, s, text)
		}
	}
}

// stack is the middleware with this adapter in front of an upstream, served
// on loopback.
type stack struct {
	srv     *httptest.Server
	handler *realtimesecret.Handler
	client  *http.Client
	logs    *logCapture
	events  chan realtimesecret.MintEvent
}

// stackConfig tunes newStack.
type stackConfig struct {
	adapter openai.Config                    // BaseURL is required
	tweak   func(cfg *realtimesecret.Config) // optional
}

// newStack builds the stack in front of the upstream at sc.adapter.BaseURL.
// Every log line is captured at debug level and checked for stackKey and
// stackVK when the test ends; OnMint events are kept in s.events. next
// answers nextStatus and writes the request's attribution record as JSON.
func newStack(t *testing.T, sc stackConfig) *stack {
	t.Helper()
	upstreamTransport := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(upstreamTransport.CloseIdleConnections)
	if sc.adapter.Client == nil {
		sc.adapter.Client = &http.Client{Transport: upstreamTransport}
	}
	p, err := openai.New(sc.adapter)
	require.NoError(t, err)

	logger, logs := debugLogger()
	s := &stack{logs: logs, events: make(chan realtimesecret.MintEvent, 1024)}
	cfg := realtimesecret.Config{
		Providers: []realtimesecret.ProviderConfig{{
			Name: "openai", Provider: p,
			Keys: []realtimesecret.Key{{ID: "primary", Value: stackKey}},
		}},
		VirtualKeys: []realtimesecret.VirtualKey{{ID: "web", Value: stackVK}},
		Logger:      logger,
		OnMint: func(ev realtimesecret.MintEvent) {
			select {
			case s.events <- ev:
			default: // a test that mints more than it reads has no use for the rest
			}
		},
	}
	if sc.tweak != nil {
		sc.tweak(&cfg)
	}
	s.handler, err = realtimesecret.New(cfg)
	require.NoError(t, err)

	s.srv = httptest.NewServer(s.handler.Wrap(http.HandlerFunc(attributionEcho)))
	t.Cleanup(s.srv.Close)
	clientTransport := http.DefaultTransport.(*http.Transport).Clone()
	clientTransport.MaxIdleConnsPerHost = 128
	t.Cleanup(clientTransport.CloseIdleConnections)
	s.client = &http.Client{Transport: clientTransport, Timeout: 30 * time.Second}
	t.Cleanup(func() { assertNoSecret(t, "a log line", logs.String(), stackKey, stackVK) })
	return s
}

// nextStatus is what the next handler of a stack answers.
const nextStatus = 299

// attribution is what attributionEcho writes.
type attribution struct {
	Found        bool   `json:"found"`
	KeyID        string `json:"key_id"`
	VirtualKeyID string `json:"virtual_key_id"`
	Provider     string `json:"provider"`
	Model        string `json:"model"`
	Endpoint     string `json:"endpoint"`
	ExpiresAt    int64  `json:"expires_at"`
	Auth         string `json:"authorization"`
}

// attributionEcho is the next handler: it writes the request's record.
func attributionEcho(w http.ResponseWriter, r *http.Request) {
	rec, ok := realtimesecret.FromContext(r.Context())
	a := attribution{Found: ok, Auth: r.Header.Get("Authorization")}
	if ok {
		a.KeyID, a.VirtualKeyID, a.Provider, a.Model = rec.KeyID, rec.VirtualKeyID, rec.Provider, rec.Model
		a.Endpoint, a.ExpiresAt = rec.Endpoint.String(), rec.ExpiresAt.Unix()
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(nextStatus)
	_ = json.NewEncoder(w).Encode(a)
}

// mint posts body to path with the stack's virtual key.
func (s *stack) mint(t *testing.T, path, body string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.srv.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+stackVK)
	resp, err := s.client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, b
}

// redeem sends a WebRTC-style call with token and returns what next saw.
func (s *stack) redeem(t *testing.T, token string) (int, attribution) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.srv.URL+"/v1/realtime/calls", strings.NewReader("v=0\r\n"))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/sdp")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := s.client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var a attribution
	if resp.StatusCode == nextStatus {
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&a))
	} else {
		_, _ = io.Copy(io.Discard, resp.Body)
	}
	return resp.StatusCode, a
}

// event returns the next OnMint event, waiting up to 10 s: OnMint runs after
// the answer is written, so it may trail the response.
func (s *stack) event(t *testing.T) realtimesecret.MintEvent {
	t.Helper()
	select {
	case ev := <-s.events:
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no OnMint event")
		return realtimesecret.MintEvent{}
	}
}

// apiErrorBody is the OpenAI error shape.
type apiErrorBody struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
	} `json:"error"`
}

// requireError checks a OpenAI-shaped error answer and returns it.
func requireError(t *testing.T, resp *http.Response, body []byte, status int) apiErrorBody {
	t.Helper()
	require.Equal(t, status, resp.StatusCode, "body: %s", body)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	var e apiErrorBody
	require.NoError(t, json.Unmarshal(body, &e), "body: %s", body)
	assert.NotEmpty(t, e.Error.Message)
	assert.NotEmpty(t, e.Error.Type)
	assertNoSecret(t, "an error body", string(body), stackKey, stackVK)
	return e
}

// upstream serves h on loopback and counts the requests it gets.
type upstream struct {
	srv   *httptest.Server
	mu    sync.Mutex
	count int
	auth  []string
}

func newUpstream(t *testing.T, h http.HandlerFunc) *upstream {
	t.Helper()
	u := &upstream{}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.count++
		u.auth = append(u.auth, r.Header.Get("Authorization"))
		u.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(u.srv.Close)
	return u
}

func (u *upstream) requests() (int, []string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.count, append([]string(nil), u.auth...)
}

// untilClientGone reads the request body, then blocks until the client
// has gone, for a hanging upstream that also counts its requests.
func untilClientGone(r *http.Request) { faultupstream.WaitForClient(r) }

// faultTimeout is the adapter timeout of a stack in front of a hanging
// upstream.
const faultTimeout = 150 * time.Millisecond

const gaBody = `{"session":{"type":"realtime","model":"openai/gpt-realtime"}}`
