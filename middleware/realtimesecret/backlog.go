package realtimesecret

import (
	"sync"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// maxBacklog bounds the sessions a node keeps for a registry that does not
// answer; beyond it the oldest are given up (and logged), so that a long
// outage cannot grow the process without bound.
const maxBacklog = 10_000

// unlimited is the limit a lease is taken with for a session that exists
// upstream already: it must be counted, even beyond its principal's
// MaxSessions.
const unlimited = 1 << 30

// backlog holds the sessions the governor could not write to its registry
// when they were created: admitted while governance failed open (without
// a lease), or created while the registry failed. They are written when
// the registry answers again, so that they count against their
// principal's MaxSessions, are capped (a cap due during the outage fires
// then) and can be revoked.
type backlog struct {
	mu    sync.Mutex
	items []pendingSession
}

// pendingSession is a session to write: s, whether a lease must be taken
// for it first (it was admitted without one), and its record when the
// store did not take it either.
type pendingSession struct {
	s        contract.TrackedSession
	unleased bool
	unstored *Record
}

// add keeps p, and reports how many sessions were given up for it.
func (b *backlog) add(p pendingSession) (dropped int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.items) >= maxBacklog {
		dropped = len(b.items) - maxBacklog + 1
		b.items = b.items[dropped:]
	}
	b.items = append(b.items, p)
	return dropped
}

// take returns the sessions kept and empties the backlog.
func (b *backlog) take() []pendingSession {
	b.mu.Lock()
	defer b.mu.Unlock()
	items := b.items
	b.items = nil
	return items
}

// putBack returns items take gave, before any added since.
func (b *backlog) putBack(items []pendingSession) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.items = append(items, b.items...)
}

func (b *backlog) empty() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.items) == 0
}
