package xai

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
	// DefaultBaseURL is xAI's API.
	DefaultBaseURL = "https://api.x.ai"
	// DefaultTimeout bounds one Mint call (30s).
	DefaultTimeout = upstream.DefaultTimeout
	// DefaultMaxResponseBytes caps an upstream reply body (1 MiB).
	DefaultMaxResponseBytes = upstream.DefaultMaxResponseBytes
)

// The format of xAI's client secrets and how browsers present them.
const (
	// SecretPrefix starts the client secrets xAI mints.
	SecretPrefix = "xai-realtime-client-secret-" //nolint:gosec // G101: a prefix, not a credential
	// Subprotocol is the WebSocket subprotocol prefix a browser presents
	// a secret in: "xai-client-secret.<secret>".
	Subprotocol = "xai-client-secret."
)

// CodeUnsupportedEndpoint is the error.code of the 400 answered for an
// endpoint xAI does not serve.
const CodeUnsupportedEndpoint = "unsupported_endpoint"

// Config configures a Provider. The zero value talks to xAI's API.
type Config struct {
	// BaseURL is the root "/v1/realtime/client_secrets" is appended to.
	// Empty means DefaultBaseURL. It must be an absolute http or https URL
	// without user info, query or fragment; trailing slashes and a final
	// "/v1" are ignored.
	BaseURL string
	// Timeout bounds each Mint call. Zero means DefaultTimeout; negative
	// is an error.
	Timeout time.Duration
	// MaxResponseBytes caps the reply body, as received and after gzip
	// decoding. Zero means DefaultMaxResponseBytes; negative is an error.
	MaxResponseBytes int64
	// Client sends the requests. Nil means a client owned by the Provider
	// with a pooled transport. A given client is shallow-copied, never
	// modified. Either way redirects are never followed: a 3xx reply fails
	// with contract.ErrUpstreamBadResponse.
	Client *http.Client
}

// Provider mints client secrets at xAI. It is safe for concurrent use.
type Provider struct {
	poster *upstream.Poster
	url    string
}

var (
	_ contract.Provider        = (*Provider)(nil)
	_ contract.SecretFormatter = (*Provider)(nil)
)

// New validates cfg and returns a Provider.
func New(cfg Config) (*Provider, error) {
	base := cfg.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	root, err := upstream.ParseBaseURL("BaseURL", base)
	if err != nil {
		return nil, fmt.Errorf("xai: %w", err)
	}
	poster, err := upstream.New("xai", upstream.Options{
		Timeout:          cfg.Timeout,
		MaxResponseBytes: cfg.MaxResponseBytes,
		Client:           cfg.Client,
	})
	if err != nil {
		return nil, err
	}
	return &Provider{poster: poster, url: strings.TrimSuffix(root, "/v1") + contract.EndpointClientSecret.Path()}, nil
}

// Mint implements contract.Provider: for EndpointClientSecret it sends
// the expiry of req.Body, {"expires_after":{"seconds":N}} or {}, to
// {BaseURL}/v1/realtime/client_secrets with "Authorization: Bearer <key>",
// and returns the reply; a non-2xx one has its body rewritten into the
// OpenAI error shape. A body with session settings xAI cannot carry is
// refused with an *contract.Error (400) before anything is sent; so is
// every other endpoint. Errors never contain the key.
func (p *Provider) Mint(ctx context.Context, req *contract.MintRequest) (*contract.Reply, error) {
	if req == nil || req.Key == nil {
		return nil, errors.New("xai: mint request without a key")
	}
	if req.Endpoint != contract.EndpointClientSecret {
		return nil, unsupported(req.Endpoint)
	}
	body, e := clientSecretBody(req.Body)
	if e != nil {
		return nil, e
	}
	key := req.Key.Value.Reveal()

	x := p.poster.Begin(ctx, req.Endpoint)
	defer x.Close()
	h := upstream.Header(req.Header)
	h["Authorization"] = []string{"Bearer " + key}
	resp, err := x.Post(p.url, h, body, key)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		resp.Body = mapError(resp.StatusCode, resp.Body, key)
		resp.Header.Del("Content-Length")
		resp.Header.Set("Content-Type", "application/json")
	}
	return resp, nil
}

// SecretFormat implements contract.SecretFormatter: xAI's secrets start
// with SecretPrefix, and browsers present them in the Subprotocol.
func (p *Provider) SecretFormat() contract.SecretFormat {
	return contract.SecretFormat{Prefix: SecretPrefix, Subprotocol: Subprotocol}
}

// unsupported is the answer for an endpoint xAI does not serve; built per
// call, as the middleware owns the *Error it is given.
func unsupported(e contract.Endpoint) *contract.Error {
	msg := "xAI serves realtime client secrets at " + contract.EndpointClientSecret.Path() + " only"
	if e.IsSession() {
		msg = "xAI's Voice Agent API has no brokered WebRTC sessions: mint a client secret at " +
			contract.EndpointClientSecret.Path() + " and open the WebSocket with it"
	}
	return &contract.Error{Status: http.StatusBadRequest, Type: "invalid_request_error", Code: CodeUnsupportedEndpoint, Message: msg}
}
