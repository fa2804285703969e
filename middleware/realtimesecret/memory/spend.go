package memory

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

var _ contract.SpendLedger = (*SessionRegistry)(nil)

// spendSweep is how often at most a ledger drops the periods that ended
// and the sessions that lapsed.
const spendSweep = time.Minute

var errSpendPeriod = errors.New("memory: a budget period must be positive")

// spendBook is the SpendLedger of a SessionRegistry: the running cost of
// each session, and each principal's spend per period.
type spendBook struct {
	mu       sync.Mutex
	sessions map[spendSession]sessionCost
	periods  map[spendPeriod]float64
	swept    time.Time
	// now is the ledger's clock; nil means time.Now.
	now func() time.Time
}

type spendSession struct{ principal, id string }

type sessionCost struct {
	usd     float64
	expires time.Time
}

type spendPeriod struct {
	principal  string
	per, start int64 // milliseconds
}

// AddSpend implements contract.SpendLedger: it raises the session's
// recorded cost to s.USD and adds the growth to the principal's current
// period, on the process's clock.
func (m *SessionRegistry) AddSpend(_ context.Context, s contract.SessionSpend) (contract.Spend, error) {
	b := &m.spend
	if s.Per <= 0 {
		return contract.Spend{}, errSpendPeriod
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.clock()
	b.sweep(now)
	if b.sessions == nil {
		b.sessions = make(map[spendSession]sessionCost)
		b.periods = make(map[spendPeriod]float64)
	}
	start := contract.Budget{Per: s.Per}.Start(now)
	period := spendPeriod{principal: s.Principal, per: s.Per.Milliseconds(), start: start.UnixMilli()}
	key := spendSession{principal: s.Principal, id: s.ID}
	prev := b.sessions[key]
	if s.USD > prev.usd {
		b.periods[period] += s.USD - prev.usd
		prev.usd = s.USD
	}
	if s.Expires.After(prev.expires) {
		prev.expires = s.Expires
	}
	b.sessions[key] = prev
	return contract.Spend{USD: b.periods[period], PeriodStart: start}, nil
}

var _ contract.SessionCosts = (*SessionRegistry)(nil)

// SessionCost implements contract.SessionCosts.
func (m *SessionRegistry) SessionCost(_ context.Context, principal, id string) (float64, error) {
	b := &m.spend
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.sessions[spendSession{principal: principal, id: id}].usd, nil
}

// Spent implements contract.SpendLedger. It allocates nothing.
func (m *SessionRegistry) Spent(_ context.Context, principal string, per time.Duration) (contract.Spend, error) {
	b := &m.spend
	if per <= 0 {
		return contract.Spend{}, errSpendPeriod
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	start := contract.Budget{Per: per}.Start(b.clock())
	return contract.Spend{USD: b.periods[spendPeriod{principal: principal, per: per.Milliseconds(), start: start.UnixMilli()}],
		PeriodStart: start}, nil
}

func (b *spendBook) clock() time.Time {
	if b.now != nil {
		return b.now()
	}
	return time.Now()
}

// sweep drops, at most once a spendSweep, the periods that ended and the
// sessions whose cost may be forgotten.
func (b *spendBook) sweep(now time.Time) {
	if now.Sub(b.swept) < spendSweep {
		return
	}
	b.swept = now
	for k, c := range b.sessions {
		if now.After(c.expires) {
			delete(b.sessions, k)
		}
	}
	ms := now.UnixMilli()
	for p := range b.periods {
		if p.start+p.per <= ms {
			delete(b.periods, p)
		}
	}
}
