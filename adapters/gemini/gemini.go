package gemini

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
	// DefaultBaseURL is the Gemini API.
	DefaultBaseURL = "https://generativelanguage.googleapis.com"
	// DefaultTimeout bounds one Mint call (30s).
	DefaultTimeout = upstream.DefaultTimeout
	// DefaultMaxResponseBytes caps an upstream reply body (1 MiB).
	DefaultMaxResponseBytes = upstream.DefaultMaxResponseBytes
)

// How Google's SDKs present a token (see SecretFormat).
const (
	// TokenPrefix starts the name of every token.
	TokenPrefix = "auth_tokens/" //nolint:gosec // G101: a name prefix, not a credential
	// QueryParam carries the token on the Live WebSocket
	// (BidiGenerateContentConstrained?access_token=...).
	QueryParam = "access_token"
	// AuthScheme is the Authorization scheme of a token:
	// "Authorization: Token auth_tokens/...".
	AuthScheme = "Token"
)

// CodeUnsupportedEndpoint is the error.code of the 400 answered for an
// OpenAI endpoint on a Gemini provider's scope.
const CodeUnsupportedEndpoint = "unsupported_endpoint"

// Config configures a Provider. The zero value talks to the Gemini API.
type Config struct {
	// BaseURL is the root "/v1alpha/auth_tokens" is appended to, as the
	// SDKs' baseUrl. Empty means DefaultBaseURL. It must be an absolute
	// http or https URL without user info, query or fragment; trailing
	// slashes and a final "/v1alpha" are ignored.
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

// Provider mints Live API ephemeral tokens at the Gemini API. It is safe
// for concurrent use.
type Provider struct {
	poster *upstream.Poster
	url    string
}

var (
	_ contract.Provider          = (*Provider)(nil)
	_ contract.ProviderEndpoints = (*Provider)(nil)
	_ contract.ErrorRenderer     = (*Provider)(nil)
	_ contract.SecretFormatter   = (*Provider)(nil)
)

// New validates cfg and returns a Provider.
func New(cfg Config) (*Provider, error) {
	base := cfg.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	root, err := upstream.ParseBaseURL("BaseURL", base)
	if err != nil {
		return nil, fmt.Errorf("gemini: %w", err)
	}
	poster, err := upstream.New("gemini", upstream.Options{
		Timeout:          cfg.Timeout,
		MaxResponseBytes: cfg.MaxResponseBytes,
		Client:           cfg.Client,
	})
	if err != nil {
		return nil, err
	}
	return &Provider{poster: poster, url: strings.TrimSuffix(root, "/v1alpha") + contract.EndpointAuthToken.Path()}, nil
}

// Mint implements contract.Provider: for EndpointAuthToken it posts
// req.Body byte for byte to {BaseURL}/v1alpha/auth_tokens with
// "x-goog-api-key: <key>" and returns the reply whatever its status (the
// middleware passes Google's errors on as Google wrote them). Every other
// endpoint is refused with a 400 *contract.Error before anything is sent.
// Errors never contain the key, and a reply that echoes it has it
// replaced.
func (p *Provider) Mint(ctx context.Context, req *contract.MintRequest) (*contract.Reply, error) {
	if req == nil || req.Key == nil {
		return nil, errors.New("gemini: mint request without a key")
	}
	if req.Endpoint != contract.EndpointAuthToken {
		return nil, &contract.Error{Status: http.StatusBadRequest, Type: "invalid_request_error", Code: CodeUnsupportedEndpoint,
			Message: "the Gemini API mints Live API tokens only, at " + contract.EndpointAuthToken.Path() + " below this provider's scope"}
	}
	key := req.Key.Value.Reveal()

	x := p.poster.Begin(ctx, req.Endpoint)
	defer x.Close()
	h := upstream.Header(req.Header)
	h["X-Goog-Api-Key"] = []string{key}
	return x.Post(p.url, h, req.Body, key)
}

// ProviderEndpoints implements contract.ProviderEndpoints: the middleware
// routes /{provider}/v1alpha/auth_tokens to this Provider.
func (p *Provider) ProviderEndpoints() []contract.Endpoint {
	return []contract.Endpoint{contract.EndpointAuthToken}
}

// SecretFormat implements contract.SecretFormatter: tokens are named
// "auth_tokens/...", and presented in ?access_token= or as
// "Authorization: Token".
func (p *Provider) SecretFormat() contract.SecretFormat {
	return contract.SecretFormat{Prefix: TokenPrefix, AuthScheme: AuthScheme, QueryParam: QueryParam}
}
