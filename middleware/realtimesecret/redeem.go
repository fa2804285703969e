package realtimesecret

import (
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/internal/recordctx"
)

// redeemer attributes pass-through requests: those that carry a minted
// token, and those that name a brokered session. It counts WebSocket
// redemptions against the MaxSessions of the principal that minted the
// token: a virtual key's as configured, any other's as recorded.
type redeemer struct {
	records  *records
	vks      *virtualKeys // nil without virtual keys
	governor *governor
	// lifetime bounds a WebSocket lease, for a node that dies holding one.
	lifetime time.Duration
	now      func() time.Time
	log      *slog.Logger
	onRedeem func(RedeemEvent) // nil: none
}

// redeem looks the token up and returns r with its record in the context
// when found; the request is otherwise unchanged, except that a sealed
// token is replaced by the upstream token it seals, returned as unsealed
// ("" for any other token) so that the answer is resealed (sealedecho.go).
// A WebSocket upgrade of a virtual key with MaxSessions takes a lease, and
// release (nil when it took none) gives it back once the connection has
// closed. A sealed token that does not open, or a lease refused, is
// answered with the error.
func (rd *redeemer) redeem(r *http.Request, token string) (_ *http.Request, unsealed string, release func(), _ *Error) {
	rs := rd.records
	if rs.sealer != nil && strings.HasPrefix(token, sealedPrefix) {
		upstream, rec, err := rs.sealer.open(token, rd.now())
		if err != nil {
			rd.report(RedeemEvent{Request: r, Err: err})
			return nil, "", nil, &Error{Status: http.StatusUnauthorized, Type: typeAuthentication, Code: "invalid_client_secret",
				Message: "the client secret is expired or not valid", Err: err}
		}
		if e := rd.useOnce(r, token, &rec); e != nil {
			rd.report(RedeemEvent{Request: r, Record: rec, Found: true, Err: e})
			return nil, "", nil, e
		}
		r = r.WithContext(recordctx.With(r.Context(), &rec))
		r.Header = replaceToken(r.Header, token, upstream)
		unsealed = upstream
		rd.report(RedeemEvent{Request: r, Record: rec, Found: true})
	} else {
		rec, found, err := rs.token(r.Context(), token)
		if err != nil {
			rd.log.LogAttrs(r.Context(), slog.LevelWarn, "realtime redemption lookup failed", errAttr(err))
		}
		if found {
			if e := rd.useOnce(r, token, &rec); e != nil {
				rd.report(RedeemEvent{Request: r, Record: rec, Found: true, Err: e})
				return nil, "", nil, e
			}
			r = r.WithContext(recordctx.With(r.Context(), &rec))
		}
		rd.report(RedeemEvent{Request: r, Record: rec, Found: found, Err: err})
	}
	release, e := rd.leaseWebSocket(r)
	return r, unsealed, release, e
}

// attribute puts the record of the session m names in r's context, as
// redeem does for a token, and reports the redemption. A session created
// by another endpoint than m's route creates (a Live session id in
// ?call_id=), or by another provider than the one the path is scoped to,
// is not the one the request names: it is not found, as on a hang-up.
func (rd *redeemer) attribute(r *http.Request, m match) *http.Request {
	rec, found, err := rd.records.session(r.Context(), m.id)
	if err != nil {
		rd.log.LogAttrs(r.Context(), slog.LevelWarn, "realtime session lookup failed", errAttr(err))
	}
	if found && (rec.Endpoint != m.route.endpoint || m.route.provider != nil && rec.Provider != m.route.provider.name) {
		rec, found = Record{}, false
	}
	if found {
		r = r.WithContext(recordctx.With(r.Context(), &rec))
	}
	rd.report(RedeemEvent{Request: r, Record: rec, Found: found, Err: err})
	return r
}

func (rd *redeemer) report(ev RedeemEvent) {
	if rd.onRedeem != nil {
		rd.onRedeem(ev)
	}
}

// leaseWebSocket takes a lease for a WebSocket redemption of a token whose
// principal has MaxSessions, and returns the release to call once the
// upgraded connection has closed (next has returned).
func (rd *redeemer) leaseWebSocket(r *http.Request) (func(), *Error) {
	if !isWebSocketUpgrade(r) {
		return nil, nil
	}
	rec, ok := recordctx.From(r.Context())
	if !ok {
		return nil, nil
	}
	p := rd.vks.principalOf(&rec)
	if p.MaxSessions <= 0 {
		return nil, nil
	}
	lease, e, storeErr := rd.governor.acquire(r.Context(), p, rd.now().Add(rd.lifetime))
	if storeErr != nil {
		rd.log.LogAttrs(r.Context(), slog.LevelWarn, "realtime session lease could not be taken", errAttr(storeErr))
	}
	if e != nil || lease == "" {
		return nil, e
	}
	return func() { rd.governor.release(r.Context(), p.ID, lease) }, nil
}

// useOnce lets the first redemption of a single-use token pass, and
// refuses every later one (401), and one whose use cannot be marked (503:
// a second use must never pass because the store was down).
func (rd *redeemer) useOnce(r *http.Request, token string, rec *Record) *Error {
	if !rec.SingleUse {
		return nil
	}
	first, err := rd.records.markUsed(r.Context(), token, rec.ExpiresAt)
	switch {
	case err != nil:
		rd.log.LogAttrs(r.Context(), slog.LevelWarn, "realtime single-use mark failed", errAttr(err))
		return storeUnavailable(err)
	case !first:
		return &Error{Status: http.StatusUnauthorized, Type: typeAuthentication, Code: "client_secret_used",
			Message: "the client secret was minted for a single use, and has been used"}
	}
	return nil
}

// isWebSocketUpgrade reports whether r asks to open a WebSocket.
func isWebSocketUpgrade(r *http.Request) bool {
	if r.Method == http.MethodConnect { // RFC 8441, over HTTP/2
		return true
	}
	for _, v := range r.Header["Upgrade"] {
		if strings.EqualFold(strings.TrimSpace(v), "websocket") {
			return true
		}
	}
	return false
}

// replaceToken returns a copy of header with the sealed token replaced by
// the upstream one wherever redemption reads it.
func replaceToken(header http.Header, sealed, upstream string) http.Header {
	out := header.Clone()
	for _, name := range [...]string{"Authorization", "Sec-Websocket-Protocol"} {
		for i, v := range out[name] {
			out[name][i] = strings.ReplaceAll(v, sealed, upstream)
		}
	}
	return out
}
