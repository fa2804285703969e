package realtimesecret_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

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
		cfg.Providers = append(cfg.Providers, realtimesecret.ProviderConfig{
			Name: name, Provider: p, Keys: []realtimesecret.Key{{ID: "k", Value: "sk-fuzz"}},
		})
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

// forwardedModel reads the model back out of a forwarded body.
func forwardedModel(ep realtimesecret.Endpoint, body []byte) (string, bool) {
	var v struct {
		Model   *string `json:"model"`
		Session *struct {
			Model *string `json:"model"`
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
			got, ok := forwardedModel(ep, req.Body)
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
