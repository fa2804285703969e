package realtimesecret

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/realtimesecret/realtimesecret/internal/jsonscan"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

const (
	// capGrace keeps a capped session's record past its deadline, so that
	// the node that ends it still finds the key it was created with.
	capGrace = time.Minute
	// orphanHangupTimeout bounds the hang-up of a session created upstream
	// whose record could not be stored in strict mode.
	orphanHangupTimeout = 10 * time.Second
)

// broker creates admitted sessions upstream and puts them under
// governance: a lease, a record, a tracked session with its cap, a meter.
type broker struct {
	records  *records
	governor *governor
	meters   *meters
	budgets  *budgets
	ender    *ender
	forward  forwardHeaders
	// lifetime is how long a session's record is kept without a cap
	// (Config.SessionLifetime).
	lifetime time.Duration
	now      func() time.Time
	log      *slog.Logger
	// strict fails a creation whose record cannot be stored (the session
	// is then hung up).
	strict bool
}

// create is the lease, provider, store and answer steps of a session
// creation: it sends the session with the chosen key, answers with the
// upstream's reply (Location rewritten to this server's path) and records
// the session id.
//
// A principal with MaxSessions takes a lease first (429 when they are all
// held), given back if no session comes of it; a created session is
// tracked, with its cap deadline when the principal has MaxSession.
func (b *broker) create(r *http.Request, adm *admitted, out *outcome) {
	ctx, principal, ep := r.Context(), adm.principal, adm.route.endpoint
	upstreamModel := resolveAlias(adm.key, adm.model)
	// A budget is checked before anything is held or sent.
	if e, storeErr := b.budgets.check(ctx, &principal, adm.provider, upstreamModel, adm.body.modelParam); e != nil || storeErr != nil {
		out.storeErr = storeErr
		if e != nil {
			out.fail(e)
			return
		}
	}
	lifetime := b.lifetime
	if principal.MaxSession > 0 {
		lifetime = principal.MaxSession
	}
	leaseExpires := b.now().Add(lifetime)
	lease, e, storeErr := b.governor.acquire(ctx, principal, leaseExpires)
	out.storeErr = errors.Join(out.storeErr, storeErr) // the ledger's, when it failed open
	if e != nil {
		out.fail(e)
		return
	}
	keepLease := false
	defer func() {
		if !keepLease {
			b.governor.release(ctx, principal.ID, lease)
		}
	}()

	req := sessionRequest(ep, adm.key, &adm.body, &adm.offer, upstreamModel)
	req.Header = b.forward.pick(r.Header)
	start := b.now()
	resp, err := adm.provider.broker.Session(ctx, req)
	out.upstream = b.now().Sub(start)
	if err != nil {
		// The provider may have created the session before it failed to
		// answer: a retry would start a second paid one, and its lease is
		// kept until it lapses (the session's lifetime), so that the
		// principal is never over its MaxSessions. An *Error is the
		// adapter's own refusal: nothing was created.
		out.cause = err
		out.fail(noRetry(upstreamFailure(ctx, err)))
		var refused *Error
		if lease != "" && !errors.As(err, &refused) {
			keepLease = true
			b.log.LogAttrs(ctx, slog.LevelWarn, "realtime session outcome unknown: its lease is kept until it lapses",
				slog.String("virtual_key_id", principal.ID), slog.Time("lease_expires", leaseExpires), errAttr(err))
		}
		return
	}
	if !is2xx(resp.StatusCode) {
		if out.reply, e = upstreamRefusal(resp); e != nil {
			out.fail(e)
		}
		return
	}
	id, ok := createdID(ep, resp)
	if !ok {
		out.fail(noRetry(&Error{Status: http.StatusBadGateway, Type: typeUpstream, Code: "invalid_upstream_response",
			Message: "the upstream provider answered without a " + sessionNoun(ep) + " id"}))
		return
	}
	out.sessionID = id
	rec, tracked := governed(adm.record(upstreamModel), principal, id, lease, b.now(), lifetime)
	if adm.provider.metered {
		tracked.Watched = b.governor.watchUntil()
	}
	var unstored *Record
	if err := b.records.putSession(ctx, id, rec); err != nil {
		out.storeErr = err
		if b.strict {
			out.cause = b.hangUpOrphan(ctx, &rec, id)
			out.fail(noRetry(storeUnavailable(err)))
			return
		}
		unstored = &rec
	}
	keepLease = true
	if err := b.governor.track(ctx, tracked, lease == "" && principal.MaxSessions > 0, unstored); err != nil {
		out.storeErr = errors.Join(out.storeErr, err)
	}
	if adm.provider.metered {
		b.meters.start(adm.provider.watcher, adm.key, id, &principal, rec)
	}
	out.reply = passOn(resp, replyContentType(resp, ep))
	if ep == contract.EndpointCall || headerValue(resp.Header, "Location") != "" {
		out.reply.location = adm.route.scope + ep.Path() + "/" + id
	}
}

