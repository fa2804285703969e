package realtimesecret

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// Governance timings.
const (
	// capInterval is how often due caps are claimed: a cap ends its session
	// within this and the hang-up's round trip of its deadline.
	capInterval = 250 * time.Millisecond
	// claimBatch is how many due caps one claim takes.
	claimBatch = 64
	// endTimeout bounds the upstream end of a session the middleware ends
	// itself (a cap, a revocation).
	endTimeout = 10 * time.Second
	// defaultAdoptAfter is Config.AdoptAfter's default: how long a node
	// vouches for the sessions it meters, renewing every third of it.
	defaultAdoptAfter = 15 * time.Second
	// maxAdoptInterval bounds how often a node claims lapsed watches.
	maxAdoptInterval = time.Second
)

// governor holds the session limits of principals: the leases that count
// their concurrent sessions, the tracked sessions, the caps that end them
// at a deadline, and revocation. Its state is in the registry; it holds no
// pointer to the Handler, and ends a session through the functions it is
// given.
type governor struct {
	registry contract.SessionRegistry
	// local is set when registry is in-process, so every cap due here was
	// set here: the cap loop then runs only while a cap is pending. A
	// shared registry holds caps other nodes set, and is polled until
	// close.
	local bool
	// lookup returns the record of a session, to end it with the key that
	// created it.
	lookup func(ctx context.Context, id string) (Record, bool, error)
	// putRecord stores the record of a session, for one whose record the
	// store could not take when it was created.
	putRecord func(ctx context.Context, id string, rec Record) error
	// endUpstream ends a session upstream for the reason how.
	endUpstream func(ctx context.Context, rec *Record, id string, how UsageEnd) error
	now         func() time.Time
	log         *slog.Logger
	// failOpen admits a session without a lease when the registry does
	// not answer (Config.GovernanceFailOpen); otherwise it is refused.
	failOpen bool
	// pending holds sessions to write once the registry answers again.
	pending backlog
	// metered returns the sessions this node meters, whose watch it
	// renews; adopt meters a session whose watch lapsed. Both are used
	// with a shared registry only, and nil without metering.
	metered func() []contract.SessionRef
	adopt   func(ctx context.Context, s contract.TrackedSession)
	// watchTTL is how long a watch lasts (Config.AdoptAfter); it is
	// renewed every watchRenewal, and lapsed ones claimed every
	// adoptInterval.
	watchTTL, watchRenewal, adoptInterval time.Duration

	mu     sync.Mutex
	cancel context.CancelFunc // stops the cap loop; nil when none runs
	closed bool               // close was called: no loop starts again
	last   time.Time          // the latest deadline tracked here
	wg     sync.WaitGroup
}

// acquire takes a lease for one more session of p when it has fewer than
// its MaxSessions; without MaxSessions it takes none (""). A registry that
// cannot answer refuses the session (503 governance_unavailable), unless
// governance fails open, globally or for p: storeErr then says why the
// session has no lease.
func (g *governor) acquire(ctx context.Context, p Principal, expires time.Time) (lease string, e *Error, storeErr error) {
	if p.MaxSessions <= 0 {
		return "", nil, nil
	}
	lease = newLeaseID()
	ok, err := g.registry.Acquire(ctx, p.ID, lease, p.MaxSessions, expires)
	switch {
	case err != nil:
		if !g.failOpen && !p.GovernanceFailOpen {
			return "", governanceUnavailable(err), err
		}
		return "", nil, err
	case !ok:
		return "", tooManySessions(describe(p.Kind, p.ID)), nil
	}
	return lease, nil, nil
}

// release gives back a lease whose session was never created or has
// closed; "" is none.
func (g *governor) release(ctx context.Context, principal, lease string) {
	if lease == "" {
		return
	}
	if err := g.registry.Release(context.WithoutCancel(ctx), principal, lease); err != nil {
		g.log.LogAttrs(ctx, slog.LevelWarn, "realtime session lease could not be released", errAttr(err))
	}
}

// track records a created session for caps and revocation, and starts
// the cap loop when it has a deadline. A session admitted without the
// lease its principal's MaxSessions asks for (governance failed open) is
// unleased: a lease is taken for it now, beyond the limit if need be,
// since the session exists. unstored is its record when the store could
// not take it (nil when it did): it is stored again first, so that the
// session's end finds the key it was created with. What the registry
// cannot take is kept and written when it answers again; the error says
// so.
func (g *governor) track(ctx context.Context, s contract.TrackedSession, unleased bool, unstored *Record) error {
	if unleased {
		s.Lease = newLeaseID()
	}
	p := pendingSession{s: s, unleased: unleased, unstored: unstored}
	if err := g.write(ctx, p); err != nil {
		g.keep(ctx, p)
		return err
	}
	if !s.Deadline.IsZero() {
		g.startCaps(s.Deadline)
	}
	return nil
}

