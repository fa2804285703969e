package azure

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/realtimesecret/realtimesecret/internal/upstream"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// Defaults applied by New to the zero fields of a Config.
const (
	// DefaultTimeout bounds one Mint call.
	DefaultTimeout = upstream.DefaultTimeout
	// DefaultMaxResponseBytes caps an upstream reply body.
	DefaultMaxResponseBytes = upstream.DefaultMaxResponseBytes
)

// Auth is how a Provider presents contract.Key.Value to Azure.
type Auth uint8

const (
	// AuthAPIKey sends Key.Value in the "api-key" header: a key of the
	// Azure OpenAI resource. It is the zero value.
	AuthAPIKey Auth = iota
	// AuthBearer sends "Authorization: Bearer <Key.Value>": a Microsoft
	// Entra ID access token obtained outside this process. Such tokens
	// expire within hours; prefer Config.TokenSource, which fetches them.
	AuthBearer
)

// TokenSource returns a Microsoft Entra ID access token for the Azure
// OpenAI resource (scope "https://cognitiveservices.azure.com/.default").
// It is called for every mint, within the mint's timeout, so it should
// cache: azidentity credentials do.
type TokenSource func(ctx context.Context) (string, error)

// Config configures a Provider. Endpoint is required.
type Config struct {
	// Endpoint is the resource's endpoint, for example
	// "https://my-resource.openai.azure.com". It must be an absolute http
	// or https URL without user info, query or fragment; a path is kept
	// (an API Management gateway may serve the resource below one).
	// Trailing slashes are ignored, and so is a final "/openai" or
	// "/openai/v1", because the v1 API is documented with its base URL
	// for the OpenAI SDKs ("https://my-resource.openai.azure.com/openai/v1/").
	Endpoint string

	// APIVersion is the preview api-version, for example
	// "2025-04-01-preview", that enables the beta session endpoint
	// (/v1/realtime/sessions) through Azure's legacy
	// /openai/realtimeapi/sessions. Empty means beta sessions are answered
	// 400. The GA endpoints are the versionless v1 API and never carry it.
	APIVersion string

	// Auth is how Key.Value authenticates. The zero value, AuthAPIKey,
	// sends it as the "api-key" header. Ignored when TokenSource is set.
	Auth Auth

	// TokenSource, if set, supplies a Microsoft Entra ID token for every
	// mint, sent as "Authorization: Bearer <token>"; Key.Value is then
	// not sent anywhere (the middleware still requires it to be non-empty:
	// set it to a label such as "entra-id"). A failing TokenSource fails
	// the mint with a 502 (504 if the timeout fired), its error text going
	// to the logs only.
	TokenSource TokenSource

	// Timeout bounds each Mint call, from fetching the token and sending
	// the request to reading the last byte of the reply. Zero means
	// DefaultTimeout; negative is an error.
	Timeout time.Duration

	// MaxResponseBytes caps the reply body, both as received and after
	// gzip decoding; a longer reply fails with
	// contract.ErrUpstreamBadResponse. Zero means
	// DefaultMaxResponseBytes; negative is an error.
	MaxResponseBytes int64

	// Client sends the requests. Nil means a client owned by the Provider,
	// whose transport is a clone of http.DefaultTransport that keeps up to
	// 256 idle connections to the resource. A given client is
	// shallow-copied, never modified. Either way redirects are never
	// followed: a 3xx reply fails with contract.ErrUpstreamBadResponse,
	// so the key is never sent to another location.
	Client *http.Client
}

// Provider mints client secrets at an Azure OpenAI resource. It is safe for
// concurrent use.
type Provider struct {
	poster      *upstream.Poster
	sessionRoot string   // {Endpoint}/openai, which the v1 session paths follow
	urls        []string // indexed by contract.Endpoint; "" = not served
	bearer      bool
	tokenSource TokenSource
}

var (
	_ contract.Provider      = (*Provider)(nil)
	_ contract.SessionBroker = (*Provider)(nil)
)

