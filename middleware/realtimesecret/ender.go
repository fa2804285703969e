package realtimesecret

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// liveCloseWait bounds ending a GPT-Live session over a sideband: the
// attach, session.close and the wait for session.closed.
const liveCloseWait = 5 * time.Second

var (
	sessionCloseEvent = []byte(`{"type":"session.close"}`)
	typeSessionClosed = []byte(`"session.closed"`)
)

var (
	errKeyNotConfigured     = errors.New("realtimesecret: the key that created the session is no longer configured")
	errSessionGone          = errors.New("realtimesecret: the provider no longer knows the session")
	errNoSideband           = errors.New("realtimesecret: the adapter attaches no sideband")
	errLiveCloseUnconfirmed = errors.New("realtimesecret: the sideband closed without session.closed")
)

// ender ends brokered sessions upstream, with the key that created each.
type ender struct {
	providers *providers
	log       *slog.Logger
}

// hangup sends the hang-up of session id, recorded as rec, upstream.
func (en *ender) hangup(ctx context.Context, rec *Record, id string, header http.Header) (*contract.Reply, error) {
	p, key := en.creator(rec)
	if key == nil || p.broker == nil {
		return nil, errKeyNotConfigured
	}
	return p.broker.Session(ctx, &contract.SessionRequest{Endpoint: rec.Endpoint.Hangup(), SessionID: id, Key: key, Header: header})
}

// creator returns the provider and key that created a session; key is
// nil when either is no longer configured.
func (en *ender) creator(rec *Record) (*provider, *Key) {
	p := en.providers.byName[rec.Provider]
	if p == nil {
		return nil, nil
	}
	return p, p.key(rec.KeyID)
}

// end ends session id, recorded as rec, on the middleware's own
// initiative (a cap, a revocation, an orphan). A session the provider no
// longer knows counts as ended.
func (en *ender) end(ctx context.Context, rec *Record, id string) error {
	resp, err := en.endAsDocumented(ctx, rec, id, nil)
	if err == nil && !is2xx(resp.StatusCode) && resp.StatusCode != http.StatusNotFound {
		err = errors.New("realtimesecret: the upstream provider answered with status " + strconv.Itoa(resp.StatusCode))
	}
	return err
}

// endAsDocumented ends session id the way the provider documents it, and
// returns the provider's answer (header goes with a hang-up). A GPT-Live
// session brokered here is a WebRTC one, which OpenAI ends with
// session.close sent on a sideband attach (its hang-up endpoint is for
// SIP sessions): that is tried first when the adapter can attach one, and
// answered 200, or 404 when the provider no longer knows the session. If
// it fails, and for a call, the hang-up endpoint is used.
func (en *ender) endAsDocumented(ctx context.Context, rec *Record, id string, header http.Header) (*contract.Reply, error) {
	if rec.Endpoint == contract.EndpointLiveSession {
		switch err := en.closeLive(ctx, rec, id); {
		case err == nil:
			return &contract.Reply{StatusCode: http.StatusOK}, nil
		case errors.Is(err, errSessionGone):
			return &contract.Reply{StatusCode: http.StatusNotFound, Body: sessionGoneBody}, nil
		case !errors.Is(err, errNoSideband):
			en.log.LogAttrs(ctx, slog.LevelWarn, "realtime session could not be closed on a sideband; hanging up instead",
				errAttr(err), slog.String("session_id", id))
		}
	}
	return en.hangup(ctx, rec, id, header)
}

// sessionGoneBody answers a hang-up of a Live session the provider no
// longer knows, as the provider's hang-up endpoint would.
var sessionGoneBody = []byte(`{"error":{"message":"the session is not known to the provider: it has ended","type":"invalid_request_error","param":null,"code":"session_not_found"}}`)

// closeLive attaches a sideband to the GPT-Live session id, sends
// session.close and waits, within liveCloseWait, for session.closed. It
// fails with errSessionGone when the provider no longer knows the session.
func (en *ender) closeLive(ctx context.Context, rec *Record, id string) error {
	p, key := en.creator(rec)
	switch {
	case p == nil || p.watcher == nil:
		return errNoSideband
	case key == nil:
		return errKeyNotConfigured
	}
	ctx, cancel := context.WithTimeout(ctx, liveCloseWait)
	defer cancel()
	sb, err := p.watcher.Watch(ctx, &contract.SessionRequest{Endpoint: contract.EndpointLiveSession, SessionID: id, Key: key})
	if errors.Is(err, contract.ErrSessionNotFound) {
		return errSessionGone
	}
	if err != nil {
		return err
	}
	defer func() { _ = sb.Close() }()
	if err := sb.Write(ctx, sessionCloseEvent); err != nil {
		return err
	}
	for {
		event, err := sb.Read(ctx)
		switch {
		case errors.Is(err, contract.ErrSidebandClosed):
			return errLiveCloseUnconfirmed
		case err != nil:
			return err
		case isSessionClosed(event):
			return nil
		}
	}
}

// isSessionClosed reports whether event is a GPT-Live session.closed.
func isSessionClosed(event []byte) bool {
	if !bytes.Contains(event, typeSessionClosed) {
		return false
	}
	var ev struct {
		Type string `json:"type"`
	}
	return json.Unmarshal(event, &ev) == nil && ev.Type == "session.closed"
}
