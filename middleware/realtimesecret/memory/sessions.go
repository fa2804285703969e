package memory

import (
	"container/heap"
	"context"
	"sync"
	"time"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// SessionRegistry is an in-process contract.SessionRegistry, the one the
// middleware uses when Config.SessionRegistry is nil and the Store is not one: limits, caps and
// revocation then hold for this process only. It is also a
// contract.SpendLedger, which keeps budgets for this process.
type SessionRegistry struct {
	mu       sync.Mutex
	leases   map[string]map[string]time.Time               // principal -> lease -> expires
	sessions map[string]map[string]contract.TrackedSession // principal -> id -> session
	// ended holds how each ended session ended, until it would have
	// expired.
	ended map[sessionRef]endedSession
	// watches holds until when the node that meters each metered session
	// vouches for it.
	watches   map[sessionRef]time.Time
	deadlines deadlineHeap
	// expiries holds when each tracked session lapses, soonest first, so
	// that Track forgets the lapsed ones without scanning the live ones.
	expiries deadlineHeap
	// spend is its SpendLedger (spend.go), under a lock of its own.
	spend spendBook
}

var _ contract.SessionRegistry = (*SessionRegistry)(nil)

// NewSessionRegistry returns an empty SessionRegistry.
func NewSessionRegistry() *SessionRegistry {
	return &SessionRegistry{
		leases:   make(map[string]map[string]time.Time),
		sessions: make(map[string]map[string]contract.TrackedSession),
		ended:    make(map[sessionRef]endedSession),
		watches:  make(map[sessionRef]time.Time),
	}
}

// sessionRef names a principal's session.
type sessionRef struct{ principal, id string }

// endedSession is how a session ended, remembered until expires.
type endedSession struct {
	how     string
	expires time.Time
}

// Acquire implements Leases. Expired leases of principal are dropped when
// its leases are full, so a steady acquire and release allocates nothing.
func (m *SessionRegistry) Acquire(_ context.Context, principal, lease string, limit int, expires time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	held := m.leases[principal]
	if held == nil {
		held = make(map[string]time.Time)
		m.leases[principal] = held
	}
	if _, ok := held[lease]; ok {
		held[lease] = expires
		return true, nil
	}
	if len(held) >= limit {
		now := time.Now()
		for l, at := range held {
			if !now.Before(at) {
				delete(held, l)
			}
		}
		if len(held) >= limit {
			return false, nil
		}
	}
	held[lease] = expires
	return true, nil
}

// Release implements Leases.
func (m *SessionRegistry) Release(_ context.Context, principal, lease string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.leases[principal], lease)
	return nil
}

// Track implements SessionTracker.
func (m *SessionRegistry) Track(_ context.Context, s contract.TrackedSession) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.forgetExpired(time.Now())
	byID := m.sessions[s.Principal]
	if byID == nil {
		byID = make(map[string]contract.TrackedSession)
		m.sessions[s.Principal] = byID
	}
	byID[s.ID] = s
	ref := sessionRef{s.Principal, s.ID}
	delete(m.ended, ref)
	if s.Watched.IsZero() {
		delete(m.watches, ref)
	} else {
		m.watches[ref] = s.Watched
	}
	heap.Push(&m.expiries, deadline{at: s.Expires, principal: s.Principal, id: s.ID})
	if !s.Deadline.IsZero() {
		heap.Push(&m.deadlines, deadline{at: s.Deadline, principal: s.Principal, id: s.ID})
	}
	return nil
}

