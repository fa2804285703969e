package contract

import (
	"context"
	"errors"
	"net/http"
)

// Provider mints client secrets at one upstream API. Adapters in
// github.com/realtimesecret/realtimesecret/adapters implement it; the
// middleware never imports them.
//
// Mint sends req.Body to the upstream endpoint for req.Endpoint, authenticated
// with req.Key, and returns the upstream reply whatever its status. It returns
// an error only when there is no reply to pass on; wrap one of ErrUpstreamTimeout,
// ErrUpstreamUnavailable or ErrUpstreamBadResponse so the middleware answers
// 504 or 502, or return an *Error to answer the client with that error
// (for example an endpoint the upstream does not serve). Errors must never
// contain the key.
type Provider interface {
	Mint(ctx context.Context, req *MintRequest) (*Reply, error)
}

// MintRequest is what the middleware asks a Provider to send upstream.
type MintRequest struct {
	// Endpoint is the kind of mint the client asked for.
	Endpoint Endpoint
	// Key is the upstream key chosen for this mint. Key.Value is the secret to
	// authenticate with.
	Key *Key
	// Body is the normalized JSON body to forward, owned by the Provider for
	// the duration of the call; it must not be modified.
	Body []byte
	// Header holds the client headers on the forwarding allowlist
	// (Config.ForwardHeaders). It never holds Authorization, cookies or the
	// virtual key header.
	Header http.Header
}

// Reply is an upstream reply, already decompressed: to a mint, a session
// creation or a hang-up.
type Reply struct {
	// StatusCode is the upstream HTTP status.
	StatusCode int
	// Header is the upstream response header. The middleware copies only safe
	// headers (x-request-id, openai-*, x-ratelimit-*) to the client.
	Header http.Header
	// Body is the complete upstream body.
	Body []byte
}

// Sentinel errors for Provider implementations. The middleware matches them
// with errors.Is.
var (
	// ErrUpstreamTimeout means the upstream did not answer in time (504).
	ErrUpstreamTimeout = errors.New("realtimesecret: upstream timed out")
	// ErrUpstreamUnavailable means the upstream could not be reached (502).
	ErrUpstreamUnavailable = errors.New("realtimesecret: upstream unavailable")
	// ErrUpstreamBadResponse means the upstream reply could not be used: too
	// large, a redirect, undecodable (502).
	ErrUpstreamBadResponse = errors.New("realtimesecret: bad upstream response")
)

// SessionBroker is implemented by Providers that can broker sessions
// : create a WebRTC call or a GPT-Live session upstream with a
// provider key, and hang one up. It is optional, the way http.Flusher is:
// the middleware checks for it with a type assertion, and answers a
// session request for a provider without it with 400
// "unsupported_endpoint".
//
// Session sends req upstream, authenticated with req.Key, to the path
// req.Endpoint.SessionPath(req.SessionID) below the provider's root, and
// returns the reply whatever its status, with its headers (the middleware
// reads Location and Content-Type, and passes on only safe ones). Errors
// follow Provider.Mint's rules.
type SessionBroker interface {
	Session(ctx context.Context, req *SessionRequest) (*Reply, error)
}

// SessionRequest is what the middleware asks a SessionBroker to send
// upstream.
type SessionRequest struct {
	// Endpoint is EndpointCall, EndpointLiveSession, EndpointCallHangup or
	// EndpointLiveSessionHangup.
	Endpoint Endpoint
	// SessionID is the call or session id of a hang-up; "" for a creation.
	SessionID string
	// Key is the upstream key to authenticate with: for a creation the one
	// chosen by policy, for a hang-up the one that created the session.
	Key *Key
	// ContentType is Body's media type with its parameters, for example
	// "multipart/form-data; boundary=..." for a call or "application/json"
	// for a Live session; "" when Body is empty (a hang-up).
	ContentType string
	// Body is the body to forward, owned by the SessionBroker for the
	// duration of the call; it must not be modified.
	Body []byte
	// Header holds the client headers on the forwarding allowlist, as in
	// MintRequest.
	Header http.Header
}
