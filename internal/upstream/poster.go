package upstream

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// Defaults applied by New to the zero fields of Options.
const (
	// DefaultTimeout bounds one mint exchange.
	DefaultTimeout = 30 * time.Second
	// DefaultMaxResponseBytes caps an upstream reply body. Mint replies are
	// a few KiB; anything near this is not a mint reply.
	DefaultMaxResponseBytes int64 = 1 << 20
)

// Options are the HTTP settings every adapter Config has. The adapters
// document them for their users.
type Options struct {
	// Timeout bounds each exchange, from Begin to the last byte of the
	// reply. Zero means DefaultTimeout; negative is an error.
	Timeout time.Duration
	// MaxResponseBytes caps the reply body, as received and after gzip
	// decoding. Zero means DefaultMaxResponseBytes; negative is an error.
	MaxResponseBytes int64
	// Client sends the requests. Nil means a client with its own pooled
	// transport. A given client is shallow-copied, never modified. Either
	// way redirects are never followed.
	Client *http.Client
}

// Poster sends mint requests to one upstream. It is immutable after New
// and safe for concurrent use.
type Poster struct {
	name     string
	client   *http.Client
	direct   http.RoundTripper // client's transport, when client adds nothing to it
	timeout  time.Duration
	maxBytes int64

	sidebandPing, sidebandPong time.Duration // a sideband's keepalive (sideband.go)
}

// New validates o and returns a Poster. name (the adapter's package name,
// "openai") starts every error text.
func New(name string, o Options) (*Poster, error) {
	if o.Timeout < 0 {
		return nil, errors.New(name + ": Timeout " + o.Timeout.String() + " is negative")
	}
	if o.MaxResponseBytes < 0 {
		return nil, errors.New(name + ": MaxResponseBytes " + strconv.FormatInt(o.MaxResponseBytes, 10) + " is negative")
	}
	client := newClient(o.Client)
	p := &Poster{name: name, client: client, direct: directTransport(client), timeout: o.Timeout, maxBytes: o.MaxResponseBytes,
		sidebandPing: sidebandPing, sidebandPong: sidebandPong}
	if p.timeout == 0 {
		p.timeout = DefaultTimeout
	}
	if p.maxBytes == 0 {
		p.maxBytes = DefaultMaxResponseBytes
	}
	return p, nil
}

// Exchange is one mint call to the upstream: the caller's context and the
// same context bounded by the Poster's timeout. Everything the call does
// upstream, fetching a token included, runs under Context, so that one
// timeout covers it all.
type Exchange struct {
	p      *Poster
	ep     realtimesecret.Endpoint
	parent context.Context
	ctx    context.Context
	cancel context.CancelFunc
}

// Begin starts an exchange for endpoint ep; Close must be called when it is
// over.
func (p *Poster) Begin(ctx context.Context, ep realtimesecret.Endpoint) Exchange {
	bounded, cancel := context.WithTimeout(ctx, p.timeout)
	return Exchange{p: p, ep: ep, parent: ctx, ctx: bounded, cancel: cancel}
}

// Context is the caller's context bounded by the timeout.
func (x *Exchange) Context() context.Context { return x.ctx }

// Close releases the exchange's timer.
func (x *Exchange) Close() { x.cancel() }

// Fail turns the failure of a step of the exchange other than Post (for
// example fetching a token) into the error Mint returns: it wraps
// contract.ErrUpstreamTimeout when the timeout fired, the caller's
// context error when the caller gave up, and ErrUpstreamUnavailable
// otherwise. Its text never contains secret.
func (x *Exchange) Fail(cause error, secret string) error {
	return fail(classify(x.parent, x.ctx, cause), x.p.name, x.ep, cause, secret)
}

// Post sends body to url with header h and returns the reply, whatever its
// status, with a gzip body decoded. secret is the credential in h: no error
// text contains it, and the reply body has it replaced by Redacted. The errors wrap contract.ErrUpstreamTimeout (the
// timeout fired), ErrUpstreamUnavailable (no reply: connection, TLS or
// transport failure) or ErrUpstreamBadResponse (a redirect, a body over the
// cap, an unknown or corrupt encoding), or the caller's context error when
// the caller gave up first.
func (x *Exchange) Post(url string, h http.Header, body []byte, secret string) (*contract.Reply, error) {
	req, err := http.NewRequestWithContext(x.ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil { // the adapter built url from a checked base
		return nil, fail(contract.ErrUpstreamUnavailable, x.p.name, x.ep, err, secret)
	}
	req.ContentLength = int64(len(body))
	req.Header = h

	resp, err := x.p.do(req)
	if err != nil {
		return nil, x.Fail(err, secret)
	}
	defer resp.Body.Close()

	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		err := errors.New("redirect (status " + strconv.Itoa(resp.StatusCode) + ") not followed")
		return nil, fail(contract.ErrUpstreamBadResponse, x.p.name, x.ep, err, secret)
	}
	raw, err := readLimited(resp.Body, x.p.maxBytes, resp.ContentLength)
	if errors.Is(err, errTooLarge) {
		return nil, fail(contract.ErrUpstreamBadResponse, x.p.name, x.ep, tooLarge(x.p.maxBytes), secret)
	}
	if err != nil {
		return nil, x.Fail(err, secret)
	}
	out, err := decode(resp.Header, raw, x.p.maxBytes)
	if err != nil {
		return nil, fail(contract.ErrUpstreamBadResponse, x.p.name, x.ep, err, secret)
	}
	return &contract.Reply{StatusCode: resp.StatusCode, Header: resp.Header, Body: redactBytes(out, secret)}, nil
}

// do sends req through the client, or straight to its transport when the
// client would add nothing (directTransport).
func (p *Poster) do(req *http.Request) (*http.Response, error) {
	if p.direct != nil {
		return p.direct.RoundTrip(req)
	}
	return p.client.Do(req)
}

// redactBytes replaces secret wherever body holds it. A real upstream
// masks a wrong key it echoes, but a vendor or proxy in between may echo it
// whole, and the middleware passes replies through to the client.
func redactBytes(body []byte, secret string) []byte {
	if secret == "" || !bytes.Contains(body, []byte(secret)) {
		return body
	}
	return bytes.ReplaceAll(body, []byte(secret), []byte(Redacted))
}