// forgetExpired drops the sessions that lapsed by now, with their leases,
// and how the ended ones ended. Entries of sessions tracked again are
// skipped as they come due.
func (m *SessionRegistry) forgetExpired(now time.Time) {
	for m.expiries.Len() > 0 && !m.expiries[0].at.After(now) {
		e := heap.Pop(&m.expiries).(deadline)
		s, ok := m.sessions[e.principal][e.id]
		if !ok {
			ref := sessionRef{e.principal, e.id}
			if end, ok := m.ended[ref]; ok && end.expires.Equal(e.at) {
				delete(m.ended, ref)
			}
			continue
		}
		if !s.Expires.Equal(e.at) {
			continue
		}
		delete(m.sessions[e.principal], e.id)
		delete(m.watches, sessionRef{e.principal, e.id})
		if len(m.sessions[e.principal]) == 0 {
			delete(m.sessions, e.principal)
		}
		if s.Lease != "" {
			delete(m.leases[e.principal], s.Lease)
		}
	}
}

// End implements SessionTracker.
func (m *SessionRegistry) End(_ context.Context, principal, id, how string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[principal][id]
	if !ok || !time.Now().Before(s.Expires) { // a lapsed session ended on its own
		return false, nil
	}
	delete(m.sessions[principal], id)
	delete(m.watches, sessionRef{principal, id})
	if s.Lease != "" {
		delete(m.leases[principal], s.Lease)
	}
	// Its entry in expiries, still queued, forgets this when it comes due.
	m.ended[sessionRef{principal, id}] = endedSession{how: how, expires: s.Expires}
	return true, nil
}

// Ended implements SessionTracker.
func (m *SessionRegistry) Ended(_ context.Context, principal, id string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	end, ok := m.ended[sessionRef{principal, id}]
	if !ok || !time.Now().Before(end.expires) {
		return "", nil
	}
	return end.how, nil
}

// Sessions implements SessionTracker.
func (m *SessionRegistry) Sessions(_ context.Context, principal string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	var ids []string
	for id, s := range m.sessions[principal] {
		if now.Before(s.Expires) {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// ClaimDue implements SessionTracker. Deadlines of sessions that ended
// before them are dropped as they come due.
func (m *SessionRegistry) ClaimDue(_ context.Context, now time.Time, limit int) ([]contract.TrackedSession, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var due []contract.TrackedSession
	for len(due) < limit && m.deadlines.Len() > 0 && !m.deadlines[0].at.After(now) {
		d := heap.Pop(&m.deadlines).(deadline)
		s, ok := m.sessions[d.principal][d.id]
		if !ok || !s.Deadline.Equal(d.at) {
			continue
		}
		s.Deadline = time.Time{}
		m.sessions[d.principal][d.id] = s
		due = append(due, s)
	}
	return due, nil
}

// Watch implements SessionTracker.
func (m *SessionRegistry) Watch(_ context.Context, sessions []contract.SessionRef, until time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range sessions {
		ref := sessionRef{s.Principal, s.ID}
		if _, ok := m.watches[ref]; ok {
			m.watches[ref] = until
		}
	}
	return nil
}

// ClaimUnwatched implements SessionTracker. It looks at every watch: a
// process holds only the sessions it meters itself.
func (m *SessionRegistry) ClaimUnwatched(_ context.Context, now, until time.Time, limit int) ([]contract.TrackedSession, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []contract.TrackedSession
	for ref, at := range m.watches {
		if len(out) >= limit {
			break
		}
		if at.After(now) {
			continue
		}
		s, ok := m.sessions[ref.principal][ref.id]
		if !ok || !time.Now().Before(s.Expires) {
			delete(m.watches, ref)
			continue
		}
		m.watches[ref] = until
		s.Watched = until
		s.Deadline = time.Time{}
		out = append(out, s)
	}
	return out, nil
}

// deadline is a cap to enforce, in a min-heap by time.
type deadline struct {
	at            time.Time
	principal, id string
}

type deadlineHeap []deadline

func (h deadlineHeap) Len() int           { return len(h) }
func (h deadlineHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h deadlineHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *deadlineHeap) Push(x any)        { *h = append(*h, x.(deadline)) }
func (h *deadlineHeap) Pop() any {
	old := *h
	d := old[len(old)-1]
	*h = old[:len(old)-1]
	return d
}
