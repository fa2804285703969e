package realtimesecret

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// capInterval is how often due caps are claimed: a cap ends its session
// within this and the hang-up's round trip of its deadline.
const capInterval = 250 * time.Millisecond

// claimBatch is how many due caps one claim takes.
const claimBatch = 64

// endTimeout bounds the upstream hang-up of a session the middleware ends
// itself (a cap, a revocation).
const endTimeout = 10 * time.Second

func newLeaseID() string {
	var raw [12]byte
	_, _ = rand.Read(raw[:])
	return "lease_" + hex.EncodeToString(raw[:])
}

func tooManySessions() *Error {
	return &Error{Status: http.StatusTooManyRequests, Type: typeRateLimit, Code: "too_many_sessions",
		Message: "the virtual key has as many concurrent sessions as it may; end one first"}
}

// acquireSession takes a lease for a brokered session of p, when p has
// MaxSessions. A registry that cannot answer fails open, as the rate limit
// does, unless the config is strict.
func (h *Handler) acquireSession(ctx context.Context, p Principal, expires time.Time, m *mint) (string, *Error) {
	if p.MaxSessions <= 0 {
		return "", nil
	}
	lease := newLeaseID()
	ok, err := h.registry.Acquire(ctx, p.ID, lease, p.MaxSessions, expires)
	switch {
	case err != nil:
		m.ev.StoreErr = err
		if h.strict {
			return "", storeUnavailable(err)
		}
		return "", nil
	case !ok:
		return "", tooManySessions()
	}
	return lease, nil
}

// releaseLease gives back a lease whose session was never created.
func (h *Handler) releaseLease(ctx context.Context, principal, lease string) {
	if lease == "" {
		return
	}
	if err := h.registry.Release(context.WithoutCancel(ctx), principal, lease); err != nil {
		h.log.LogAttrs(ctx, warnLevel, "realtime session lease could not be released", errAttr(err))
	}
}

