package redisstore

import (
	"context"
	_ "embed"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

//go:embed lease_acquire.lua
var leaseAcquireSource string

// leaseAcquire takes a lease in one atomic step (see the script).
var leaseAcquire = redis.NewScript(leaseAcquireSource)

// Acquire implements contract.Leases: it takes lease for principal
// when fewer than limit of its leases are held, in one Lua script (one
// round trip), so that nodes sharing the Redis share the limit and no two
// of them can both take the last slot. Acquiring a lease already held
// refreshes its expiry. A lease lapses on its own at expires; the time is
// sent as an offset from this node's clock and kept on the Redis clock.
func (s *Store) Acquire(ctx context.Context, principal, lease string, limit int, expires time.Time) (bool, error) {
	ttl := ceilMillis(time.Until(expires))
	ctx, cancel := s.bound(ctx)
	defer cancel()
	n, err := leaseAcquire.Run(ctx, s.client, []string{s.govKey(govLeases, principal)},
		lease, strconv.Itoa(limit), ttl).Int64()
	if err != nil {
		return false, fmt.Errorf("redisstore: acquire lease: %w", err)
	}
	return n == 1, nil
}

// Release implements contract.Leases: one ZREM. A lease not held is
// no error.
func (s *Store) Release(ctx context.Context, principal, lease string) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if err := s.client.ZRem(ctx, s.govKey(govLeases, principal), lease).Err(); err != nil {
		return fmt.Errorf("redisstore: release lease: %w", err)
	}
	return nil
}

// ceilMillis returns d in whole milliseconds, rounded up, so that nothing
// lapses or falls due before its time.
func ceilMillis(d time.Duration) int64 {
	ms := d.Milliseconds()
	if d > 0 && d%time.Millisecond != 0 {
		ms++
	}
	return ms
}

// floorMillis returns d in whole milliseconds, rounded down, so that a
// claim never reaches past the time it was asked for.
func floorMillis(d time.Duration) int64 {
	ms := d.Milliseconds()
	if d < 0 && d%time.Millisecond != 0 {
		ms--
	}
	return ms
}
