package openai

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
)

// Defaults applied by New to the zero fields of a Config.
const (
	// DefaultBaseURL is the OpenAI API.
	DefaultBaseURL = "https://api.openai.com"
	// DefaultTimeout bounds one Mint call.
	DefaultTimeout = 30 * time.Second
	// DefaultMaxResponseBytes caps an upstream reply body. Mint replies are a
	// few KiB; anything near this is not a mint reply.
	DefaultMaxResponseBytes int64 = 1 << 20
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
	// decoding; a longer reply fails with realtimesecret.ErrUpstreamBadResponse.
	// Zero means DefaultMaxResponseBytes; negative is an error.
	MaxResponseBytes int64

	// Client sends the requests. Nil means a client owned by the Provider,
	// whose transport is a clone of http.DefaultTransport that keeps up to
	// 256 idle connections to the upstream, since every mint goes to the
	// same host. A given client is shallow-copied, never modified; its
	// Transport, Jar and Timeout are used as they are. Either way redirects
	// are never followed: a 3xx reply fails with
	// realtimesecret.ErrUpstreamBadResponse, so the key is never sent to
	// another location.
	Client *http.Client
}

// Provider mints client secrets at the OpenAI API or an OpenAI-compatible
// vendor. It is safe for concurrent use.
type Provider struct {
	client   *http.Client
	urls     []string // indexed by realtimesecret.Endpoint; "" = not served
	timeout  time.Duration
	maxBytes int64
}

var _ realtimesecret.Provider = (*Provider)(nil)

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
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("openai: Timeout %v is negative", cfg.Timeout)
	}
	if cfg.MaxResponseBytes < 0 {
		return nil, fmt.Errorf("openai: MaxResponseBytes %d is negative", cfg.MaxResponseBytes)
	}
	p := &Provider{timeout: cfg.Timeout, maxBytes: cfg.MaxResponseBytes}
	if p.timeout == 0 {
		p.timeout = DefaultTimeout
	}
	if p.maxBytes == 0 {
		p.maxBytes = DefaultMaxResponseBytes
	}

	if cfg.Client != nil {
		c := *cfg.Client
		p.client = &c
	} else {
		p.client = &http.Client{Transport: newTransport()}
	}
	p.client.CheckRedirect = noRedirect

	for _, e := range realtimesecret.Endpoints() {
		for int(e) >= len(p.urls) {
			p.urls = append(p.urls, "")
		}
		p.urls[e] = root + e.Path()
	}
	return p, nil
}

func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

func newTransport() http.RoundTripper {
	var t *http.Transport
	if dt, ok := http.DefaultTransport.(*http.Transport); ok {
		t = dt.Clone()
	} else { // replaced by the program: keep the stdlib's defaults
		t = &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			ForceAttemptHTTP2:     true,
			TLSHandshakeTimeout:   10 * time.Second,
			ExpectContinueTimeout: time.Second,
		}
	}
	t.MaxIdleConns = 256
	t.MaxIdleConnsPerHost = 256
	t.IdleConnTimeout = 90 * time.Second
	return t
}

// parseBase returns base without trailing slashes or a final "/v1", ready
// for an endpoint path to be appended.
func parseBase(base string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		// url.Error quotes the input, which could hold credentials.
		return "", errors.New("openai: BaseURL is not a valid URL")
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", errors.New("openai: BaseURL must be an absolute http or https URL")
	case u.Host == "" || u.Opaque != "":
		return "", errors.New("openai: BaseURL has no host")
	case u.User != nil:
		return "", errors.New("openai: BaseURL must not hold user info; keys go in Key.Value")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(base, "#"):
		return "", errors.New("openai: BaseURL must not have a query or fragment")
	}
	path := strings.TrimRight(u.EscapedPath(), "/")
	path = strings.TrimSuffix(path, "/v1")
	return u.Scheme + "://" + u.Host + path, nil
}

// Mint implements realtimesecret.Provider.
func (p *Provider) Mint(ctx context.Context, req *realtimesecret.MintRequest) (*realtimesecret.MintResponse, error) {
	if req == nil || req.Key == nil {
		return nil, errors.New("openai: mint request without a key")
	}
	var target string
	if int(req.Endpoint) < len(p.urls) {
		target = p.urls[req.Endpoint]
	}
	if target == "" {
		return nil, &realtimesecret.Error{
			Status:  http.StatusBadRequest,
			Type:    "invalid_request_error",
			Code:    "unsupported_endpoint",
			Message: "this endpoint is not supported by the provider",
		}
	}
	key := req.Key.Value.Reveal()

	tctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	hreq, err := http.NewRequestWithContext(tctx, http.MethodPost, target, bytes.NewReader(req.Body))
	if err != nil { // the URL was checked at New
		return nil, p.fail(realtimesecret.ErrUpstreamUnavailable, req.Endpoint, err, key)
	}
	hreq.ContentLength = int64(len(req.Body))
	hreq.Header = outHeader(req.Header, key)

	resp, err := p.client.Do(hreq)
	if err != nil {
		return nil, p.fail(classify(ctx, tctx, err), req.Endpoint, err, key)
	}
	defer resp.Body.Close()

	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		err := errors.New("redirect (status " + strconv.Itoa(resp.StatusCode) + ") not followed")
		return nil, p.fail(realtimesecret.ErrUpstreamBadResponse, req.Endpoint, err, key)
	}
	raw, err := readLimited(resp.Body, p.maxBytes, resp.ContentLength)
	if errors.Is(err, errTooLarge) {
		return nil, p.fail(realtimesecret.ErrUpstreamBadResponse, req.Endpoint, p.tooLarge(), key)
	}
	if err != nil {
		return nil, p.fail(classify(ctx, tctx, err), req.Endpoint, err, key)
	}
	body, err := p.decode(resp.Header, raw)
	if err != nil {
		return nil, p.fail(realtimesecret.ErrUpstreamBadResponse, req.Endpoint, err, key)
	}
	return &realtimesecret.MintResponse{StatusCode: resp.StatusCode, Header: resp.Header, Body: redactKey(body, key)}, nil
}

