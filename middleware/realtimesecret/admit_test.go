package realtimesecret_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/internal/badrequests"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// badRequestsDir holds the bad request corpus shared by the middleware and
// the sidecar tests.
var badRequestsDir = filepath.Join("..", "..", "testdata", "badrequests")

// loadBadRequests loads the corpus; internal/badrequests holds the schema
// and resolves each case, this file only turns it into an httptest request.
func loadBadRequests(t *testing.T) *badrequests.Corpus {
	t.Helper()
	c, err := badrequests.Load(badRequestsDir)
	require.NoError(t, err)
	return c
}

// buildBadRequest returns the request a case describes, and the body sent.
func buildBadRequest(t *testing.T, c *badrequests.Corpus, tc *badrequests.Case, sessionID string) (*http.Request, []byte) {
	t.Helper()
	req, err := c.ResolveSession(tc, sessionID)
	require.NoError(t, err)
	r := httptest.NewRequest(req.Method, req.Target, bytes.NewReader(req.Body))
	maps.Copy(r.Header, req.Header)
	switch {
	case tc.Chunked:
		r.ContentLength = -1
		r.Body = io.NopCloser(struct{ io.Reader }{bytes.NewReader(req.Body)}) // no length to see
	case tc.ContentLength != 0:
		r.ContentLength = tc.ContentLength
	}
	return r, req.Body
}

// countingProvider answers every mint and brokered session like OpenAI and
// counts the calls: a bad request must never cost an upstream call.
type countingProvider struct{ calls atomic.Int64 }

var _ contract.SessionBroker = (*countingProvider)(nil)

func (p *countingProvider) Mint(context.Context, *contract.MintRequest) (*contract.Reply, error) {
	n := p.calls.Add(1)
	body := fmt.Sprintf(`{"value":"ek_counting%d","expires_at":4102444800,"session":{"type":"realtime"}}`, n)
	return &contract.Reply{StatusCode: http.StatusOK, Body: []byte(body)}, nil
}

// Session creates a call (an SDP answer and its Location) or a Live
// session (its id), or hangs one up.
func (p *countingProvider) Session(_ context.Context, req *contract.SessionRequest) (*contract.Reply, error) {
	n := p.calls.Add(1)
	switch req.Endpoint {
	case contract.EndpointCall:
		return &contract.Reply{StatusCode: http.StatusCreated, Header: http.Header{
			"Content-Type": {"application/sdp"},
			"Location":     {fmt.Sprintf("/v1/realtime/calls/rtc_counting%d", n)},
		}, Body: []byte("v=0\r\n")}, nil
	case contract.EndpointLiveSession:
		body := fmt.Sprintf(`{"session":{"id":"sess_counting%d"},"transport":{"type":"webrtc","sdp":"v=0\r\n"}}`, n)
		return &contract.Reply{StatusCode: http.StatusCreated, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(body)}, nil
	default:
		return &contract.Reply{StatusCode: http.StatusOK, Body: []byte("{}")}, nil
	}
}

// createSession sends a session_by case's setup request and returns the id
// of the session it created, or "" when the case needs none.
func createSession(t *testing.T, h http.Handler, c *badrequests.Corpus, tc *badrequests.Case) string {
	t.Helper()
	setup, err := c.SessionSetup(tc)
	require.NoError(t, err)
	if setup == nil {
		return ""
	}
	r := httptest.NewRequest(setup.Method, setup.Target, bytes.NewReader(setup.Body))
	maps.Copy(r.Header, setup.Header)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	id, err := badrequests.CreatedID(setup, w.Code, w.Header(), w.Body.Bytes())
	require.NoError(t, err)
	return id
}

// bodyRecorder is next: it answers nextStatus and keeps the body it read.
type bodyRecorder struct {
	mu     sync.Mutex
	calls  int
	bodies [][]byte
}

func (n *bodyRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	n.mu.Lock()
	n.calls++
	n.bodies = append(n.bodies, b)
	n.mu.Unlock()
	w.WriteHeader(nextStatus)
}

func (n *bodyRecorder) snapshot() (int, []byte) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.calls == 0 {
		return 0, nil
	}
	return n.calls, n.bodies[len(n.bodies)-1]
}

