package realtimesecret

import (
	"errors"
	"net/http"
	"time"
)

// hangups ends brokered sessions on their owner's request.
type hangups struct {
	callers  *callers
	records  *records
	governor *governor
	meters   *meters
	ender    *ender
	forward  forwardHeaders
	now      func() time.Time
	inflight inflight
}

// hangup ends the session id upstream. The caller is authenticated as for
// a mint; the session must be known here (404, nothing sent upstream) and
// belong to the caller's principal (403); the session is ended the way
// the provider documents (a Live session with session.close, a call with
// its hang-up endpoint) with the key that created it. A session known to
// have ended (here or on another node, by a hang-up, a cap, or the
// provider no longer knowing it) is answered here, 404 session_ended,
// and concurrent hang-ups of one session send one request upstream. It
// is not rate limited: refusing it would keep a paid session running.
func (hg *hangups) hangup(r *http.Request, rt route, id string, out *outcome) {
	ctx := r.Context()
	out.sessionID = id
	principal, e := hg.callers.authorize(r, nil, Intent{Provider: out.provider, Endpoint: rt.endpoint})
	out.principal = principal.ID // known on a 403 too, once the key was identified
	out.principalKind, out.policy, out.tokenID = principal.Kind, principal.Policy, principal.TokenID
	if e != nil {
		out.fail(e)
		return
	}
	rec, found, err := hg.records.session(ctx, id)
	if err != nil {
		out.storeErr = err
		out.fail(storeUnavailable(err))
		return
	}
	created := rt.endpoint.Creation()
	if !found || rec.Endpoint != created || (rt.provider != nil && rec.Provider != rt.provider.name) {
		out.fail(&Error{Status: http.StatusNotFound, Type: typeInvalidRequest, Param: "id", Code: "session_not_found",
			Message: "no brokered " + sessionNoun(created) + " " + quote(id) + " is known here"})
		return
	}
	out.provider, out.model, out.keyID = rec.Provider, rec.Model, rec.KeyID
	if rec.VirtualKeyID != principal.ID {
		out.fail(&Error{Status: http.StatusForbidden, Type: typePermission, Code: "session_not_owned",
			Message: "the " + sessionNoun(created) + " was created by another caller"})
		return
	}
	leave, err := hg.inflight.enter(ctx, id)
	if err != nil {
		out.fail(upstreamFailure(ctx, err))
		return
	}
	defer leave()
	how, err := hg.governor.endedAs(ctx, rec.VirtualKeyID, id)
	if err != nil {
		out.storeErr = err // the provider is asked instead
	}
	if how != "" {
		out.fail(&Error{Status: http.StatusNotFound, Type: typeInvalidRequest, Param: "id", Code: "session_ended",
			Message: "the " + sessionNoun(created) + " " + quote(id) + " has ended (" + string(how) + ")"})
		return
	}
	start := hg.now()
	done := hg.meters.ending(id, UsageHangup)
	resp, err := hg.ender.endAsDocumented(ctx, &rec, id, hg.forward.pick(r.Header))
	out.upstream = hg.now().Sub(start)
	// A 404 is the provider saying the session is over already: it ends
	// here too.
	over := err == nil && (is2xx(resp.StatusCode) || resp.StatusCode == http.StatusNotFound)
	done(over)
	switch {
	case errors.Is(err, errKeyNotConfigured):
		out.cause = err
		out.fail(&Error{Status: http.StatusConflict, Type: typeInvalidRequest, Code: "key_not_configured",
			Message: "the upstream key that created the " + sessionNoun(created) + " is no longer configured"})
		return
	case err != nil:
		out.cause = err
		out.fail(upstreamFailure(ctx, err))
		return
	}
	// The session has ended: its lease is free and no cap is left to
	// enforce.
	if over {
		how := UsageHangup
		if !is2xx(resp.StatusCode) {
			how = UsageEnded
		}
		if err := hg.governor.ended(ctx, rec.VirtualKeyID, id, how); err != nil {
			out.storeErr = err
		}
	}
	if !is2xx(resp.StatusCode) {
		if out.reply, e = upstreamRefusal(resp); e != nil {
			out.fail(e)
		}
		return
	}
	out.reply = passOn(resp, replyContentType(resp, rt.endpoint))
}
