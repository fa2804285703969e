package mintbench_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/realtimesecret/realtimesecret/adapters/gemini"
	"github.com/realtimesecret/realtimesecret/adapters/openai"
	"github.com/realtimesecret/realtimesecret/adapters/xai"
	"github.com/realtimesecret/realtimesecret/internal/fakegemini"
	"github.com/realtimesecret/realtimesecret/internal/fakeupstream"
	"github.com/realtimesecret/realtimesecret/internal/fakexai"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

const (
	virtualKey = "vk-bench-0123456789abcdef"
	// maxTTL is the virtual key's cap; every request asks for a lifetime
	// within it, as an app that knows its policy does.
	maxTTL = 10 * time.Minute

	openaiModel = "gpt-realtime"
	xaiModel    = "grok-voice-latest"
	geminiModel = "gemini-live-2.5-flash-preview"
)

// upstreamKeys are each provider's two keys: the middleware chooses one
// per mint.
var upstreamKeys = [2]string{"upstream-key-0123456789-a", "upstream-key-0123456789-b"}

// provider is one column of the A/B: its adapter, the real fake that
// checks what the adapter sends, and the request its official SDK makes.
type provider struct {
	name string
	// path is the route the SDK posts to, on the middleware.
	path string
	// header is what the SDK sends besides the body.
	header http.Header
	// body is the SDK's request body, made at now.
	body func(now time.Time) string
	// adapter builds the provider's adapter with client, at baseURL (""
	// is the provider's own).
	adapter func(baseURL string, client *http.Client) (contract.Provider, error)
	// fake is the stand-in for the provider's API.
	fake func() http.Handler
	// secret is the member of the fake's 200 answer holding the secret.
	secret string
}

var providers = []provider{
	{
		name: "openai",
		path: "/v1/realtime/client_secrets",
		// The openai npm package's client.realtime.clientSecrets.create.
		header: http.Header{
			"Authorization": {"Bearer " + virtualKey},
			"Content-Type":  {"application/json"},
			"Accept":        {"application/json"},
			"User-Agent":    {"OpenAI/JS 6.10.0"},
		},
		body: func(time.Time) string {
			return `{"expires_after":{"anchor":"created_at","seconds":600},"session":{"type":"realtime","model":"` + openaiModel +
				`","instructions":"You are a friendly assistant.","audio":{"output":{"voice":"marin"}}}}`
		},
		adapter: func(baseURL string, client *http.Client) (contract.Provider, error) {
			return openai.New(openai.Config{BaseURL: baseURL, Client: client})
		},
		fake: func() http.Handler {
			return fakeupstream.New(fakeupstream.Options{Keys: upstreamKeys[:], Models: []string{openaiModel}, MaxRequests: -1})
		},
		secret: "value",
	},
	{
		name: "xai",
		path: "/xai/v1/realtime/client_secrets",
		// xAI's documented request, {"expires_after":{"seconds":N}}, with
		// the model the client will connect with in session.model: the
		// virtual key lists models, so a mint must name one (without it
		// the answer is 400 missing_model). The adapter sends xAI
		// {"expires_after":{"seconds":600}} only; the fake refuses
		// anything more.
		header: http.Header{
			"Authorization": {"Bearer " + virtualKey},
			"Content-Type":  {"application/json"},
			"Accept":        {"*/*"},
			"User-Agent":    {"node"},
		},
		body: func(time.Time) string {
			return `{"expires_after":{"seconds":600},"session":{"type":"realtime","model":"` + xaiModel + `"}}`
		},
		adapter: func(baseURL string, client *http.Client) (contract.Provider, error) {
			return xai.New(xai.Config{BaseURL: baseURL, Client: client})
		},
		fake:   func() http.Handler { return fakexai.New(fakexai.Options{Keys: upstreamKeys[:]}) },
		secret: "value",
	},
	{
		name: "gemini",
		path: "/gemini/v1alpha/auth_tokens",
		// @google/genai 3.1.0's authTokens.create({config: {uses: 1,
		// expireTime, newSessionExpireTime, liveConnectConstraints:
		// {model}}}) with httpOptions {apiVersion: "v1alpha", baseUrl:
		// sidecar + "/gemini"}, as captured on the wire.
		header: http.Header{
			"X-Goog-Api-Key":    {virtualKey},
			"Content-Type":      {"application/json"},
			"Accept":            {"*/*"},
			"User-Agent":        {"google-genai-sdk/3.1.0 gl-node/v20.20.2"},
			"X-Goog-Api-Client": {"google-genai-sdk/3.1.0 gl-node/v20.20.2"},
		},
		body: func(now time.Time) string {
			at := func(d time.Duration) string { return now.Add(d).UTC().Format("2006-01-02T15:04:05.000Z") }
			// expireTime is an instant: made at now, it stays within
			// maxTTL of every later mint.
			return `{"expireTime":"` + at(maxTTL) + `","newSessionExpireTime":"` + at(50*time.Second) +
				`","uses":1,"bidiGenerateContentSetup":{"model":"models/` + geminiModel + `"}}`
		},
		adapter: func(baseURL string, client *http.Client) (contract.Provider, error) {
			return gemini.New(gemini.Config{BaseURL: baseURL, Client: client})
		},
		fake: func() http.Handler {
			return fakegemini.New(fakegemini.Options{Keys: upstreamKeys[:], Models: []string{geminiModel}})
		},
		secret: "name",
	},
}

