package realtimesecret_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

const gaBody = `{"session":{"type":"realtime","model":"openai/gpt-realtime"}}`

func TestMintRoutes(t *testing.T) {
	bodies := map[realtimesecret.Endpoint]string{
		contract.EndpointClientSecret:         `{"session":{"type":"realtime","model":"%sgpt-realtime"}}`,
		contract.EndpointTranslation:          `{"session":{"model":"%sgpt-realtime-translate"}}`,
		contract.EndpointSession:              `{"model":"%sgpt-realtime"}`,
		contract.EndpointTranscriptionSession: `{"input_audio_transcription":{"model":"%sgpt-4o-transcribe"}}`,
	}
	for _, prefix := range []string{"", "/api"} {
		for _, scoped := range []bool{false, true} {
			for _, ep := range contract.Endpoints() {
				path, model := prefix+ep.Path(), "openai/"
				if scoped {
					path, model = prefix+"/openai"+ep.Path(), ""
				}
				t.Run(path, func(t *testing.T) {
					p := newFakeProvider()
					cfg := baseConfig(p)
					cfg.PathPrefix = prefix
					h := realtimesecret.Middleware(cfg)(&nextRecorder{})
					w := do(t, h, http.MethodPost, path+"?ignored=1", fmt.Sprintf(bodies[ep], model), "Authorization", "Bearer "+vkWeb)
					assert.True(t, strings.HasPrefix(mintedValue(t, w), "ek_"))
					assert.Equal(t, ep, p.last(t).Endpoint)
					assert.NotContains(t, string(p.last(t).Body), "openai/", "the provider prefix is stripped")
				})
			}
		}
	}
}

func TestMintMethodNotAllowed(t *testing.T) {
	next := &nextRecorder{}
	h := realtimesecret.Middleware(baseConfig(newFakeProvider()))(next)
	for _, method := range []string{http.MethodGet, http.MethodPut, http.MethodDelete, http.MethodPatch} {
		w := do(t, h, method, "/v1/realtime/client_secrets", "")
		requireAPIError(t, w, http.StatusMethodNotAllowed)
		assert.Equal(t, "POST", w.Header().Get("Allow"))
	}
	assert.Empty(t, next.reqs)
}

func TestMintOptionsPassesThrough(t *testing.T) {
	next := &nextRecorder{}
	h := realtimesecret.Middleware(baseConfig(newFakeProvider()))(next)
	w := do(t, h, http.MethodOptions, "/openai/v1/realtime/sessions", "")
	assert.Equal(t, nextStatus, w.Code)
}

