package prometheus

import (
	"context"
	"time"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// Store returns s wrapped so that its failures count in
// realtimesecret_store_errors_total (op "put" and "get"); its errors are
// returned unchanged. The wrapper is a contract.Pinger when s is one.
// When s has a Len() int method (memory.NewStore's store
// does), realtimesecret_stored_records reports it; the gauge follows the
// last store wrapped.
func (c *Collector) Store(s contract.Store) contract.Store {
	if n, ok := s.(interface{ Len() int }); ok {
		f := n.Len
		c.storedLen.Store(&f)
	}
	m := &meteredStore{inner: s, c: c}
	// The wrapper keeps what else the store is, so that readiness checks
	// still ping it and the middleware still finds its SessionRegistry
	// (adapters/redisstore is both).
	p, pinger := s.(contract.Pinger)
	r, registry := s.(contract.SessionRegistry)
	switch {
	case pinger && registry:
		return &struct {
			*meteredStore
			contract.Pinger
			contract.SessionRegistry
		}{m, p, r}
	case pinger:
		return &meteredPinger{meteredStore: m, pinger: p}
	case registry:
		return &struct {
			*meteredStore
			contract.SessionRegistry
		}{m, r}
	}
	return m
}

// RateLimiter returns l wrapped so that its failures count in
// realtimesecret_store_errors_total (op "rate_limit"); its errors are
// returned unchanged. Wrap only a limiter you set in Config.RateLimiter
// (the in-process default does not fail).
func (c *Collector) RateLimiter(l contract.RateLimiter) contract.RateLimiter {
	return &meteredLimiter{inner: l, c: c}
}

type meteredStore struct {
	inner contract.Store
	c     *Collector
}

func (s *meteredStore) count(op string, err error) error {
	if err != nil {
		s.c.storeErrors.WithLabelValues(op).Inc()
	}
	return err
}

// Put implements contract.Store.
func (s *meteredStore) Put(ctx context.Context, h contract.TokenHash, rec contract.Record) error {
	return s.count(OpPut, s.inner.Put(ctx, h, rec))
}

// Get implements contract.Store.
func (s *meteredStore) Get(ctx context.Context, h contract.TokenHash) (contract.Record, bool, error) {
	rec, ok, err := s.inner.Get(ctx, h)
	return rec, ok, s.count(OpGet, err)
}

// meteredPinger is a meteredStore whose store can be pinged.
type meteredPinger struct {
	*meteredStore
	pinger contract.Pinger
}

// Ping implements contract.Pinger.
func (s *meteredPinger) Ping(ctx context.Context) error { return s.pinger.Ping(ctx) }

type meteredLimiter struct {
	inner contract.RateLimiter
	c     *Collector
}

// Allow implements contract.RateLimiter.
func (l *meteredLimiter) Allow(ctx context.Context, key string, limit contract.Rate) (bool, time.Duration, error) {
	ok, retry, err := l.inner.Allow(ctx, key, limit)
	if err != nil {
		l.c.storeErrors.WithLabelValues(OpRateLimit).Inc()
	}
	return ok, retry, err
}
