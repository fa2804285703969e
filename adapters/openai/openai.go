package openai

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/realtimesecret/realtimesecret/internal/upstream"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// Defaults applied by New to the zero fields of a Config.
const (
	// DefaultBaseURL is the OpenAI API.
	DefaultBaseURL = "https://api.openai.com"
	// DefaultTimeout bounds one Mint call (30s).
	DefaultTimeout = upstream.DefaultTimeout
	// DefaultMaxResponseBytes caps an upstream reply body (1 MiB). Mint
	// replies are a few KiB; anything near this is not a mint reply.
	DefaultMaxResponseBytes = upstream.DefaultMaxResponseBytes
)

// Config configures a Provider. The zero value talks to the OpenAI API.
type Config struct {
	// BaseURL is the root the endpoint path (for example
	// "/v1/realtime/client_secrets") is appended to. Empty means
	// DefaultBaseURL. It must be an absolute http or https URL without user
	// info, query or fragment; a path is kept, so an OpenAI-compatible vendor
	// may serve the API below one ("https://vendor.example/openai").
	// Trailing slashes are ignored, and so is a final "/v1" segment, because
	// vendors document their base the way the OpenAI SDKs want it
	// ("https://vendor.example/openai/v1") and "/v1/v1" is never meant.
	BaseURL string

	// Timeout bounds each Mint call, from sending the request to reading
	// the last byte of the reply. Zero means DefaultTimeout; negative is an
	// error.
	Timeout time.Duration

	// MaxResponseBytes caps the reply body, both as received and after gzip
	// decoding; a longer reply fails with contract.ErrUpstreamBadResponse.
	// Zero means DefaultMaxResponseBytes; negative is an error.
	MaxResponseBytes int64

	// Client sends the requests. Nil means a client owned by the Provider,
	// whose transport is a clone of http.DefaultTransport that keeps up to
	// 256 idle connections to the upstream, since every mint goes to the
	// same host. A given client is shallow-copied, never modified; its
	// Transport, Jar and Timeout are used as they are. Either way redirects
	// are never followed: a 3xx reply fails with
	// contract.ErrUpstreamBadResponse, so the key is never sent to
	// another location.
	Client *http.Client
}

// Provider mints client secrets at the OpenAI API or an OpenAI-compatible
// vendor. It is safe for concurrent use.
type Provider struct {
	poster *upstream.Poster
	root   string   // base URL without a final "/v1"; session paths follow it
	urls   []string // indexed by contract.Endpoint; "" = not served
}

var (
	_ contract.Provider      = (*Provider)(nil)
	_ contract.SessionBroker = (*Provider)(nil)
)

// New validates cfg and returns a Provider.
func New(cfg Config) (*Provider, error) {
	base := cfg.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	root, err := parseBase(base)
	if err != nil {
		return nil, err
	}
	poster, err := upstream.New("openai", upstream.Options{
		Timeout:          cfg.Timeout,
		MaxResponseBytes: cfg.MaxResponseBytes,
		Client:           cfg.Client,
	})
	if err != nil {
		return nil, err
	}
	p := &Provider{poster: poster, root: root}
	for _, e := range contract.Endpoints() {
		for int(e) >= len(p.urls) {
			p.urls = append(p.urls, "")
		}
		p.urls[e] = root + e.Path()
	}
	return p, nil
}

// parseBase returns base without trailing slashes or a final "/v1", ready
// for an endpoint path to be appended.
func parseBase(base string) (string, error) {
	root, err := upstream.ParseBaseURL("BaseURL", base)
	if err != nil {
		return "", fmt.Errorf("openai: %w", err)
	}
	return strings.TrimSuffix(root, "/v1"), nil
}

// Mint implements contract.Provider.
func (p *Provider) Mint(ctx context.Context, req *contract.MintRequest) (*contract.Reply, error) {
	if req == nil || req.Key == nil {
		return nil, errors.New("openai: mint request without a key")
	}
	var target string
	if int(req.Endpoint) < len(p.urls) {
		target = p.urls[req.Endpoint]
	}
	if target == "" {
		return nil, unsupported()
	}
	key := req.Key.Value.Reveal()

	x := p.poster.Begin(ctx, req.Endpoint)
	defer x.Close()
	h := upstream.Header(req.Header)
	h["Authorization"] = []string{"Bearer " + key}
	return x.Post(target, h, req.Body, key)
}

// unsupported is the answer for an endpoint this Provider has no URL for.
// It is built per call: the middleware owns the *Error it is given.
func unsupported() *contract.Error {
	return &contract.Error{
		Status:  http.StatusBadRequest,
		Type:    "invalid_request_error",
		Code:    "unsupported_endpoint",
		Message: "this endpoint is not supported by the provider",
	}
}
