package sidecar

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
)

// Operations counted by realtimesecret_store_errors_total.
const (
	opPut       = "put"
	opGet       = "get"
	opRateLimit = "rate_limit"
)

// meteredStore counts the failures of the store it wraps, and marks them
// so that a redemption's error can be told apart from a sealed token that
// does not open. It keeps the optional Pinger of the store it wraps.
type meteredStore struct {
	inner realtimesecret.Store
	errs  *prometheus.CounterVec // set by newMetrics
}

var (
	_ realtimesecret.Store  = (*meteredStore)(nil)
	_ realtimesecret.Pinger = (*meteredStore)(nil)
)

// storeError marks an error that came from the store. Its text is the
// store's, unchanged.
type storeError struct{ err error }

func (e *storeError) Error() string { return e.err.Error() }
func (e *storeError) Unwrap() error { return e.err }

func (s *meteredStore) fail(op string, err error) error {
	if err == nil {
		return nil
	}
	s.errs.WithLabelValues(op).Inc()
	return &storeError{err: err}
}

// Put implements realtimesecret.Store.
func (s *meteredStore) Put(ctx context.Context, h realtimesecret.TokenHash, rec realtimesecret.Record) error {
	return s.fail(opPut, s.inner.Put(ctx, h, rec))
}

// Get implements realtimesecret.Store.
func (s *meteredStore) Get(ctx context.Context, h realtimesecret.TokenHash) (realtimesecret.Record, bool, error) {
	rec, ok, err := s.inner.Get(ctx, h)
	return rec, ok, s.fail(opGet, err)
}

// Ping implements realtimesecret.Pinger: a store that cannot be pinged (the
// in-process one) is always reachable.
func (s *meteredStore) Ping(ctx context.Context) error {
	if p, ok := s.inner.(realtimesecret.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

// meteredLimiter counts the failures of a shared rate limiter.
type meteredLimiter struct {
	inner realtimesecret.RateLimiter
	errs  *prometheus.CounterVec
}

// Allow implements realtimesecret.RateLimiter.
func (l *meteredLimiter) Allow(ctx context.Context, key string, limit realtimesecret.Rate) (bool, time.Duration, error) {
	ok, retry, err := l.inner.Allow(ctx, key, limit)
	if err != nil {
		l.errs.WithLabelValues(opRateLimit).Inc()
	}
	return ok, retry, err
}
