package memory

import (
	"context"
	"sync"
	"time"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// NewRateLimiter returns an in-process contract.RateLimiter, the one the
// middleware uses when Config.RateLimiter is nil. now may be nil (time.Now). Limits are enforced
// per process: with several nodes, use a shared limiter.
func NewRateLimiter(now func() time.Time) contract.RateLimiter {
	if now == nil {
		now = time.Now
	}
	return &memoryRateLimiter{now: now, tat: make(map[string]time.Time)}
}

// memoryRateLimiter implements GCRA: each key has a theoretical arrival
// time (TAT) that advances by Per/Requests per allowed request; a request is
// allowed while the TAT is at most Per - Per/Requests ahead of now, which
// admits a burst of Requests and then a smooth rate.
type memoryRateLimiter struct {
	now func() time.Time
	mu  sync.Mutex
	tat map[string]time.Time
}

// maxIdleKeys bounds the map before stale keys are swept.
const maxIdleKeys = 10000

func (l *memoryRateLimiter) Allow(_ context.Context, key string, limit contract.Rate) (bool, time.Duration, error) {
	if limit.IsZero() {
		return true, 0, nil
	}
	interval := limit.Per / time.Duration(limit.Requests)
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	tat, ok := l.tat[key]
	if !ok || tat.Before(now) {
		tat = now
	}
	allowAt := tat.Add(interval - limit.Per)
	if now.Before(allowAt) {
		return false, allowAt.Sub(now), nil
	}
	if len(l.tat) >= maxIdleKeys {
		l.sweep(now)
	}
	l.tat[key] = tat.Add(interval)
	return true, 0, nil
}

// sweep drops keys whose TAT has passed: they are back to a full burst,
// which is the same as being absent.
func (l *memoryRateLimiter) sweep(now time.Time) {
	for k, t := range l.tat {
		if !t.After(now) {
			delete(l.tat, k)
		}
	}
}
