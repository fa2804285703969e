package oidc_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/adapters/oidc"
	"github.com/realtimesecret/realtimesecret/internal/fakeidp"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/realtimesecrettest"
)

const audience = "realtime-api"

// clock is a fake clock tests move by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Now().Truncate(time.Second)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// env is a fake identity provider, a Verifier on it with a fake clock,
// and the middleware in front of a handler that must never be reached by
// a mint.
type env struct {
	idp      *fakeidp.IDP
	clock    *clock
	verifier *oidc.Verifier
	handler  http.Handler
	upstream atomic.Int64 // mints that reached the provider
	// principals are those the provider was asked to mint for.
	mu         sync.Mutex
	principals []realtimesecret.Principal
}

func newEnv(t *testing.T, edit func(*oidc.Config)) *env {
	t.Helper()
	e := &env{idp: fakeidp.New(), clock: newClock()}
	t.Cleanup(e.idp.Close)
	cfg := oidc.Config{Issuer: e.idp.Issuer(), Audiences: []string{audience}, Now: e.clock.Now, FetchTimeout: time.Second}
	if edit != nil {
		edit(&cfg)
	}
	v, err := oidc.New(cfg)
	require.NoError(t, err)
	e.verifier = v
	provider := realtimesecrettest.ProviderFunc(func(_ context.Context, _ *contract.MintRequest) (*contract.Reply, error) {
		e.upstream.Add(1)
		return &contract.Reply{StatusCode: http.StatusOK,
			Body: []byte(`{"value":"ek_test","expires_at":4102444800,"session":{"type":"realtime","model":"gpt-realtime"}}`)}, nil
	})
	h, err := realtimesecret.New(realtimesecret.Config{
		Providers: []realtimesecret.ProviderConfig{
			{Name: "openai", Provider: provider, Keys: []realtimesecret.Key{{ID: "primary", Value: "sk-test"}}},
			{Name: "other", Provider: provider, Keys: []realtimesecret.Key{{ID: "other", Value: "sk-other"}}},
		},
		Authorizer: func(r *http.Request, in realtimesecret.Intent) (realtimesecret.Principal, error) {
			p, err := v.Authorize(r, in)
			if err == nil {
				e.mu.Lock()
				e.principals = append(e.principals, p)
				e.mu.Unlock()
			}
			return p, err
		},
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = h.Close() })
	e.handler = h.Wrap(http.NotFoundHandler())
	return e
}

// claims are valid claims on the fake clock.
func (e *env) claims(sub string) map[string]any {
	now := e.clock.Now()
	return map[string]any{"iss": e.idp.Issuer(), "aud": audience, "sub": sub, "iat": now.Unix(),
		"nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(), "jti": "jti-" + sub}
}

// mint posts a mint with the token as a bearer; "" sends none.
func (e *env) mint(t *testing.T, token, model string) *httptest.ResponseRecorder {
	t.Helper()
	req := mintRequest(model)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return e.serve(req)
}

func (e *env) serve(req *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	e.handler.ServeHTTP(w, req)
	return w
}

func mintRequest(model string) *http.Request {
	req := httptest.NewRequest(http.MethodPost, "/v1/realtime/client_secrets",
		strings.NewReader(`{"session":{"type":"realtime","model":"`+model+`"}}`))
	req.Header.Set("Content-Type", "application/json")
	return req
}

// openAIError decodes an OpenAI-shaped error body.
func openAIError(t *testing.T, w *httptest.ResponseRecorder) (typ, code, msg string) {
	t.Helper()
	var body struct {
		Error struct {
			Message string `json:"message"`
			Type    string `json:"type"`
			Code    string `json:"code"`
		} `json:"error"`
	}
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &body), w.Body.String())
	return body.Error.Type, body.Error.Code, body.Error.Message
}