// serveRecovering serves r and returns the panic value, if any.
func serveRecovering(h http.Handler, w http.ResponseWriter, r *http.Request) (p any) {
	defer func() { p = recover() }()
	h.ServeHTTP(w, r)
	return nil
}

// TestBadInput runs every request of testdata/badrequests through the
// middleware: each gets the expected status and OpenAI-shaped error (or reaches
// next untouched), none gets a 5xx or panics, and none reaches the upstream.
func TestBadInput(t *testing.T) {
	m := loadBadRequests(t)
	require.GreaterOrEqual(t, len(m.Cases), 60)

	provider := &countingProvider{}
	cfg := baseConfig(provider)
	cfg.Providers[0].Beta = contract.BetaTranslate // as the OpenAI adapter's default: the corpus's beta cases are translated
	cfg.VirtualKeys = []realtimesecret.VirtualKey{{ID: "badinput", Value: realtimesecret.Secret(m.VirtualKey)}}
	for id, value := range m.OtherVirtualKeys {
		cfg.VirtualKeys = append(cfg.VirtualKeys, realtimesecret.VirtualKey{ID: id, Value: realtimesecret.Secret(value)})
	}
	plain, err := realtimesecret.New(cfg)
	require.NoError(t, err)
	cfg.SealKeys = []realtimesecret.SealKey{bytes.Repeat([]byte{0x42}, 32)}
	sealed, err := realtimesecret.New(cfg)
	require.NoError(t, err)

	for _, tc := range m.Cases {
		t.Run(tc.Name, func(t *testing.T) {
			require.NotEqual(t, tc.Next, tc.Status != 0, "a case expects either next or a status")
			next := &bodyRecorder{}
			h := plain.Wrap(next)
			if tc.Seal {
				h = sealed.Wrap(next)
			}
			sessionID := createSession(t, h, m, &tc)
			r, sent := buildBadRequest(t, m, &tc, sessionID)
			w := httptest.NewRecorder()
			before := provider.calls.Load()

			require.Nil(t, serveRecovering(h, w, r), "the middleware panicked")

			assert.Equal(t, before, provider.calls.Load(), "a bad request reached the upstream")
			assert.Less(t, w.Code, 500, "body: %s", w.Body.String())
			calls, seen := next.snapshot()
			if tc.Next {
				require.Equal(t, 1, calls, "next was not called; got %d %s", w.Code, w.Body.String())
				assert.Equal(t, nextStatus, w.Code)
				assert.Equal(t, string(sent), string(seen), "next must read the body as it was sent")
				return
			}
			assert.Zero(t, calls, "next was called")
			e := requireAPIError(t, w, tc.Status)
			if tc.Code != "" {
				require.NotNil(t, e.Error.Code)
				assert.Equal(t, tc.Code, *e.Error.Code, "message: %s", e.Error.Message)
			}
			if tc.Param != "" {
				require.NotNil(t, e.Error.Param, "message: %s", e.Error.Message)
				assert.Equal(t, tc.Param, *e.Error.Param)
			}
			if tc.Status == http.StatusMethodNotAllowed {
				assert.Equal(t, http.MethodPost, w.Header().Get("Allow"))
			}
			assert.NotContains(t, w.Body.String(), m.VirtualKey)
			for _, other := range m.OtherVirtualKeys {
				assert.NotContains(t, w.Body.String(), other)
			}
		})
	}
}

// These fuzz targets drive the public middleware, so routing, body parsing,
// provider/model resolution, key choice and normalization are fuzzed
// together, the way a client reaches them. Seeds beyond the f.Add ones live
// in testdata/fuzz/<FuzzName>/.

// fuzzProviders are the configured provider names: one plain, one with the
// characters a name may have besides letters.
var fuzzProviders = []string{"openai", "other-2.x_y"}

// recordingProvider keeps the last request it was sent.
type recordingProvider struct {
	mu   sync.Mutex
	name string
	last *contract.MintRequest
}

func (p *recordingProvider) Mint(_ context.Context, req *contract.MintRequest) (*contract.Reply, error) {
	p.mu.Lock()
	cp := *req
	cp.Body = bytes.Clone(req.Body)
	p.last = &cp
	p.mu.Unlock()
	return &contract.Reply{StatusCode: http.StatusOK,
		Body: []byte(`{"value":"ek_fuzz","expires_at":4102444800,"client_secret":{"value":"ek_fuzz","expires_at":4102444800}}`)}, nil
}

