package realtimesecret

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// liveCloseWait bounds ending a GPT-Live session over a sideband: the
// attach, session.close and the wait for session.closed.
const liveCloseWait = 5 * time.Second

var sessionCloseEvent = []byte(`{"type":"session.close"}`)

var (
	errNoSideband           = errors.New("realtimesecret: the adapter attaches no sideband")
	errLiveCloseUnconfirmed = errors.New("realtimesecret: the sideband closed without session.closed")
)

// endUpstream ends session id, recorded as rec, upstream with the key that
// created it. A GPT-Live session is closed the way the provider documents,
// with session.close sent on a sideband attach, when the adapter can attach
// one; if that fails, and for a call, the hang-up endpoint is used. A
// session the provider no longer knows counts as ended.
func (h *Handler) endUpstream(ctx context.Context, rec *Record, id string) error {
	if rec.Endpoint == contract.EndpointLiveSession {
		err := h.closeLive(ctx, rec, id)
		if err == nil {
			return nil
		}
		if !errors.Is(err, errNoSideband) {
			h.log.LogAttrs(ctx, warnLevel, "realtime session could not be closed on a sideband; hanging up instead",
				errAttr(err), slog.String("session_id", id))
		}
	}
	resp, err := h.sendHangup(ctx, rec, id, nil)
	if err == nil && (resp.StatusCode < 200 || resp.StatusCode > 299) && resp.StatusCode != http.StatusNotFound {
		err = upstreamStatusError(resp.StatusCode)
	}
	return err
}

// closeLive attaches a sideband to the GPT-Live session id, sends
// session.close and waits, within liveCloseWait, for session.closed.
func (h *Handler) closeLive(ctx context.Context, rec *Record, id string) error {
	p := h.providers[rec.Provider]
	if p == nil || p.watcher == nil {
		return errNoSideband
	}
	key := p.key(rec.KeyID)
	if key == nil {
		return errKeyNotConfigured
	}
	ctx, cancel := context.WithTimeout(ctx, liveCloseWait)
	defer cancel()
	sb, err := p.watcher.Watch(ctx, &contract.SessionRequest{Endpoint: contract.EndpointLiveSession, SessionID: id, Key: key})
	if errors.Is(err, contract.ErrSessionNotFound) {
		return nil
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
