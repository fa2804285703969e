package realtimesecret

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// ekCalls governs the WebRTC calls a browser creates itself with a secret
// minted here: OpenAI's own flow, in which the app server mints an ek_ and
// the browser posts its SDP offer to {baseURL}/v1/realtime/calls with it.
//
// The offer goes on to next, as every redemption does: the app's proxy
// already carries the client's realtime traffic to the provider (Azure's
// regional WebRTC endpoint included, with the credential it expects), so
// the middleware needs no second way to reach the provider, only the
// answer's Location. Before next, the minting principal's lease is taken
// (429 too_many_sessions before anything is sent); after a 2xx the call is
// recorded for its owner's hang-up, tracked with its cap, and metered with
// the upstream key that minted the secret, as a brokered call is.
type ekCalls struct {
	vks      *virtualKeys // nil without virtual keys
	ps       *providers
	records  *records
	governor *governor
	meters   *meters
	budgets  *budgets
	lifetime time.Duration
	now      func() time.Time
	log      *slog.Logger
}

// serve passes r, a call created with the secret recorded as rec, to
// next under governance.
func (ec *ekCalls) serve(w http.ResponseWriter, r *http.Request, next http.Handler, rec Record) {
	ctx := r.Context()
	principal := ec.vks.principalOf(&rec) // the limits of whoever minted the secret
	if p := ec.ps.byName[rec.Provider]; p != nil {
		if e, _ := ec.budgets.check(ctx, &principal, p, rec.Model, "model"); e != nil {
			writeError(w, e)
			return
		}
	}
	lifetime := ec.lifetime
	if principal.MaxSession > 0 {
		lifetime = principal.MaxSession
	}
	lease, e, storeErr := ec.governor.acquire(ctx, principal, ec.now().Add(lifetime))
	if storeErr != nil {
		ec.log.LogAttrs(ctx, slog.LevelWarn, "realtime session lease could not be taken", errAttr(storeErr))
	}
	if e != nil {
		writeError(w, e)
		return
	}
	cw := &createdCall{ResponseWriter: w}
	next.ServeHTTP(cw, r)

	ctx = context.WithoutCancel(ctx) // the call exists whether or not its client is still here
	id, ok := cw.callID()
	if !ok {
		// A refusal created nothing; a gateway failure may have created a
		// call, which keeps its lease until it lapses, as a brokered one
		// does.
		if cw.status == http.StatusBadGateway || cw.status == http.StatusGatewayTimeout {
			return
		}
		ec.governor.release(ctx, principal.ID, lease)
		return
	}
	if err := ec.adopt(ctx, principal, lease, rec, id, lifetime); err != nil {
		ec.log.LogAttrs(ctx, slog.LevelWarn, "realtime call created with a minted secret could not be fully governed",
			errAttr(err), slog.String("session_id", id), slog.String("virtual_key_id", principal.ID))
	}
}

// adopt records, tracks and meters the call id a client created with the
// secret recorded as tokenRec.
func (ec *ekCalls) adopt(ctx context.Context, principal Principal, lease string, tokenRec Record, id string, lifetime time.Duration) error {
	tokenRec.Endpoint = contract.EndpointCall
	rec, tracked := governed(tokenRec, principal, id, lease, ec.now(), lifetime)
	var key *Key
	p := ec.ps.byName[rec.Provider]
	if p != nil && p.metered {
		key = p.key(rec.KeyID)
	}
	if key != nil {
		tracked.Watched = ec.governor.watchUntil()
	}
	var unstored *Record
	err := ec.records.putSession(ctx, id, rec)
	if err != nil {
		unstored = &rec
	}
	err = errors.Join(err, ec.governor.track(ctx, tracked, lease == "" && principal.MaxSessions > 0, unstored))
	if key != nil {
		ec.meters.start(p.watcher, key, id, &principal, rec)
	}
	return err
}

// createdCall is the ResponseWriter of a call's creation: it keeps the
// status and the Location the provider answered.
type createdCall struct {
	http.ResponseWriter
	status   int
	location string
}

func (c *createdCall) WriteHeader(status int) {
	if c.status == 0 {
		c.status = status
		c.location = headerValue(c.Header(), "Location")
	}
	c.ResponseWriter.WriteHeader(status)
}

func (c *createdCall) Write(p []byte) (int, error) {
	if c.status == 0 {
		c.WriteHeader(http.StatusOK)
	}
	return c.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the writer below.
func (c *createdCall) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// Flush passes a flush on, for proxies that stream.
func (c *createdCall) Flush() { flush(c.ResponseWriter) }

// callID returns the id of the call a 2xx answer created: the last segment
// of its Location.
func (c *createdCall) callID() (string, bool) {
	if !is2xx(c.status) {
		return "", false
	}
	return callIDOf(c.location)
}