func (p *recordingProvider) take() *contract.MintRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := p.last
	p.last = nil
	return r
}

// fuzzMaxBody is the body limit of fuzzMiddleware, small so that fuzzed
// bodies cross it.
const fuzzMaxBody = 4096

// fuzzMiddleware is a middleware over one recordingProvider per name, open
// minting (policy is not what is fuzzed) and a small body limit.
func fuzzMiddleware(f *testing.F) (http.Handler, map[string]*recordingProvider, []string) {
	f.Helper()
	var cfg realtimesecret.Config
	providers := make(map[string]*recordingProvider)
	for _, name := range fuzzProviders {
		p := &recordingProvider{name: name}
		providers[name] = p
		pc := realtimesecret.ProviderConfig{Name: name, Provider: p, Keys: []realtimesecret.Key{{ID: "k", Value: "sk-fuzz"}}}
		if name != "openai" {
			pc.Beta = contract.BetaTranslate // one provider forwards beta mints, the other translates them
		}
		cfg.Providers = append(cfg.Providers, pc)
	}
	cfg.MaxBodyBytes = fuzzMaxBody
	h, err := realtimesecret.New(cfg)
	if err != nil {
		f.Fatal(err)
	}
	var routes []string
	for _, ep := range contract.Endpoints() {
		routes = append(routes, ep.Path())
		for _, name := range fuzzProviders {
			routes = append(routes, "/"+name+ep.Path())
		}
	}
	return h.Wrap(http.NotFoundHandler()), providers, routes
}

// routeProvider returns the endpoint and default provider ("" for none) of
// a mint path built by fuzzMiddleware.
func routeProvider(path string) (realtimesecret.Endpoint, string) {
	for _, ep := range contract.Endpoints() {
		if prefix, ok := strings.CutSuffix(path, ep.Path()); ok {
			return ep, strings.TrimPrefix(prefix, "/")
		}
	}
	return 0, ""
}

// modelBody returns a mint body for ep with model at the place ep reads it.
func modelBody(ep realtimesecret.Endpoint, model []byte) []byte {
	switch ep {
	case contract.EndpointClientSecret:
		return append(append([]byte(`{"session":{"type":"realtime","model":`), model...), "}}"...)
	case contract.EndpointTranslation:
		return append(append([]byte(`{"session":{"model":`), model...), "}}"...)
	case contract.EndpointSession:
		return append(append([]byte(`{"model":`), model...), "}"...)
	default:
		return append(append([]byte(`{"input_audio_transcription":{"model":`), model...), "}}"...)
	}
}

// forwardedModel reads the model back out of a body forwarded to ep (a
// translated beta mint arrives at the GA endpoint).
func forwardedModel(ep realtimesecret.Endpoint, body []byte) (string, bool) {
	type model struct {
		Model *string `json:"model"`
	}
	var v struct {
		Model   *string `json:"model"`
		Session *struct {
			Type  string  `json:"type"`
			Model *string `json:"model"`
			Audio *struct {
				Input *struct {
					Transcription *model `json:"transcription"`
				} `json:"input"`
			} `json:"audio"`
		} `json:"session"`
		Transcription *struct {
			Model *string `json:"model"`
		} `json:"input_audio_transcription"`
	}
	if json.Unmarshal(body, &v) != nil {
		return "", false
	}
	var m *string
	switch {
	case ep == contract.EndpointSession:
		m = v.Model
	case ep == contract.EndpointTranscriptionSession && v.Transcription != nil:
		m = v.Transcription.Model
	case v.Session != nil && v.Session.Type == "transcription":
		if a := v.Session.Audio; a != nil && a.Input != nil && a.Input.Transcription != nil {
			m = a.Input.Transcription.Model
		}
	case v.Session != nil:
		m = v.Session.Model
	}
	if m == nil {
		return "", false
	}
	return *m, true
}