// TestMintStatus has a case per failure status a mint can answer.
func TestMintStatus(t *testing.T) {
	auth := []string{"Authorization", "Bearer " + vkWeb}
	type tc struct {
		name    string
		cfg     func(*realtimesecret.Config, *fakeProvider)
		path    string
		body    string
		header  []string
		status  int
		errType string
		param   string
	}
	cases := []tc{
		{name: "400 content type text/plain", header: append([]string{"Content-Type", "text/plain"}, auth...), status: 400, errType: "invalid_request_error"},
		{name: "400 content type missing", header: append([]string{"Content-Type", ""}, auth...), status: 400, errType: "invalid_request_error"},
		{name: "400 content encoding gzip", header: append([]string{"Content-Encoding", "gzip"}, auth...), status: 400, errType: "invalid_request_error"},
		{name: "400 invalid json", body: `{"session":`, status: 400, errType: "invalid_request_error"},
		{name: "400 trailing data", body: gaBody + `{}`, status: 400, errType: "invalid_request_error"},
		{name: "400 not an object", body: `["openai/gpt-realtime"]`, status: 400, errType: "invalid_request_error"},
		{name: "400 invalid utf-8", body: "{\"session\":{\"model\":\"openai/gpt\xff\"}}", status: 400, errType: "invalid_request_error"},
		{name: "400 duplicate model", body: `{"session":{"model":"openai/gpt-realtime","model":"openai/other"}}`, status: 400, errType: "invalid_request_error", param: "session"},
		{name: "400 duplicate escaped model", body: `{"session":{"model":"openai/gpt-realtime","mod\u0065l":"openai/other"}}`, status: 400, errType: "invalid_request_error", param: "session"},
		{name: "400 duplicate session", body: `{"session":{"model":"openai/a"},"session":{"model":"openai/b"}}`, status: 400, errType: "invalid_request_error"},
		{name: "400 session not an object", body: `{"session":"openai/gpt-realtime"}`, status: 400, errType: "invalid_request_error", param: "session"},
		{name: "400 model not a string", body: `{"session":{"model":42}}`, status: 400, errType: "invalid_request_error", param: "session.model"},
		{name: "400 model missing", body: `{"session":{"type":"realtime"}}`, status: 400, errType: "invalid_request_error", param: "session.model"},
		{name: "400 translation model missing", path: "/v1/realtime/translations/client_secrets", body: `{"session":{}}`, status: 400, param: "session.model", errType: "invalid_request_error"},
		{name: "400 beta transcription model missing on /v1", path: "/v1/realtime/transcription_sessions", body: `{}`, status: 400, param: "input_audio_transcription.model", errType: "invalid_request_error"},
		{name: "400 GA transcription model not a string", body: `{"session":{"type":"transcription","audio":{"input":{"transcription":{"model":null}}}}}`, status: 400, param: "session.audio.input.transcription.model", errType: "invalid_request_error"},
		{name: "400 no provider on /v1", body: `{"session":{"model":"gpt-realtime"}}`, status: 400, errType: "invalid_request_error", param: "session.model"},
		{name: "400 provider not configured", body: `{"session":{"model":"azure/gpt-realtime"}}`, status: 400, errType: "invalid_request_error", param: "session.model"},
		{name: "400 no key serves model", body: `{"session":{"model":"openai/gpt-blocked"}}`, status: 400, errType: "invalid_request_error", param: "session.model",
			cfg: func(c *realtimesecret.Config, _ *fakeProvider) {
				c.Providers[0].Keys[0].BlockedModels = []string{"GPT-BLOCKED"}
			}},
		{name: "400 ttl not a number", body: `{"expires_after":{"seconds":"7200"},"session":{"model":"openai/gpt-realtime"}}`, status: 400, errType: "invalid_request_error", param: "expires_after.seconds"},
		{name: "401 missing virtual key", header: []string{}, status: 401, errType: "authentication_error"},
		{name: "401 unknown virtual key", header: []string{"Authorization", "Bearer vk-nope"}, status: 401, errType: "authentication_error"},
		{name: "401 upstream key is not a virtual key", header: []string{"Authorization", "Bearer " + upstreamKey}, status: 401, errType: "authentication_error"},
		{name: "403 virtual key disabled", status: 403, errType: "permission_error",
			cfg: func(c *realtimesecret.Config, _ *fakeProvider) { c.VirtualKeys[0].Disabled = true }},
		{name: "403 provider not allowed", status: 403, errType: "permission_error",
			cfg: func(c *realtimesecret.Config, p *fakeProvider) {
				c.Providers = append(c.Providers, realtimesecret.ProviderConfig{Name: "other", Provider: p, Keys: []realtimesecret.Key{{ID: "k", Value: "v"}}})
				c.VirtualKeys[0].Providers = []string{"other"}
			}},
		{name: "403 model not allowed", status: 403, errType: "permission_error",
			cfg: func(c *realtimesecret.Config, _ *fakeProvider) {
				c.VirtualKeys[0].Models = []string{"gpt-realtime-mini"}
			}},
		{name: "413 body over the limit", body: `{"session":{"model":"openai/gpt-realtime","instructions":"` + strings.Repeat("x", 200) + `"}}`, status: 413, errType: "invalid_request_error",
			cfg: func(c *realtimesecret.Config, _ *fakeProvider) { c.MaxBodyBytes = 100 }},
		{name: "502 upstream unreachable", status: 502, errType: "upstream_error",
			cfg: func(_ *realtimesecret.Config, p *fakeProvider) {
				p.reply = func(*contract.MintRequest) (*contract.Reply, error) {
					return nil, fmt.Errorf("dial: %w", contract.ErrUpstreamUnavailable)
				}
			}},
		{name: "502 upstream reply without value", status: 502, errType: "upstream_error",
			cfg: func(_ *realtimesecret.Config, p *fakeProvider) {
				p.reply = func(*contract.MintRequest) (*contract.Reply, error) {
					return &contract.Reply{StatusCode: 200, Body: []byte(`{"expires_at":1999999999}`)}, nil
				}
			}},
		{name: "502 upstream reply without expires_at", status: 502, errType: "upstream_error",
			cfg: func(_ *realtimesecret.Config, p *fakeProvider) {
				p.reply = func(*contract.MintRequest) (*contract.Reply, error) {
					return &contract.Reply{StatusCode: 200, Body: []byte(`{"value":"ek_x"}`)}, nil
				}
			}},
		{name: "502 upstream non-JSON error wrapped", status: 502, errType: "upstream_error",
			cfg: func(_ *realtimesecret.Config, p *fakeProvider) {
				p.reply = func(*contract.MintRequest) (*contract.Reply, error) {
					return &contract.Reply{StatusCode: 502, Body: []byte(`<html>bad gateway</html>`)}, nil
				}
			}},
		{name: "503 strict store failing", status: 503, errType: "server_error",
			cfg: func(c *realtimesecret.Config, _ *fakeProvider) {
				c.StrictStore = true
				c.Store = failingStore{}
			}},
		{name: "504 upstream timeout", status: 504, errType: "upstream_error",
			cfg: func(_ *realtimesecret.Config, p *fakeProvider) {
				p.reply = func(*contract.MintRequest) (*contract.Reply, error) {
					return nil, fmt.Errorf("post: %w", contract.ErrUpstreamTimeout)
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := newFakeProvider()
			cfg := baseConfig(p)
			if c.cfg != nil {
				c.cfg(&cfg, p)
			}
			next := &nextRecorder{}
			h := realtimesecret.Middleware(cfg)(next)
			path, body, header := c.path, c.body, c.header
			if path == "" {
				path = "/v1/realtime/client_secrets"
			}
			if body == "" {
				body = gaBody
			}
			if header == nil {
				header = auth
			}
			w := do(t, h, http.MethodPost, path, body, header...)
			e := requireAPIError(t, w, c.status)
			assert.Equal(t, c.errType, e.Error.Type)
			if c.param != "" {
				require.NotNil(t, e.Error.Param)
				assert.Equal(t, c.param, *e.Error.Param)
			}
			assert.Empty(t, next.reqs, "a mint route never reaches next")
			if c.status < 500 && c.status != 400 || strings.Contains(c.name, "content") || strings.Contains(c.name, "json") {
				assert.Zero(t, p.count(), "the upstream must not be called")
			}
			assert.NotContains(t, w.Body.String(), upstreamKey)
			assert.NotContains(t, w.Body.String(), vkWeb)
		})
	}
}

func TestMintRateLimit(t *testing.T) {
	clock := &fakeClock{t: time.Now()}
	p := newFakeProvider()
	p.now = clock.Now
	cfg := baseConfig(p)
	cfg.Now = clock.Now
	cfg.VirtualKeys[0].RateLimit = realtimesecret.Rate{Requests: 2, Per: time.Minute}
	h := realtimesecret.Middleware(cfg)(&nextRecorder{})
	mintOnce := func() *httptestRecorder {
		return do(t, h, http.MethodPost, "/v1/realtime/client_secrets", gaBody, "X-Virtual-Key", vkWeb)
	}
	mintedValue(t, mintOnce())
	mintedValue(t, mintOnce())
	w := mintOnce()
	e := requireAPIError(t, w, http.StatusTooManyRequests)
	assert.Equal(t, "rate_limit_error", e.Error.Type)
	assert.Equal(t, "30", w.Header().Get("Retry-After"), "one request per 30s after the burst")
	assert.Equal(t, 2, p.count())

	clock.Add(30 * time.Second)
	mintedValue(t, mintOnce())
	requireAPIError(t, mintOnce(), http.StatusTooManyRequests)
}

func TestMintUpstreamErrorPassesThrough(t *testing.T) {
	p := newFakeProvider()
	body := `{"error":{"message":"Invalid value: 'gpt-nope'.","type":"invalid_request_error","param":"session.model","code":"invalid_value"}}`
	p.reply = func(*contract.MintRequest) (*contract.Reply, error) {
		return &contract.Reply{StatusCode: 400, Body: []byte(body),
			Header: http.Header{"Set-Cookie": {"a=b"}, "X-Request-Id": {"req_9"}}}, nil
	}
	h := realtimesecret.Middleware(baseConfig(p))(&nextRecorder{})
	w := do(t, h, http.MethodPost, "/v1/realtime/client_secrets", gaBody, "Authorization", "Bearer "+vkWeb)
	requireAPIError(t, w, 400)
	assert.JSONEq(t, body, w.Body.String())
	assert.Equal(t, "req_9", w.Header().Get("X-Request-Id"))
	assert.Empty(t, w.Header().Get("Set-Cookie"))
}

func TestMintResponseHeaders(t *testing.T) {
	h := realtimesecret.Middleware(baseConfig(newFakeProvider()))(&nextRecorder{})
	w := do(t, h, http.MethodPost, "/v1/realtime/client_secrets", gaBody, "Authorization", "Bearer "+vkWeb)
	mintedValue(t, w)
	assert.Equal(t, "application/json", w.Header().Get("Content-Type"))
	assert.Equal(t, "req_123", w.Header().Get("X-Request-Id"))
	assert.Equal(t, "12", w.Header().Get("Openai-Processing-Ms"))
	assert.Empty(t, w.Header().Get("Set-Cookie"))
	assert.Empty(t, w.Header().Get("Connection"))
}

// TestMintUpstreamSeesOnlyTheSelectedKey proves the caller's credentials
// never leave the process and the upstream gets the selected key.
func TestMintUpstreamSeesOnlyTheSelectedKey(t *testing.T) {
	p := newFakeProvider()
	cfg := baseConfig(p)
	cfg.Providers[0].Keys = []realtimesecret.Key{
		{ID: "a", Value: "sk-a", Models: []string{"gpt-realtime-mini"}},
		{ID: "b", Value: "sk-b", Models: []string{"gpt-realtime"}},
	}
	h := realtimesecret.Middleware(cfg)(&nextRecorder{})
	for _, header := range [][]string{
		{"Authorization", "Bearer " + vkWeb, "Cookie", "sid=1", "X-Request-Id", "rid-1", "OpenAI-Safety-Identifier", "user-7", "X-Other", "x"},
		{"X-Virtual-Key", vkWeb, "Cookie", "sid=1", "X-Request-Id", "rid-1", "OpenAI-Safety-Identifier", "user-7", "X-Other", "x"},
	} {
		w := do(t, h, http.MethodPost, "/v1/realtime/client_secrets", gaBody, header...)
		mintedValue(t, w)
		got := p.last(t)
		assert.Equal(t, "b", got.Key.ID)
		assert.Equal(t, realtimesecret.Secret("sk-b"), got.Key.Value)
		assert.Equal(t, "rid-1", got.Header.Get("X-Request-Id"))
		assert.Equal(t, "user-7", got.Header.Get("OpenAI-Safety-Identifier"))
		for name := range got.Header {
			assert.Contains(t, []string{"X-Request-Id", "Openai-Safety-Identifier"}, name, "only allowlisted headers go upstream")
		}
		assert.NotContains(t, string(got.Body), vkWeb)
	}
}

func TestMintAuthorizer(t *testing.T) {
	p := newFakeProvider()
	cfg := baseConfig(p)
	cfg.VirtualKeys = nil
	var seen realtimesecret.Intent
	cfg.Authorizer = func(r *http.Request, in realtimesecret.Intent) (realtimesecret.Principal, error) {
		seen = in
		switch r.Header.Get("X-User") {
		case "":
			return realtimesecret.Principal{}, realtimesecret.ErrUnauthenticated
		case "mallory":
			return realtimesecret.Principal{}, fmt.Errorf("user mallory: %w", realtimesecret.ErrForbidden)
		case "broken":
			return realtimesecret.Principal{}, errors.New("db password=hunter2 refused")
		}
		return realtimesecret.Principal{ID: "user-" + r.Header.Get("X-User"), MaxTTL: time.Minute}, nil
	}
	var minted []realtimesecret.MintEvent
	cfg.OnMint = func(ev realtimesecret.MintEvent) { minted = append(minted, ev) }
	h := realtimesecret.Middleware(cfg)(&nextRecorder{})

	requireAPIError(t, do(t, h, http.MethodPost, "/v1/realtime/client_secrets", gaBody), 401)
	requireAPIError(t, do(t, h, http.MethodPost, "/v1/realtime/client_secrets", gaBody, "X-User", "mallory"), 403)
	w := do(t, h, http.MethodPost, "/v1/realtime/client_secrets", gaBody, "X-User", "broken")
	requireAPIError(t, w, 500)
	assert.NotContains(t, w.Body.String(), "hunter2")

	mintedValue(t, do(t, h, http.MethodPost, "/v1/realtime/client_secrets", gaBody, "X-User", "alice"))
	assert.Equal(t, realtimesecret.Intent{Provider: "openai", Model: "gpt-realtime", Endpoint: contract.EndpointClientSecret}, seen)
	assert.JSONEq(t, `{"expires_after":{"anchor":"created_at","seconds":60},"session":{"type":"realtime","model":"gpt-realtime"}}`, string(p.last(t).Body))
	require.Len(t, minted, 4)
	assert.Equal(t, "user-alice", minted[3].VirtualKeyID)
	assert.Equal(t, 200, minted[3].Status)
	codes := make([]string, len(minted))
	for i, ev := range minted {
		codes[i] = ev.Code
	}
	assert.Equal(t, []string{"unauthenticated", "forbidden", "authorizer_error", ""}, codes, "the code answered, none on a success")
}

func TestMintOpenWithoutCredentials(t *testing.T) {
	cfg := baseConfig(newFakeProvider())
	cfg.VirtualKeys = nil
	h := realtimesecret.Middleware(cfg)(&nextRecorder{})
	mintedValue(t, do(t, h, http.MethodPost, "/v1/realtime/client_secrets", gaBody))
}

func TestMintKeyChoice(t *testing.T) {
	p := newFakeProvider()
	cfg := baseConfig(p)
	cfg.Providers[0].Keys = []realtimesecret.Key{
		{ID: "disabled", Value: "sk-d", Disabled: true, Weight: 100},
		{ID: "blocked", Value: "sk-x", BlockedModels: []string{"gpt-realtime"}, Weight: 100},
		{ID: "heavy", Value: "sk-h", Weight: 3, Models: []string{"*"}},
		{ID: "light", Value: "sk-l", Weight: 1, Models: []string{"GPT-Realtime"}},
	}
	h := realtimesecret.Middleware(cfg)(&nextRecorder{})
	counts := map[string]int{}
	const n = 400
	for range n {
		mintedValue(t, do(t, h, http.MethodPost, "/v1/realtime/client_secrets", gaBody, "Authorization", "Bearer "+vkWeb))
		counts[p.last(t).Key.ID]++
	}
	assert.Zero(t, counts["disabled"])
	assert.Zero(t, counts["blocked"])
	// 3:1 expects 300:100; the bounds are far (>8 sigma) from flaking.
	assert.InDelta(t, 300, counts["heavy"], 80)
	assert.InDelta(t, 100, counts["light"], 80)
}

func TestMintAliases(t *testing.T) {
	p := newFakeProvider()
	cfg := baseConfig(p)
	cfg.Providers[0].Keys[0].Aliases = map[string]string{"realtime": "gpt-realtime-2025-08-28", "Mini": "gpt-realtime-mini"}
	cfg.VirtualKeys[0].Models = []string{"realtime", "mini"}
	h := realtimesecret.Middleware(cfg)(&nextRecorder{})
	for model, want := range map[string]string{"realtime": "gpt-realtime-2025-08-28", "MINI": "gpt-realtime-mini"} {
		body := `{"session":{"type":"realtime","model":"openai/` + model + `"}}`
		mintedValue(t, do(t, h, http.MethodPost, "/v1/realtime/client_secrets", body, "Authorization", "Bearer "+vkWeb))
		assert.JSONEq(t, `{"session":{"type":"realtime","model":"`+want+`"}}`, string(p.last(t).Body))
	}
}

func TestMintStoreFailureIsBestEffort(t *testing.T) {
	cfg := baseConfig(newFakeProvider())
	cfg.Store = failingStore{}
	var ev realtimesecret.MintEvent
	cfg.OnMint = func(e realtimesecret.MintEvent) { ev = e }
	h := realtimesecret.Middleware(cfg)(&nextRecorder{})
	mintedValue(t, do(t, h, http.MethodPost, "/v1/realtime/client_secrets", gaBody, "Authorization", "Bearer "+vkWeb))
	require.ErrorIs(t, ev.StoreErr, errStoreDown)
}

func TestMintClientGone(t *testing.T) {
	p := newFakeProvider()
	p.reply = func(*contract.MintRequest) (*contract.Reply, error) {
		return nil, context.Canceled
	}
	cfg := baseConfig(p)
	var ev realtimesecret.MintEvent
	cfg.OnMint = func(e realtimesecret.MintEvent) { ev = e }
	h := realtimesecret.Middleware(cfg)(&nextRecorder{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := newRequest(http.MethodPost, "/v1/realtime/client_secrets", gaBody).WithContext(ctx)
	r.Header.Set("Authorization", "Bearer "+vkWeb)
	w := newRecorder()
	h.ServeHTTP(w, r)
	assert.Equal(t, 499, ev.Status)
}

var errStoreDown = errors.New("store down")

type failingStore struct{}

func (failingStore) Put(context.Context, contract.TokenHash, realtimesecret.Record) error {
	return errStoreDown
}

func (failingStore) Get(context.Context, contract.TokenHash) (realtimesecret.Record, bool, error) {
	return realtimesecret.Record{}, false, errStoreDown
}