// middleware is realtimesecret.New's handler with p as the one provider,
// its two keys, and a virtual key with models and a max_ttl.
func middleware(b *testing.B, name string, p contract.Provider) *realtimesecret.Handler {
	b.Helper()
	h, err := realtimesecret.New(realtimesecret.Config{
		// OpenAI's SDK sends a bare model name on /v1/realtime/....
		DefaultProvider: name,
		Providers: []realtimesecret.ProviderConfig{{
			Name:     name,
			Provider: p,
			Keys:     []realtimesecret.Key{{ID: "k1", Value: realtimesecret.Secret(upstreamKeys[0])}, {ID: "k2", Value: realtimesecret.Secret(upstreamKeys[1])}},
		}},
		VirtualKeys: []realtimesecret.VirtualKey{{
			ID:     "web",
			Value:  virtualKey,
			Models: []string{openaiModel, "gpt-realtime-mini", xaiModel, geminiModel},
			MaxTTL: maxTTL,
		}},
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = h.Close() })
	return h
}

// checkMint mints body once through h with a recorder and fails b unless
// the answer is a 200 whose secret (member) the middleware stored.
func checkMint(b *testing.B, h *realtimesecret.Handler, p provider, body, what string) {
	b.Helper()
	rec := httptest.NewRecorder()
	repeater(h.Wrap(http.NotFoundHandler()), p, body, rec)()
	if rec.Code != http.StatusOK {
		b.Fatalf("%s: status %d: %s", what, rec.Code, rec.Body)
	}
	var v map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		b.Fatalf("%s: %v: %s", what, err, rec.Body)
	}
	secret, _ := v[p.secret].(string)
	if _, ok, err := h.Lookup(b.Context(), secret); !ok || err != nil {
		b.Fatalf("%s: secret %q not stored (%v): %s", what, secret, err, rec.Body)
	}
}

// cannedTransport is the adapter's upstream, in process. Until it has an
// answer it serves each request with the provider's fake, which checks the
// request as the provider would, and keeps the fake's first 200 as the
// answer; then it answers every request with that reply holding a fresh
// secret, handing it over as a transport does a reply it read: a new
// response, header and body each time.
type cannedTransport struct {
	fake   http.Handler
	member string // the member of the fake's 200 answer holding the secret

	answer        bool
	status        int
	statusLine    string
	header        http.Header
	before, after []byte // the fake's reply around its secret
	secretStem    string // the secret without its last 16 characters
	n             atomic.Uint64
}

func (t *cannedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if !t.answer {
		w := httptest.NewRecorder()
		t.fake.ServeHTTP(w, r)
		if w.Code == http.StatusOK {
			if err := t.keep(w.Body.Bytes(), w.Code, w.Header()); err != nil {
				return nil, err
			}
		}
		return w.Result(), nil
	}
	// A transport writes the body out.
	if r.Body != nil {
		_, err := io.Copy(io.Discard, r.Body)
		_ = r.Body.Close()
		if err != nil {
			return nil, err
		}
	}
	const hex = "0123456789abcdef"
	body := make([]byte, 0, len(t.before)+len(t.secretStem)+16+len(t.after))
	body = append(body, t.before...)
	body = append(body, t.secretStem...)
	for i, n := 60, t.n.Add(1); i >= 0; i -= 4 {
		body = append(body, hex[n>>uint(i)&0xf])
	}
	body = append(body, t.after...)
	return &http.Response{
		Status:        t.statusLine,
		StatusCode:    t.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        t.header.Clone(),
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       r,
	}, nil
}

// keep makes reply, the fake's answer to the check mint, the canned one.
func (t *cannedTransport) keep(reply []byte, status int, header http.Header) error {
	var v map[string]any
	if err := json.Unmarshal(reply, &v); err != nil {
		return fmt.Errorf("the fake's reply: %w: %s", err, reply)
	}
	secret, _ := v[t.member].(string)
	i := bytes.Index(reply, []byte(`"`+secret+`"`))
	if len(secret) < 24 || i < 0 {
		return fmt.Errorf("no secret in %q of the fake's reply %s", t.member, reply)
	}
	t.before = bytes.Clone(reply[:i+1])
	t.secretStem = secret[:len(secret)-16]
	t.after = bytes.Clone(reply[i+1+len(secret):])
	t.status, t.statusLine = status, strconv.Itoa(status)+" "+http.StatusText(status)
	t.header = header.Clone()
	t.header.Del("Date")
	t.header.Set("Content-Length", strconv.Itoa(len(reply)))
	t.answer = true
	return nil
}