func postJSON(h http.Handler, path string, body []byte) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// FuzzProviderModel checks "provider/model" resolution through
// the middleware on every route: any model string is answered 200 or 400,
// never 5xx or a panic; a prefix naming a configured provider selects it
// and is stripped; any other string stays whole on a provider-scoped route
// and is refused on an unscoped one; the forwarded body carries exactly the
// resolved model.
func FuzzProviderModel(f *testing.F) {
	h, providers, routes := fuzzMiddleware(f)
	for _, m := range []string{
		"openai/gpt-realtime", "gpt-realtime", "openai/", "/", "", "other-2.x_y/m/n", "ft:gpt-4o:org/x",
		"OpenAI/gpt-realtime", "openai//x", " openai/x", "openai/\u00e9\u2028", "unknown/x", "openai/\xff",
	} {
		for i := range routes {
			f.Add(m, uint8(i))
		}
	}
	f.Fuzz(func(t *testing.T, model string, route uint8) {
		path := routes[int(route)%len(routes)]
		ep, routeDefault := routeProvider(path)
		quoted, err := json.Marshal(model)
		if err != nil {
			t.Fatal(err)
		}
		var seen string // the model as the middleware decodes it (invalid UTF-8 replaced)
		if err := json.Unmarshal(quoted, &seen); err != nil {
			t.Fatal(err)
		}
		body := modelBody(ep, quoted)
		w := postJSON(h, path, body)

		wantProvider, wantModel := routeDefault, seen
		if name, rest, ok := strings.Cut(seen, "/"); ok && providers[name] != nil {
			wantProvider, wantModel = name, rest
			if rest == "" {
				wantProvider = "" // "openai/": names a provider but no model
			}
		}
		if wantProvider == "" || len(body) > fuzzMaxBody {
			want := http.StatusBadRequest
			if len(body) > fuzzMaxBody {
				want = http.StatusRequestEntityTooLarge
			}
			if w.Code != want {
				t.Fatalf("%s model %q: status %d, want %d: %s", path, seen, w.Code, want, w.Body)
			}
			for name, p := range providers {
				if p.take() != nil {
					t.Fatalf("%s model %q: provider %s was called", path, seen, name)
				}
			}
			return
		}
		if w.Code != http.StatusOK {
			t.Fatalf("%s model %q: status %d, want 200: %s", path, seen, w.Code, w.Body)
		}
		for name, p := range providers {
			req := p.take()
			if name != wantProvider {
				if req != nil {
					t.Fatalf("%s model %q: provider %s called, want %s", path, seen, name, wantProvider)
				}
				continue
			}
			if req == nil {
				t.Fatalf("%s model %q: provider %s not called", path, seen, name)
			}
			got, ok := forwardedModel(req.Endpoint, req.Body)
			if !ok || got != wantModel {
				t.Fatalf("%s model %q: forwarded model %q (%v), want %q; body %q", path, seen, got, ok, wantModel, req.Body)
			}
		}
	})
}

