package e2e_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/adapters/openai"
	"github.com/realtimesecret/realtimesecret/internal/fakeupstream"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
)

// Upstream keys of the "openai" provider. Each serves a different family of
// models, so the key the fake upstream sees proves which one was selected.
const (
	upstreamKeyRealtime   = "sk-e2e-realtime"
	upstreamKeyTranscribe = "sk-e2e-transcribe"
	upstreamKeyTranslate  = "sk-e2e-translate"
	upstreamKeyLive       = "sk-e2e-live"
	upstreamKeyDisabled   = "sk-e2e-disabled"
)

// Virtual keys the SDKs present as their API key.
const (
	vkWeb      = "vk-e2e-web"      // may mint anything
	vkDisabled = "vk-e2e-disabled" // known but disabled: 403
	vkNarrow   = "vk-e2e-narrow"   // gpt-realtime only: 403 for other models
	vkRate     = "vk-e2e-rate"     // one mint per hour: 429 on the second
	vkUnknown  = "vk-e2e-unknown"  // not configured: 401
	vkOther    = "vk-e2e-other"    // may mint anything, as another principal than vkWeb
)

// retiredModel is allowed by the realtime key but refused by the fake
// upstream, to see an upstream 400 pass through to the SDK.
const retiredModel = "gpt-4o-realtime-preview-2024-10-01"

// upstreamLogPath is served by the stand-in for the existing proxy behind the
// middleware. It lets the Node suite see what the fake upstream received; it
// is a pass-through route, so it also proves that non-mint traffic reaches
// next.
const upstreamLogPath = "/__e2e/upstream/requests"

// stack is the fake upstream, the OpenAI adapter and the middleware, on
// loopback.
type stack struct {
	// URL is the middleware's root, e.g. http://127.0.0.1:41234. SDK base
	// URLs are URL+"/openai/v1" (provider-scoped) or URL+"/v1".
	URL      string
	Upstream *fakeupstream.Server
	Handler  *realtimesecret.Handler
}

// stackOptions changes what newStackWith builds; the zero value is
// newStack's stack.
type stackOptions struct {
	// adapterTimeout is the OpenAI adapter's Timeout; zero means 10 s.
	adapterTimeout time.Duration
	// fake, if set, changes the fake upstream's options.
	fake func(*fakeupstream.Options)
	// upstream, if set, wraps the fake upstream: what the adapter reaches
	// is upstream(fake).
	upstream func(fake http.Handler) http.Handler
	// next, if set, adds routes to the handler behind the middleware (the
	// application's own routes, such as a page).
	next func(mux *http.ServeMux)
}

// newStack starts a fresh stack for one test; its rate limits and records
// are its own. It is closed by t.Cleanup.
func newStack(t *testing.T) *stack {
	t.Helper()
	return newStackWith(t, stackOptions{})
}

// newStackWith is newStack with opts.
func newStackWith(t *testing.T, opts stackOptions) *stack {
	t.Helper()
	upOpts := fakeupstream.Options{
		Keys:       []string{upstreamKeyRealtime, upstreamKeyTranscribe, upstreamKeyTranslate, upstreamKeyLive},
		Models:     []string{"gpt-realtime", "gpt-realtime-mini", "gpt-realtime-translate"},
		LiveModels: []string{"gpt-live-1"},
	}
	if opts.fake != nil {
		opts.fake(&upOpts)
	}
	up := fakeupstream.New(upOpts)
	var upstream http.Handler = up
	if opts.upstream != nil {
		upstream = opts.upstream(up)
	}
	upSrv := httptest.NewServer(upstream)
	t.Cleanup(upSrv.Close)

	timeout := opts.adapterTimeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	adapter, err := openai.New(openai.Config{BaseURL: upSrv.URL, Timeout: timeout})
	require.NoError(t, err)

	h, err := realtimesecret.New(realtimesecret.Config{
		Providers: []realtimesecret.ProviderConfig{{
			Name:     "openai",
			Provider: adapter,
			Keys: []realtimesecret.Key{
				{ID: "realtime", Value: upstreamKeyRealtime,
					// Key choice sees the requested name, so the alias is listed.
					Models:  []string{"gpt-realtime", "gpt-realtime-mini", "realtime", retiredModel},
					Aliases: map[string]string{"realtime": "gpt-realtime"}},
				{ID: "transcribe", Value: upstreamKeyTranscribe,
					Models: []string{"gpt-4o-transcribe", "gpt-4o-mini-transcribe"}},
				{ID: "translate", Value: upstreamKeyTranslate,
					Models: []string{"gpt-realtime-translate"}},
				{ID: "live", Value: upstreamKeyLive,
					Models: []string{"gpt-live-1"}},
				// Would match everything, but must never be picked.
				{ID: "disabled", Value: upstreamKeyDisabled, Disabled: true},
			},
		}},
		VirtualKeys: []realtimesecret.VirtualKey{
			{ID: "web", Value: vkWeb},
			{ID: "other", Value: vkOther},
			{ID: "disabled", Value: vkDisabled, Disabled: true},
			{ID: "narrow", Value: vkNarrow, Models: []string{"gpt-realtime"}},
			{ID: "rate", Value: vkRate, RateLimit: realtimesecret.Rate{Requests: 1, Per: time.Hour}},
		},
	})
	require.NoError(t, err)

	next := http.NewServeMux()
	next.HandleFunc("GET "+upstreamLogPath, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(upstreamLog(up.Requests()))
	})
	if opts.next != nil {
		opts.next(next)
	}
	srv := httptest.NewServer(h.Wrap(next))
	t.Cleanup(srv.Close)
	return &stack{URL: srv.URL, Upstream: up, Handler: h}
}

// loggedRequest is what upstreamLogPath reports of one upstream request.
type loggedRequest struct {
	Method        string          `json:"method"`
	Path          string          `json:"path"`
	Authorization string          `json:"authorization"`
	ContentType   string          `json:"content_type"`
	VirtualKey    string          `json:"x_virtual_key"`
	Body          json.RawMessage `json:"body"`
}

func upstreamLog(reqs []fakeupstream.Request) []loggedRequest {
	out := make([]loggedRequest, 0, len(reqs))
	for _, r := range reqs {
		body := json.RawMessage(r.Body)
		if !json.Valid(body) {
			body, _ = json.Marshal(string(r.Body))
		}
		out = append(out, loggedRequest{
			Method:        r.Method,
			Path:          r.Path,
			Authorization: r.Header.Get("Authorization"),
			ContentType:   r.Header.Get("Content-Type"),
			VirtualKey:    r.Header.Get("X-Virtual-Key"),
			Body:          body,
		})
	}
	return out
}