// ended forgets a session that ended by other means than the governor
// (a hang-up, its sideband's end) for how, and releases its lease.
func (g *governor) ended(ctx context.Context, principal, id string, how UsageEnd) error {
	_, err := g.registry.End(ctx, principal, id, string(how))
	return err
}

// endedAs returns how principal's session id ended, here or on another
// node; "" while it is live or when the registry does not know it.
func (g *governor) endedAs(ctx context.Context, principal, id string) (UsageEnd, error) {
	how, err := g.registry.Ended(ctx, principal, id)
	return UsageEnd(how), err
}

// endSession ends principal's session id upstream on the middleware's own
// initiative (UsageCap, UsageRevoked, UsageBudget). It reports whether this call
// ended it: a session that already ended, here or on another node, is left
// alone.
func (g *governor) endSession(ctx context.Context, principal, id string, how UsageEnd) (bool, error) {
	ended, err := g.registry.End(ctx, principal, id, string(how))
	if err != nil || !ended {
		return false, err
	}
	rec, found, err := g.lookup(ctx, id)
	if err != nil || !found {
		return true, err // forgotten already: nothing to end it with
	}
	err = g.endUpstream(ctx, &rec, id, how)
	level := slog.LevelInfo
	if err != nil {
		level = slog.LevelWarn
	}
	if g.log.Enabled(ctx, level) {
		attrs := []slog.Attr{slog.String("reason", string(how)), slog.String("session_id", id),
			slog.String("virtual_key_id", principal), slog.String("provider", rec.Provider), slog.String("key_id", rec.KeyID)}
		if err != nil {
			attrs = append(attrs, errAttr(err))
		}
		g.log.LogAttrs(ctx, level, "realtime session ended", attrs...)
	}
	return true, err
}

// revoke ends every live session of principal, a batch at a time side by
// side, and returns how many this call ended.
func (g *governor) revoke(ctx context.Context, principal string) (int, error) {
	return g.revokeAs(ctx, principal, UsageRevoked)
}

