package contract

import (
	"context"
	"errors"
	"net/url"
)

// SessionWatcher is implemented by Providers that can attach a sideband to
// a brokered session: a server-side WebSocket, authenticated with
// the provider key that created the session, on which the provider sends
// the session's server events (and accepts a few commands, such as a GPT-Live
// session.close). The middleware uses it for usage metering
// (Config.UsageMetering) and to end a GPT-Live session the way the provider
// documents. Like SessionBroker it is optional and found with a type
// assertion; adapters/openai and adapters/azure implement it.
//
// Watch opens one sideband to the session req.SessionID, of kind
// req.Endpoint (EndpointCall or EndpointLiveSession), with req.Key, at
// req.Endpoint.SidebandPath(req.SessionID) below the provider's root. A Live
// sideband must be an observer: closing it leaves the session running.
// ctx bounds opening only. Watch fails with an error wrapping
// ErrSessionNotFound when the provider does not know the session (it ended,
// or never existed), and otherwise follows Provider.Mint's rules (wrap
// ErrUpstreamTimeout or ErrUpstreamUnavailable; never the key in an error).
// The middleware reconnects by calling Watch again.
type SessionWatcher interface {
	Watch(ctx context.Context, req *SessionRequest) (Sideband, error)
}

// Sideband is one open sideband connection. Read and Write may be called
// concurrently with each other, and Close concurrently with both: it
// unblocks them.
type Sideband interface {
	// Read returns the next event, a JSON text message, in a slice the
	// caller owns. It fails with an error wrapping ErrSidebandClosed when
	// the provider closed the sideband normally (for a Realtime call, the
	// call ended); any other error is a dropped connection. Canceling ctx
	// may close the sideband.
	Read(ctx context.Context) ([]byte, error)
	// Write sends one JSON text message.
	Write(ctx context.Context, event []byte) error
	// Close closes the sideband, with a closing handshake bounded in time.
	// It does not end the session.
	Close() error
}

// Errors of SessionWatcher and Sideband implementations; the middleware
// matches them with errors.Is.
var (
	// ErrSessionNotFound means the provider does not know the session: it
	// ended, or never existed.
	ErrSessionNotFound = errors.New("realtimesecret: session not found upstream")
	// ErrSidebandClosed means the provider closed the sideband normally.
	ErrSidebandClosed = errors.New("realtimesecret: sideband closed by the upstream")
)

// sidebandPaths are the sideband paths of the two session kinds, before
// and after the escaped session id.
const (
	callSidebandPath = "/v1/realtime?call_id="
	liveSidebandPath = "/v1/live/sessions/"
	// graceful_close=false makes the attach an observer: closing it leaves
	// the session running (the OpenAI Go SDK's live/README.md).
	liveAttachSuffix = "/attach?graceful_close=false"
)

// SidebandPath returns the OpenAI path, with its query, of a sideband to
// the session id of kind e: "/v1/realtime?call_id={id}" for EndpointCall
// and "/v1/live/sessions/{id}/attach?graceful_close=false" for
// EndpointLiveSession (id escaped), and "" for every other endpoint.
// Azure serves the same paths below /openai.
func (e Endpoint) SidebandPath(id string) string {
	switch e {
	case EndpointCall:
		return callSidebandPath + url.QueryEscape(id)
	case EndpointLiveSession:
		return liveSidebandPath + url.PathEscape(id) + liveAttachSuffix
	}
	return ""
}