// redactKey replaces the key wherever the reply body holds it. OpenAI masks
// most of a wrong key it echoes in a 401, but an OpenAI-compatible vendor or
// a proxy may echo it whole, and the middleware passes error bodies through
// to the client.
func redactKey(body []byte, key string) []byte {
	k := []byte(key)
	if len(k) == 0 || !bytes.Contains(body, k) {
		return body
	}
	return bytes.ReplaceAll(body, k, []byte("[REDACTED]"))
}

// outHeader builds the upstream request header. Forwarded headers come first
// and may not replace what authenticates or frames the request. The value
// slices are shared with in; nothing downstream modifies them.
func outHeader(in http.Header, key string) http.Header {
	h := make(http.Header, len(in)+3)
	for k, vs := range in {
		ck := http.CanonicalHeaderKey(k)
		switch ck {
		case "Authorization", "Proxy-Authorization", "Cookie", "Host",
			"Content-Type", "Content-Length", "Transfer-Encoding", "Trailer", "Te",
			"Connection", "Keep-Alive", "Proxy-Connection", "Upgrade",
			"Accept", "Accept-Encoding": // a forwarded encoding would stop the transport decoding gzip
			continue
		}
		if h[ck] == nil {
			h[ck] = vs
		} else {
			h[ck] = append(h[ck][:len(h[ck]):len(h[ck])], vs...)
		}
	}
	h["Authorization"] = []string{"Bearer " + key}
	h["Content-Type"] = []string{"application/json"}
	h["Accept"] = []string{"application/json"}
	return h
}

// classify picks the sentinel for a failed exchange. The caller's context
// is looked at first: its cancellation is not the upstream's fault, and our
// own deadline firing surfaces as many different transport errors.
func classify(ctx, tctx context.Context, err error) error {
	switch cerr := ctx.Err(); {
	case errors.Is(cerr, context.DeadlineExceeded):
		return errCallerDeadline
	case cerr != nil:
		return cerr
	case tctx.Err() != nil:
		return realtimesecret.ErrUpstreamTimeout
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() { // Client.Timeout, dial timeout
		return realtimesecret.ErrUpstreamTimeout
	}
	return realtimesecret.ErrUpstreamUnavailable
}

// errCallerDeadline matches both ErrUpstreamTimeout and
// context.DeadlineExceeded: the upstream did not answer within the time the
// caller had, and a client still waiting is best told so with a 504.
var errCallerDeadline = fmt.Errorf("%w: %w", realtimesecret.ErrUpstreamTimeout, context.DeadlineExceeded)

// mintError is a failed Mint. Its text is built once, with the key removed,
// so that no transport or upstream text can carry the key into a log.
type mintError struct {
	msg  string
	errs []error
}

func (e *mintError) Error() string   { return e.msg }
func (e *mintError) Unwrap() []error { return e.errs }

func (p *Provider) fail(kind error, ep realtimesecret.Endpoint, cause error, key string) error {
	msg := kind.Error() + ": openai " + ep.String() + ": " + cause.Error()
	if key != "" {
		msg = strings.ReplaceAll(msg, key, "[REDACTED]")
	}
	return &mintError{msg: msg, errs: []error{kind, cause}}
}

var errTooLarge = errors.New("response body too large")

func (p *Provider) tooLarge() error {
	return errors.New("response body larger than " + strconv.FormatInt(p.maxBytes, 10) + " bytes")
}

// readLimited reads r to EOF, or fails with errTooLarge once more than limit
// bytes arrive. hint, when it is a plausible length, sizes the buffer once.
func readLimited(r io.Reader, limit, hint int64) ([]byte, error) {
	if hint > limit {
		return nil, errTooLarge
	}
	size := int64(512)
	if hint >= 0 {
		size = hint + 1 // room to see EOF without growing
	}
	b := make([]byte, 0, min(size, limit+1))
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		room := b[len(b):cap(b)]
		if left := limit + 1 - int64(len(b)); int64(len(room)) > left {
			room = room[:left]
		}
		n, err := r.Read(room)
		b = b[:len(b)+n]
		if int64(len(b)) > limit {
			return nil, errTooLarge
		}
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// decode undoes a Content-Encoding the transport left in place: it decodes
// gzip itself only when it asked for it, and a forwarded or custom
// transport may not have.
func (p *Provider) decode(h http.Header, raw []byte) ([]byte, error) {
	ces := h.Values("Content-Encoding")
	if len(ces) == 0 {
		return raw, nil
	}
	ce := strings.TrimSpace(ces[0])
	switch {
	case len(ces) > 1 || strings.Contains(ce, ","):
		return nil, errors.New("unsupported content encoding")
	case ce == "" || strings.EqualFold(ce, "identity"):
		return raw, nil
	case !strings.EqualFold(ce, "gzip") && !strings.EqualFold(ce, "x-gzip"):
		return nil, errors.New("unsupported content encoding " + strconv.Quote(ce))
	}
	h.Del("Content-Encoding")
	h.Del("Content-Length")
	if len(raw) == 0 {
		return raw, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	body, err := readLimited(zr, p.maxBytes, min(int64(len(raw))*4, p.maxBytes))
	if errors.Is(err, errTooLarge) {
		return nil, p.tooLarge()
	}
	if err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	return body, nil
}
