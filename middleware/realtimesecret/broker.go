package realtimesecret

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/realtimesecret/realtimesecret/internal/jsonscan"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// capGrace keeps a capped session's record past its deadline, so that the
// node that ends it still finds the key it was created with.
const capGrace = time.Minute

// orphanHangupTimeout bounds the hang-up of a session created upstream
// whose record could not be stored in strict mode.
const orphanHangupTimeout = 10 * time.Second

// createSession is the forward, answer and record steps of a brokered
// session: it sends req with the chosen key, answers with the upstream's
// reply (Location rewritten to this server's path) and records the session
// id.
//
// A principal with MaxSessions takes a lease first (429 when they are all
// held), given back if no session comes of it; a created session is
// tracked, with its cap deadline when the principal has MaxSession.
func (h *Handler) createSession(w http.ResponseWriter, r *http.Request, rt route, p *provider, req *contract.SessionRequest,
	rec Record, principal Principal, m *mint) *Error {
	lifetime := h.sessionTTL
	if principal.MaxSession > 0 {
		lifetime = principal.MaxSession
	}
	lease, e := h.acquireSession(r.Context(), principal, h.now().Add(lifetime), m)
	if e != nil {
		return e
	}
	created := false
	defer func() {
		if !created {
			h.releaseLease(r.Context(), principal.ID, lease)
		}
	}()

	req.Header = h.forwardHeader(r.Header)
	upstreamStart := h.now()
	resp, err := p.broker.Session(r.Context(), req)
	m.ev.UpstreamDuration = h.now().Sub(upstreamStart)
	if err != nil {
		// The provider may have created the session before it failed to
		// answer: a retry would start a second paid one.
		noRetry(w)
		return h.upstreamError(r.Context(), err, m)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return h.answerUpstreamError(w, resp, m)
	}
	id, ok := createdID(rt.endpoint, resp)
	if !ok {
		noRetry(w)
		return &Error{Status: http.StatusBadGateway, Type: typeUpstream, Code: "invalid_upstream_response",
			Message: "the upstream provider answered without a " + sessionNoun(rt.endpoint) + " id"}
	}
	m.ev.SessionID = id
	rec.CreatedAt = h.now()
	rec.ExpiresAt = rec.CreatedAt.Add(lifetime)
	deadline := rec.ExpiresAt
	if principal.MaxSession > 0 {
		rec.ExpiresAt = rec.ExpiresAt.Add(capGrace) // the cap still finds the record
	}
	if err := h.store.Put(r.Context(), HashSessionID(id), rec); err != nil {
		m.ev.StoreErr = err
		if h.strict {
			h.hangUpOrphan(r.Context(), &rec, id, m)
			noRetry(w)
			return storeUnavailable(err)
		}
	}
	created = true
	tracked := contract.TrackedSession{ID: id, Principal: principal.ID, Lease: lease, Expires: rec.ExpiresAt}
	if principal.MaxSession > 0 {
		tracked.Deadline = deadline
	}
	h.trackSession(r.Context(), tracked, m)
	if p.metered {
		h.startMeter(p, req.Key, id, principal.ID, rec)
	}
	dst := w.Header()
	if rt.endpoint == contract.EndpointCall || headerValue(resp.Header, "Location") != "" {
		dst["Location"] = []string{rt.scope + rt.endpoint.Path() + "/" + id}
	}
	m.ev.Status = resp.StatusCode
	writeReply(w, resp, replyContentType(resp, rt.endpoint))
	return nil
}

// hangUpOrphan ends a session the client will never hear of, so that it is
// not billed until the provider times it out.
func (h *Handler) hangUpOrphan(ctx context.Context, rec *Record, id string, m *mint) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), orphanHangupTimeout)
	defer cancel()
	if err := h.endUpstream(ctx, rec, id); err != nil {
		m.ev.Err = err
		h.log.LogAttrs(ctx, warnLevel, "realtime session could not be hung up after a store failure",
			errAttr(err), slog.String("session_id", id))
	}
}

// answerUpstreamError answers an upstream non-2xx reply: an OpenAI-shaped
// error body is passed on with its status, anything else is wrapped.
func (h *Handler) answerUpstreamError(w http.ResponseWriter, resp *contract.Reply, m *mint) *Error {
	if !isOpenAIError(resp.Body) {
		return upstreamStatusError(resp.StatusCode)
	}
	m.ev.Status = resp.StatusCode
	writeUpstream(w, resp)
	return nil
}

// noRetry tells the official SDKs not to retry the request: they honour
// x-should-retry before their status-based retries.
func noRetry(w http.ResponseWriter) {
	w.Header()["X-Should-Retry"] = []string{"false"}
}

// createdID returns the id of the session an upstream 2xx created: the last
// segment of a call's Location, or a Live reply's session.id.
func createdID(ep Endpoint, resp *contract.Reply) (string, bool) {
	var id string
	if ep == contract.EndpointCall {
		loc := headerValue(resp.Header, "Location")
		if i := strings.IndexAny(loc, "?#"); i >= 0 {
			loc = loc[:i]
		}
		id = loc[strings.LastIndexByte(loc, '/')+1:]
	} else {
		id = liveSessionID(resp.Body)
	}
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

var (
	jsonContentType = []string{"application/json"}
	sdpContentType  = []string{"application/sdp"}
)

func sessionNoun(ep Endpoint) string {
	if ep.Creation() == contract.EndpointCall {
		return "call"
	}
	return "session"
}

// unsupportedEndpoint answers a session request for a provider whose
// adapter does not implement SessionBroker.
func unsupportedEndpoint(provider string) *Error {
	return badRequest("provider "+quote(provider)+" does not broker sessions", "", "unsupported_endpoint")
}