// governed returns the record of session id, created at created by
// principal holding lease, and how the governor tracks it: kept for
// lifetime, or with MaxSession until its cap (the deadline) and capGrace
// after, so that the node that ends it still finds the key it was created
// with.
func governed(rec Record, principal Principal, id, lease string, created time.Time, lifetime time.Duration) (Record, contract.TrackedSession) {
	rec.CreatedAt = created
	rec.ExpiresAt = created.Add(lifetime)
	tracked := contract.TrackedSession{ID: id, Principal: principal.ID, Lease: lease, Expires: rec.ExpiresAt}
	if principal.MaxSession > 0 {
		tracked.Deadline = rec.ExpiresAt
		rec.ExpiresAt = rec.ExpiresAt.Add(capGrace)
		tracked.Expires = rec.ExpiresAt
	}
	return rec, tracked
}

// hangUpOrphan ends a session the client will never hear of, so that it is
// not billed until the provider times it out. It returns the failure, if
// any.
func (b *broker) hangUpOrphan(ctx context.Context, rec *Record, id string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), orphanHangupTimeout)
	defer cancel()
	err := b.ender.end(ctx, rec, id)
	if err != nil {
		b.log.LogAttrs(ctx, slog.LevelWarn, "realtime session could not be hung up after a store failure",
			errAttr(err), slog.String("session_id", id))
	}
	return err
}

// createdID returns the id of the session an upstream 2xx created: the last
// segment of a call's Location, or a Live reply's session.id.
func createdID(ep Endpoint, resp *contract.Reply) (string, bool) {
	if ep == contract.EndpointCall {
		return callIDOf(headerValue(resp.Header, "Location"))
	}
	id := liveSessionID(resp.Body)
	return id, validSessionID(id)
}

// callIDOf returns the call id a call's Location names: its last segment.
func callIDOf(location string) (string, bool) {
	if i := strings.IndexAny(location, "?#"); i >= 0 {
		location = location[:i]
	}
	id := location[strings.LastIndexByte(location, '/')+1:]
	return id, validSessionID(id)
}

var (
	sessionKey = []string{"session"}
	idKey      = []string{"id"}
)

// liveSessionID returns session.id of a Live reply, or "" when the reply
// has none, or repeats one of the two names (the client must read the id
// that was recorded).
func liveSessionID(body []byte) string {
	if !jsonscan.Valid(body) {
		return ""
	}
	root := jsonscan.Root(body)
	var s, id [1]jsonscan.Member
	if !jsonscan.IsObject(body, root) || jsonscan.Members(body, root, sessionKey, s[:]) != nil ||
		!s[0].Found() || !jsonscan.IsObject(body, s[0].Value) ||
		jsonscan.Members(body, s[0].Value, idKey, id[:]) != nil || !id[0].Found() {
		return ""
	}
	v, _ := jsonscan.String(body, id[0].Value)
	return v
}

// replyContentType is the Content-Type of a brokered session's reply: the
// upstream's (a call's SDP answer is application/sdp), else the endpoint's.
func replyContentType(resp *contract.Reply, ep Endpoint) []string {
	if ct := resp.Header.Values("Content-Type"); len(ct) > 0 {
		return ct[:1]
	}
	if ep == contract.EndpointCall {
		return sdpContentType
	}
	return jsonContentType
}

// sessionNoun names the sessions of ep in messages.
func sessionNoun(ep Endpoint) string {
	if ep.Creation() == contract.EndpointCall {
		return "call"
	}
	return "session"
}
