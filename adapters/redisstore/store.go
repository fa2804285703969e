package redisstore

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// Defaults applied by New to the zero fields of Options.
const (
	// DefaultPrefix is put before every key the Store writes.
	DefaultPrefix = "realtimesecret:"
	// DefaultTimeout bounds each call to Redis. A local or same-zone Redis
	// answers in well under a millisecond; a call still waiting after this
	// long would only hold up the mint it serves.
	DefaultTimeout = 250 * time.Millisecond
)

// Options configures a Store.
type Options struct {
	// Prefix is put before every key, so that several deployments or other
	// applications can share one Redis database. Empty means DefaultPrefix.
	Prefix string

	// Timeout bounds each call to Redis (Put, Get, Ping, Allow and the
	// SessionRegistry methods), on top of any deadline the caller's context
	// already has. Zero means DefaultTimeout; negative means only the
	// caller's context bounds a call.
	Timeout time.Duration
}

// Store keeps token records, rate limits and session governance in Redis.
// It implements contract.Store, contract.Pinger,
// contract.RateLimiter and contract.SessionRegistry, and is safe
// for concurrent use.
type Store struct {
	client    redis.UniversalClient
	owned     bool // Close closes client: NewFromURL made it
	tokPrefix string
	rlPrefix  string
	govPrefix string // session governance: leases, live sessions, cap deadlines
	timeout   time.Duration
}

var (
	_ contract.Store       = (*Store)(nil)
	_ contract.Pinger      = (*Store)(nil)
	_ contract.RateLimiter = (*Store)(nil)
)

// New returns a Store on client, which must not be nil and stays the
// caller's to close. Give the client ContextTimeoutEnabled: true so that
// Options.Timeout bounds socket reads and writes (see the package doc).
func New(client redis.UniversalClient, opts Options) *Store {
	if client == nil {
		panic("redisstore: nil client")
	}
	prefix := opts.Prefix
	if prefix == "" {
		prefix = DefaultPrefix
	}
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	return &Store{
		client:    client,
		tokPrefix: prefix + "tok:",
		rlPrefix:  prefix + "rl:",
		govPrefix: prefix + "{gov}:",
		timeout:   timeout,
	}
}

// Close closes the client when NewFromURL created it. A client passed to New
// is left open: it is the caller's.
func (s *Store) Close() error {
	if !s.owned {
		return nil
	}
	return s.client.Close()
}

// Put stores rec under h until rec.ExpiresAt, when Redis deletes it. A record
// that has already expired is not stored.
func (s *Store) Put(ctx context.Context, h contract.TokenHash, rec contract.Record) error {
	if !rec.ExpiresAt.After(time.Now()) {
		return nil
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	err := s.client.SetArgs(ctx, s.tokenKey(h), appendRecord(make([]byte, 0, 64), &rec),
		redis.SetArgs{ExpireAt: rec.ExpiresAt}).Err()
	if err != nil {
		return fmt.Errorf("redisstore: put: %w", err)
	}
	return nil
}

// Get returns the record stored under h. A missing or expired record is
// (Record{}, false, nil); an unreachable Redis, a timeout or a value this
// package did not write (ErrCorruptValue) is an error.
func (s *Store) Get(ctx context.Context, h contract.TokenHash) (contract.Record, bool, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	v, err := s.client.Get(ctx, s.tokenKey(h)).Result()
	switch {
	case errors.Is(err, redis.Nil):
		return contract.Record{}, false, nil
	case err != nil:
		return contract.Record{}, false, fmt.Errorf("redisstore: get: %w", err)
	}
	rec, err := decodeRecord(v)
	if err != nil {
		return contract.Record{}, false, fmt.Errorf("redisstore: get: %w", err)
	}
	// Redis expires the key itself; this covers the clock skew between
	// Redis and this node.
	if !rec.ExpiresAt.After(time.Now()) {
		return contract.Record{}, false, nil
	}
	return rec, true, nil
}

// Ping reports whether Redis answers, for readiness checks.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if err := s.client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redisstore: ping: %w", err)
	}
	return nil
}

// bound returns ctx with the Store's per-call timeout.
func (s *Store) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if s.timeout < 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, s.timeout)
}

// tokenKey returns the key of a token record: the prefix, "tok:" and the
// hash in hex.
func (s *Store) tokenKey(h contract.TokenHash) string {
	var hx [2 * len(contract.TokenHash{})]byte
	hex.Encode(hx[:], h[:])
	var b strings.Builder
	b.Grow(len(s.tokPrefix) + len(hx))
	b.WriteString(s.tokPrefix)
	b.Write(hx[:])
	return b.String()
}