// FuzzMintBody sends any body to any mint route: the answer is 200, 400 or
// 413, never 5xx or a panic; an error is OpenAI-shaped JSON and costs no upstream
// call; a forwarded body is one valid JSON object.
func FuzzMintBody(f *testing.F) {
	h, providers, routes := fuzzMiddleware(f)
	for _, s := range []string{
		`{"session":{"type":"realtime","model":"openai/gpt-realtime"},"expires_after":{"anchor":"created_at","seconds":60}}`,
		`{"model":"openai/gpt-realtime","voice":"alloy"}`,
		`{"model":"openai/gpt-realtime","session":{"instructions":"x"}}`,
		`{"session":{"type":"transcription","audio":{"input":{"transcription":{"model":"gpt-4o-transcribe"}}}}}`,
		`{"input_audio_transcription":{"model":"whisper-1"},"client_secret":{"expires_at":{"anchor":"created_at","seconds":60}}}`,
		`{"model":"other-2.x_y/m","client_secret":null}`,
		`{"session":{"model":"openai/a","mod\u0065l":"b"}}`,
		`{}`, `[]`, ``, `{"session":[]}`, `{"model":1e400}`,
	} {
		for i := range routes {
			f.Add([]byte(s), uint8(i))
		}
	}
	f.Fuzz(func(t *testing.T, body []byte, route uint8) {
		path := routes[int(route)%len(routes)]
		w := postJSON(h, path, body)
		var forwarded *contract.MintRequest
		for _, p := range providers {
			if req := p.take(); req != nil {
				if forwarded != nil {
					t.Fatal("two providers called for one mint")
				}
				forwarded = req
			}
		}
		switch w.Code {
		case http.StatusOK:
			if forwarded == nil {
				t.Fatalf("%s %q: 200 without an upstream call", path, body)
			}
			var obj map[string]json.RawMessage
			if err := json.Unmarshal(forwarded.Body, &obj); err != nil {
				t.Fatalf("%s %q: forwarded %q is not a JSON object: %v", path, body, forwarded.Body, err)
			}
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
			if forwarded != nil {
				t.Fatalf("%s %q: %d after an upstream call", path, body, w.Code)
			}
			var e struct {
				Error *struct {
					Message string `json:"message"`
					Type    string `json:"type"`
				} `json:"error"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error == nil || e.Error.Message == "" || e.Error.Type == "" {
				t.Fatalf("%s %q: error body %q is not OpenAI-shaped (%v)", path, body, w.Body, err)
			}
		default:
			t.Fatalf("%s %q: status %d: %s", path, body, w.Code, w.Body)
		}
	})
}

// countingBody counts the bytes read from it.
type countingBody struct {
	r    io.Reader
	read atomic.Int64
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.read.Add(int64(n))
	return n, err
}

func (c *countingBody) Close() error { return nil }

// TestIdentityBeforeTheBody: with virtual keys, a caller without a valid
// key is answered 401 before a byte of its body is read, whatever the body
// announces: a 10 MB GPT-Live body without a key is 401, not 413.
func TestIdentityBeforeTheBody(t *testing.T) {
	h := realtimesecret.Middleware(baseConfig(newBrokerProvider()))(&nextRecorder{})
	for _, tc := range []struct{ name, path, auth, code string }{
		{name: "no key, Live", path: "/v1/live/sessions", code: "missing_api_key"},
		{name: "wrong key, mint", path: "/v1/realtime/client_secrets", auth: "Bearer vk-wrong", code: "invalid_api_key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := &countingBody{r: io.LimitReader(zeros{}, 10<<20)}
			r := httptest.NewRequest(http.MethodPost, tc.path, body)
			r.ContentLength = 10 << 20
			r.Header.Set("Content-Type", "application/json")
			if tc.auth != "" {
				r.Header.Set("Authorization", tc.auth)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			assert.Equal(t, tc.code, *requireAPIError(t, w, http.StatusUnauthorized).Error.Code)
			assert.Zero(t, body.read.Load(), "no byte of the body was read")
		})
	}
	w := do(t, h, http.MethodPost, "/v1/live/sessions", strings.Repeat(" ", 2<<20), "Authorization", "Bearer "+vkWeb)
	assert.Equal(t, "request_too_large", *requireAPIError(t, w, http.StatusRequestEntityTooLarge).Error.Code, "with a key, the limit applies")
}

// zeros reads as an endless run of '0' bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = '0'
	}
	return len(p), nil
}

// TestLiveOfferIsLimitedAsACallsIs: a GPT-Live transport.sdp over 64 KiB
// is 413 part_too_large, as a call's sdp part is; nothing goes upstream.
func TestLiveOfferIsLimitedAsACallsIs(t *testing.T) {
	up := newBrokerProvider()
	h := realtimesecret.Middleware(baseConfig(up))(&nextRecorder{})
	offer := func(n int) string {
		return `{"session":{"model":"openai/gpt-live-1"},"transport":{"type":"webrtc","sdp":"v=0\r\n` + strings.Repeat("a", n) + `"}}`
	}
	w := do(t, h, http.MethodPost, "/v1/live/sessions", offer(64<<10), "Authorization", "Bearer "+vkWeb)
	e := requireAPIError(t, w, http.StatusRequestEntityTooLarge)
	assert.Equal(t, "part_too_large", *e.Error.Code)
	assert.Equal(t, "transport.sdp", *e.Error.Param)
	assert.Zero(t, up.sessionCount())

	// Escapes count as the bytes they decode to: an offer of 64 KiB whose
	// JSON is longer is accepted.
	w = do(t, h, http.MethodPost, "/v1/live/sessions",
		`{"session":{"model":"openai/gpt-live-1"},"transport":{"type":"webrtc","sdp":"v=0\r\n`+strings.Repeat(`\r\n`, 32<<10-3)+`"}}`,
		"Authorization", "Bearer "+vkWeb)
	assert.Equal(t, http.StatusCreated, w.Code, w.Body.String())
}