// leaseWebSocket takes a lease for a WebSocket redemption of a virtual key
// with MaxSessions, and returns the release to call once the upgraded
// connection has closed (next has returned).
func (h *Handler) leaseWebSocket(r *http.Request) (func(), *Error) {
	if h.vks == nil || !isWebSocketUpgrade(r) {
		return nil, nil
	}
	rec, ok := FromContext(r.Context())
	if !ok {
		return nil, nil
	}
	vk := h.vks.byID[rec.VirtualKeyID]
	if vk == nil || vk.MaxSessions <= 0 {
		return nil, nil
	}
	lease := newLeaseID()
	acquired, err := h.registry.Acquire(r.Context(), vk.ID, lease, vk.MaxSessions, h.now().Add(h.sessionTTL))
	switch {
	case err != nil:
		h.log.LogAttrs(r.Context(), warnLevel, "realtime session lease could not be taken", errAttr(err))
		if h.strict {
			return nil, storeUnavailable(err)
		}
		return nil, nil
	case !acquired:
		return nil, tooManySessions()
	}
	return func() { h.releaseLease(r.Context(), vk.ID, lease) }, nil
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

// trackSession records a created session for caps and revocation.
func (h *Handler) trackSession(ctx context.Context, s contract.TrackedSession, m *mint) {
	if err := h.registry.Track(ctx, s); err != nil {
		m.ev.StoreErr = errors.Join(m.ev.StoreErr, err)
		return
	}
	if !s.Deadline.IsZero() {
		h.caps.start(h)
	}
}

// sendHangup sends the hang-up of session id, recorded as rec, upstream
// with the key that created it.
func (h *Handler) sendHangup(ctx context.Context, rec *Record, id string, header http.Header) (*contract.Reply, error) {
	p := h.providers[rec.Provider]
	var key *Key
	if p != nil {
		key = p.key(rec.KeyID)
	}
	if key == nil || p.broker == nil {
		return nil, errKeyNotConfigured
	}
	return p.broker.Session(ctx, &contract.SessionRequest{Endpoint: rec.Endpoint.Hangup(), SessionID: id, Key: key, Header: header})
}

var errKeyNotConfigured = errors.New("realtimesecret: the key that created the session is no longer configured")

// endSession ends principal's session id upstream on the middleware's own
// initiative (reason "cap" or "revoked"). It reports whether this call ended
// it: a session that already ended, here or on another node, is left alone.
func (h *Handler) endSession(ctx context.Context, principal, id, reason string) (bool, error) {
	ended, err := h.registry.End(ctx, principal, id)
	if err != nil || !ended {
		return false, err
	}
	rec, found, err := h.LookupSession(ctx, id)
	if err != nil || !found {
		return true, err // forgotten already: nothing to hang up with
	}
	ending := h.meters.ending(id, UsageEnd(reason))
	err = h.endUpstream(ctx, &rec, id)
	ending(err == nil)
	level := slog.LevelInfo
	if err != nil {
		level = warnLevel
	}
	if h.log.Enabled(ctx, level) {
		attrs := []slog.Attr{slog.String("reason", reason), slog.String("session_id", id),
			slog.String("virtual_key_id", principal), slog.String("provider", rec.Provider), slog.String("key_id", rec.KeyID)}
		if err != nil {
			attrs = append(attrs, errAttr(err))
		}
		h.log.LogAttrs(ctx, level, "realtime session ended", attrs...)
	}
	return true, err
}

// EndSessions ends every live brokered session of the virtual key (or
// Principal) id upstream, for revocation, and returns how many it ended.
// Sessions that end meanwhile by other means are not counted. The error
// joins the failures; sessions that could not be hung up upstream are
// counted as ended here (their leases are released) and reported in it.
func (h *Handler) EndSessions(ctx context.Context, virtualKeyID string) (int, error) {
	ids, err := h.registry.Sessions(ctx, virtualKeyID)
	if err != nil {
		return 0, err
	}
	// Ended side by side, as caps are (enforceDueCaps), a batch at a time.
	var (
		mu   sync.Mutex
		n    int
		errs []error
	)
	for batch := range slices.Chunk(ids, claimBatch) {
		var wg sync.WaitGroup
		for _, id := range batch {
			wg.Go(func() {
				ended, err := h.endSession(ctx, virtualKeyID, id, "revoked")
				mu.Lock()
				defer mu.Unlock()
				if ended {
					n++
				}
				if err != nil {
					errs = append(errs, err)
				}
			})
		}
		wg.Wait()
	}
	return n, errors.Join(errs...)
}

// Close stops the goroutine that enforces MaxSession caps, if one runs,
// and the usage metering of every session, and waits for them. Sessions
// keep their caps in a shared SessionRegistry, where another node enforces
// them; with the in-process registry, caps not yet due are no longer
// enforced. Each metered session reports what was counted so far, with
// UsageEvent.End UsageStopped unless its end was known; the sessions
// themselves go on. Close is safe to call more than once.
func (h *Handler) Close() error {
	h.caps.close()
	h.meters.close()
	return nil
}

// capEnforcer runs the goroutine that ends sessions whose cap is due. It
// starts with the first cap (or at New with a shared registry, whose caps
// other nodes set) and stops with Close.
type capEnforcer struct {
	mu     sync.Mutex
	closed bool
	cancel context.CancelFunc // nil until started
	done   chan struct{}
}

func (c *capEnforcer) start(h *Handler) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cancel != nil || c.closed {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel, c.done = cancel, make(chan struct{})
	go c.run(ctx, h)
}

func (c *capEnforcer) close() {
	c.mu.Lock()
	cancel, done := c.cancel, c.done
	c.closed = true
	c.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

func (c *capEnforcer) run(ctx context.Context, h *Handler) {
	defer close(c.done)
	tick := time.NewTicker(capInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			h.enforceDueCaps(ctx)
		}
	}
}

// enforceDueCaps claims the caps that are due and ends their sessions.
func (h *Handler) enforceDueCaps(ctx context.Context) {
	for ctx.Err() == nil {
		due, err := h.registry.ClaimDue(ctx, h.now(), claimBatch)
		if err != nil {
			h.log.LogAttrs(ctx, warnLevel, "realtime session caps could not be claimed", errAttr(err))
			return
		}
		// A batch is ended at once: a Live session's end waits for its
		// session.closed, and one after another a burst of caps due
		// together would end late.
		var wg sync.WaitGroup
		for _, s := range due {
			wg.Go(func() {
				endCtx, cancel := context.WithTimeout(ctx, endTimeout)
				defer cancel()
				_, _ = h.endSession(endCtx, s.Principal, s.ID, "cap")
			})
		}
		wg.Wait()
		if len(due) < claimBatch {
			return
		}
	}
}