// discardWriter is a ResponseWriter that allocates nothing, so that the
// loop counts the middleware's and the adapter's allocations only.
type discardWriter struct {
	h      http.Header
	status int
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(status int)      { d.status = status }

type readCloser struct{ io.Reader }

func (readCloser) Close() error { return nil }

// repeater returns a function that sends body to h as one more mint of p,
// with the SDK's headers, into w. The request, its reader and the writer
// are reused, so that only the mint allocates.
func repeater(h http.Handler, p provider, body string, w http.ResponseWriter) func() {
	r := httptest.NewRequest(http.MethodPost, p.path, nil)
	r.Header = p.header.Clone()
	rd := strings.NewReader(body)
	return func() {
		rd.Reset(body)
		r.Body = readCloser{rd}
		r.ContentLength = int64(len(body))
		clear(w.Header())
		h.ServeHTTP(w, r)
	}
}

// cannedMint builds p's middleware with the real adapter on a
// cannedTransport, checks a mint answered by the fake and one answered by
// the transport, and returns a function that mints once more into a
// discardWriter, and the writer.
func cannedMint(b *testing.B, p provider) (func(), *discardWriter) {
	b.Helper()
	up := &cannedTransport{fake: p.fake(), member: p.secret}
	adapter, err := p.adapter("https://upstream.invalid", &http.Client{Transport: up})
	if err != nil {
		b.Fatal(err)
	}
	core := middleware(b, p.name, adapter)
	body := p.body(time.Now())
	// The fake answers the first mint, and its answer is kept; the second
	// is answered by the transport.
	checkMint(b, core, p, body, "check mint")
	if !up.answer {
		b.Fatal("the fake's answer was not kept")
	}
	checkMint(b, core, p, body, "canned mint")
	w := &discardWriter{h: http.Header{}}
	return repeater(core.Wrap(http.NotFoundHandler()), p, body, w), w
}

// BenchmarkProviderMint mints an OpenAI GA client secret, an xAI client
// secret and a Gemini auth token through the middleware and the real
// adapters, the upstream answered in process (cannedTransport).
func BenchmarkProviderMint(b *testing.B) {
	for _, p := range providers {
		b.Run(p.name, func(b *testing.B) {
			mint, w := cannedMint(b, p)
			b.ReportAllocs()
			for b.Loop() {
				mint()
			}
			if w.status != http.StatusOK {
				b.Fatalf("last mint: status %d", w.status)
			}
		})
	}
}

// BenchmarkProviderMintAlternating is BenchmarkProviderMint's three mints
// in alternating batches inside one loop, so that a shared machine whose
// speed drifts slows all three alike: one op is a batch of each (3 ×
// batch mints). It reports each provider's ns per mint and the ratio of
// xAI's and Gemini's to OpenAI's.
func BenchmarkProviderMintAlternating(b *testing.B) {
	const batch = 32
	mints := make([]func(), len(providers))
	writers := make([]*discardWriter, len(providers))
	for i, p := range providers {
		mints[i], writers[i] = cannedMint(b, p)
	}
	spent := make([]time.Duration, len(providers))
	n, round := 0, 0
	b.ReportAllocs()
	for b.Loop() {
		// Each round starts with another provider, so that none always
		// runs first.
		for k := range providers {
			i := (round + k) % len(providers)
			t0 := time.Now()
			for range batch {
				mints[i]()
			}
			spent[i] += time.Since(t0)
		}
		round++
		n += batch
	}
	for i, p := range providers {
		if writers[i].status != http.StatusOK {
			b.Fatalf("%s: last mint: status %d", p.name, writers[i].status)
		}
		b.ReportMetric(float64(spent[i].Nanoseconds())/float64(n), p.name+"-ns/mint")
		if i > 0 {
			b.ReportMetric(float64(spent[i])/float64(spent[0]), p.name+"/"+providers[0].name)
		}
	}
}

// BenchmarkProviderMintLoopback is the reference with sockets: the same
// mints with the adapters' own transports, against the real fakes on
// httptest servers in the same process (whose cost is counted too).
func BenchmarkProviderMintLoopback(b *testing.B) {
	for _, p := range providers {
		b.Run(p.name, func(b *testing.B) {
			srv := httptest.NewServer(p.fake())
			b.Cleanup(srv.Close)
			adapter, err := p.adapter(srv.URL, nil)
			if err != nil {
				b.Fatal(err)
			}
			core := middleware(b, p.name, adapter)
			body := p.body(time.Now())
			checkMint(b, core, p, body, "check mint")
			h := core.Wrap(http.NotFoundHandler())
			w := &discardWriter{h: http.Header{}}
			mint := repeater(h, p, body, w)
			b.ReportAllocs()
			for b.Loop() {
				mint()
			}
			if w.status != http.StatusOK {
				b.Fatalf("last mint: status %d", w.status)
			}
		})
	}
}
