package contract

import (
	"context"
	"time"
)

// SessionRegistry keeps what session governance needs to know across the
// requests of a session: the leases that count a principal's
// concurrent sessions, and the live brokered sessions with their cap
// deadlines. Implementations must be safe for concurrent use; a shared one
// (adapters/redisstore) makes limits, caps and revocation hold across
// nodes.
type SessionRegistry interface {
	Leases
	SessionTracker
}

// Leases counts a principal's concurrent sessions: brokered sessions and
// WebSocket redemptions through the middleware.
type Leases interface {
	// Acquire takes lease for principal when fewer than limit of its leases
	// are held, and reports whether it did. A lease lapses on its own at
	// expires, so a node that dies holding one does not hold it forever.
	Acquire(ctx context.Context, principal, lease string, limit int, expires time.Time) (bool, error)
	// Release gives lease back; a lease not held is no error.
	Release(ctx context.Context, principal, lease string) error
}

// SessionTracker keeps the live brokered sessions, for caps and
// revocation.
type SessionTracker interface {
	// Track records a live session until s.Expires.
	Track(ctx context.Context, s TrackedSession) error
	// End stops tracking principal's session id and releases its lease, in
	// one step, and reports whether this call ended it: of any number of
	// callers on any number of nodes, exactly one gets true. The one that
	// does records how the session ended ("hangup", "cap", ...), which
	// Ended returns until the session would have expired: every node then
	// reports the end alike, and answers a later hang-up without asking
	// the provider.
	End(ctx context.Context, principal, id, how string) (bool, error)
	// Ended returns how principal's session id ended, as its End recorded
	// it; "" while it is tracked, after it expired, or when it is unknown.
	Ended(ctx context.Context, principal, id string) (string, error)
	// Sessions returns the ids of principal's tracked sessions.
	Sessions(ctx context.Context, principal string) ([]string, error)
	// ClaimDue returns up to limit tracked sessions whose Deadline is at or
	// before now and clears their deadlines, so that each deadline is
	// claimed once, by one caller.
	ClaimDue(ctx context.Context, now time.Time, limit int) ([]TrackedSession, error)
	// Watch extends to until the watch of each of sessions that is still
	// tracked with one: the node that meters them says it still does.
	Watch(ctx context.Context, sessions []SessionRef, until time.Time) error
	// ClaimUnwatched returns up to limit tracked sessions whose watch
	// lapsed by now (the node that metered them stopped or died) and
	// extends their watch to until for the caller, so that each is adopted
	// by one caller, which meters it from then on or finds it over. They
	// are returned without their Deadline: ClaimDue claims caps.
	ClaimUnwatched(ctx context.Context, now, until time.Time, limit int) ([]TrackedSession, error)
}

// SessionRef names a principal's tracked session.
type SessionRef struct {
	Principal string
	ID        string
}

// TrackedSession is a live brokered session as a SessionTracker keeps it.
type TrackedSession struct {
	// ID is the call or session id.
	ID string
	// Principal is the VirtualKey or Principal ID that created it.
	Principal string
	// Lease is the lease it holds, "" when its principal has no
	// MaxSessions.
	Lease string
	// Deadline is when its cap ends it; zero for no cap.
	Deadline time.Time
	// Expires is when it is forgotten on its own: the record's ExpiresAt.
	Expires time.Time
	// Watched is until when the node that meters it vouches for it (see
	// Watch); zero for a session no node meters.
	Watched time.Time
}