// revokeAs is revoke for the reason how (UsageRevoked, UsageBudget).
func (g *governor) revokeAs(ctx context.Context, principal string, how UsageEnd) (int, error) {
	ids, err := g.registry.Sessions(ctx, principal)
	if err != nil {
		return 0, err
	}
	var (
		mu   sync.Mutex
		n    int
		errs []error
	)
	for batch := range slices.Chunk(ids, claimBatch) {
		var wg sync.WaitGroup
		for _, id := range batch {
			wg.Go(func() {
				ended, err := g.endSession(ctx, principal, id, how)
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

// startCaps starts the cap loop unless it runs or the governor is closed.
// deadline is a cap tracked here: a local loop runs until it has passed.
func (g *governor) startCaps(deadline time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if deadline.After(g.last) {
		g.last = deadline
	}
	if g.cancel != nil || g.closed {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	g.cancel = cancel
	g.wg.Add(1)
	go g.runCaps(ctx)
}

// close stops the cap loop and waits for it. Caps not yet due are then
// enforced only by another node of a shared registry.
func (g *governor) close() {
	g.mu.Lock()
	g.closed = true
	if g.cancel != nil {
		g.cancel()
		g.cancel = nil
	}
	g.mu.Unlock()
	g.wg.Wait()
}

func (g *governor) runCaps(ctx context.Context) {
	defer g.wg.Done()
	tick := time.NewTicker(capInterval)
	defer tick.Stop()
	var renewed, adopted time.Time // of the real clock, as the ticker
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			g.flushPending(ctx)
			if g.watches() {
				if now.Sub(renewed) >= g.watchRenewal {
					renewed = now
					g.renewWatches(ctx)
				}
				if now.Sub(adopted) >= g.adoptInterval {
					adopted = now
					g.adoptUnwatched(ctx)
				}
			}
			if g.idle(g.enforceDueCaps(ctx)) {
				return
			}
		}
	}
}

// watches reports whether this node keeps watches: with a shared registry
// and metering. In process every meter lives and dies with the registry.
func (g *governor) watches() bool { return !g.local && g.metered != nil }

// watchUntil returns until when a watch renewed or claimed now lasts.
func (g *governor) watchUntil() time.Time { return g.now().Add(g.watchTTL) }

// renewWatches tells the registry this node still meters its sessions.
func (g *governor) renewWatches(ctx context.Context) {
	refs := g.metered()
	if len(refs) == 0 {
		return
	}
	if err := g.registry.Watch(ctx, refs, g.watchUntil()); err != nil {
		g.log.LogAttrs(ctx, slog.LevelWarn, "realtime session watches could not be renewed", errAttr(err))
	}
}

// adoptUnwatched meters the sessions whose metering node stopped.
func (g *governor) adoptUnwatched(ctx context.Context) {
	for ctx.Err() == nil {
		lapsed, err := g.registry.ClaimUnwatched(ctx, g.now(), g.watchUntil(), claimBatch)
		if err != nil {
			g.log.LogAttrs(ctx, slog.LevelWarn, "unwatched realtime sessions could not be claimed", errAttr(err))
			return
		}
		for _, s := range lapsed {
			g.adopt(ctx, s)
		}
		if len(lapsed) < claimBatch {
			return
		}
	}
}

// handOver lets the registry know at once that this node, stopping, no
// longer meters refs, so that another node adopts them without waiting
// for their watches to lapse.
func (g *governor) handOver(refs []contract.SessionRef) {
	if !g.watches() || len(refs) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), endTimeout)
	defer cancel()
	if err := g.registry.Watch(ctx, refs, g.now()); err != nil {
		g.log.LogAttrs(ctx, slog.LevelWarn, "realtime session watches could not be handed over", errAttr(err))
	}
}

// idle reports, for a local registry, that the claim at claimed covered
// every cap tracked here, and marks the loop stopped: the next capped
// session starts it again.
func (g *governor) idle(claimed time.Time) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.local || claimed.Before(g.last) || g.closed || !g.pending.empty() {
		return false
	}
	g.cancel()
	g.cancel = nil
	return true
}

// enforceDueCaps claims the caps that are due and ends their sessions. It
// returns the time of its last claim: every cap due by then has ended.
func (g *governor) enforceDueCaps(ctx context.Context) (claimed time.Time) {
	for ctx.Err() == nil {
		claimed = g.now()
		due, err := g.registry.ClaimDue(ctx, claimed, claimBatch)
		if err != nil {
			g.log.LogAttrs(ctx, slog.LevelWarn, "realtime session caps could not be claimed", errAttr(err))
			return time.Time{}
		}
		// A batch is ended at once: a Live session's end waits for its
		// session.closed, and one after another a burst of caps due
		// together would end late.
		var wg sync.WaitGroup
		for _, s := range due {
			wg.Go(func() {
				endCtx, cancel := context.WithTimeout(ctx, endTimeout)
				defer cancel()
				_, _ = g.endSession(endCtx, s.Principal, s.ID, UsageCap)
			})
		}
		wg.Wait()
		if len(due) < claimBatch {
			return claimed
		}
	}
	return time.Time{}
}

// write records p in the registry, with a lease taken first for a session
// admitted without one, then stores its record where the store did not
// take it. Each step is idempotent, so a failed write is tried again
// whole.
func (g *governor) write(ctx context.Context, p pendingSession) error {
	if p.unleased {
		if _, err := g.registry.Acquire(ctx, p.s.Principal, p.s.Lease, unlimited, p.s.Expires); err != nil {
			return err
		}
	}
	if err := g.registry.Track(ctx, p.s); err != nil {
		return err
	}
	if p.unstored != nil {
		return g.putRecord(ctx, p.s.ID, *p.unstored)
	}
	return nil
}

// keep puts p in the backlog, to be written by the cap loop.
func (g *governor) keep(ctx context.Context, p pendingSession) {
	if dropped := g.pending.add(p); dropped > 0 {
		g.log.LogAttrs(ctx, slog.LevelWarn, "realtime sessions given up: the registry has not answered for too long",
			slog.Int("sessions", dropped))
	}
	g.startCaps(p.s.Deadline)
}

// flushPending writes the backlog, in order, until the registry fails
// again. Sessions that expired meanwhile are dropped.
func (g *governor) flushPending(ctx context.Context) {
	items := g.pending.take()
	if len(items) == 0 {
		return
	}
	now := g.now()
	written := 0
	for i, p := range items {
		if !p.s.Expires.After(now) {
			continue
		}
		if err := g.write(ctx, p); err != nil {
			g.pending.putBack(items[i:])
			break
		}
		written++
	}
	if written > 0 {
		g.log.LogAttrs(ctx, slog.LevelInfo, "realtime sessions created while the registry did not answer are now governed",
			slog.Int("sessions", written))
	}
}

func newLeaseID() string {
	var raw [12]byte
	_, _ = rand.Read(raw[:])
	return "lease_" + hex.EncodeToString(raw[:])
}