// New validates cfg and returns a Provider.
func New(cfg Config) (*Provider, error) {
	if cfg.Endpoint == "" {
		return nil, errors.New("azure: Endpoint is required, for example https://my-resource.openai.azure.com")
	}
	root, err := upstream.ParseBaseURL("Endpoint", cfg.Endpoint)
	if err != nil {
		return nil, fmt.Errorf("azure: %w", err)
	}
	if r, ok := strings.CutSuffix(root, "/openai/v1"); ok {
		root = r
	} else {
		root = strings.TrimSuffix(root, "/openai")
	}
	if !validAPIVersion(cfg.APIVersion) {
		return nil, errors.New("azure: APIVersion must be letters, digits, '-', '_' and '.', for example 2025-04-01-preview")
	}
	if cfg.Auth > AuthBearer {
		return nil, fmt.Errorf("azure: unknown Auth %d", cfg.Auth)
	}
	poster, err := upstream.New("azure", upstream.Options{
		Timeout:          cfg.Timeout,
		MaxResponseBytes: cfg.MaxResponseBytes,
		Client:           cfg.Client,
	})
	if err != nil {
		return nil, err
	}
	return &Provider{
		poster:      poster,
		sessionRoot: root + "/openai",
		urls:        endpointURLs(root, cfg.APIVersion),
		bearer:      cfg.Auth == AuthBearer,
		tokenSource: cfg.TokenSource,
	}, nil
}

// endpointURLs maps each endpoint Azure serves to its URL below root.
func endpointURLs(root, apiVersion string) []string {
	urls := make([]string, 0, len(contract.Endpoints())+1)
	for _, e := range contract.Endpoints() {
		for int(e) >= len(urls) {
			urls = append(urls, "")
		}
		switch e {
		case contract.EndpointClientSecret, contract.EndpointTranslation:
			// The v1 API mirrors OpenAI's paths below /openai.
			urls[e] = root + "/openai" + e.Path()
		case contract.EndpointSession:
			if apiVersion != "" {
				urls[e] = root + "/openai/realtimeapi/sessions?api-version=" + url.QueryEscape(apiVersion)
			}
		}
	}
	return urls
}

// validAPIVersion reports whether v is empty or a plausible api-version; it
// goes into a URL, so nothing else is let through.
func validAPIVersion(v string) bool {
	if len(v) > 64 {
		return false
	}
	for _, c := range []byte(v) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_', c == '.':
		default:
			return false
		}
	}
	return true
}

// Mint implements contract.Provider.
func (p *Provider) Mint(ctx context.Context, req *contract.MintRequest) (*contract.Reply, error) {
	if req == nil || req.Key == nil {
		return nil, errors.New("azure: mint request without a key")
	}
	var target string
	if int(req.Endpoint) < len(p.urls) {
		target = p.urls[req.Endpoint]
	}
	if target == "" {
		return nil, unsupported(req.Endpoint)
	}

	x := p.poster.Begin(ctx, req.Endpoint)
	defer x.Close()
	h := upstream.Header(req.Header)
	secret, err := p.authorize(&x, h, req.Key)
	if err != nil {
		return nil, err
	}
	return post(&x, target, h, req.Body, secret)
}

// post sends the request and rewrites a non-2xx reply into the OpenAI error
// shape (see the package documentation).
func post(x *upstream.Exchange, target string, h http.Header, body []byte, secret string) (*contract.Reply, error) {
	resp, err := x.Post(target, h, body, secret)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		resp.Body = mapError(resp.StatusCode, resp.Body, secret)
		resp.Header.Del("Content-Length")
		resp.Header.Set("Content-Type", "application/json")
	}
	return resp, nil
}

// errEmptyToken is the cause when a TokenSource returns no token and no
// error.
var errEmptyToken = errors.New("token source returned an empty token")

// authorize sets the credential header on h and returns the credential, to
// be kept out of errors and error bodies.
func (p *Provider) authorize(x *upstream.Exchange, h http.Header, key *contract.Key) (string, error) {
	if p.tokenSource != nil {
		token, err := p.tokenSource(x.Context())
		switch {
		case err != nil:
			return "", x.Fail(fmt.Errorf("token source: %w", err), token)
		case token == "":
			return "", x.Fail(errEmptyToken, "")
		}
		h["Authorization"] = []string{"Bearer " + token}
		return token, nil
	}
	secret := key.Value.Reveal()
	if p.bearer {
		h["Authorization"] = []string{"Bearer " + secret}
	} else {
		h["Api-Key"] = []string{secret}
	}
	return secret, nil
}
