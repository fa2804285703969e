package redisstore

import (
	"context"
	_ "embed"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

//go:embed gcra.lua
var gcraSource string

// gcra is the rate limit check. redis.Script runs it with EVALSHA and falls
// back to EVAL when Redis answers NOSCRIPT, as it does after a restart.
var gcra = redis.NewScript(gcraSource)

// Allow reports whether one more mint fits limit for id, and counts it when
// it does; otherwise retryAfter says when the next one fits. The check and
// the update are one Lua script on the Redis clock, so every node sharing
// the Redis shares the budget and no two checks can both take the last slot.
// The limit behaves like the in-process one: a burst of limit.Requests, then
// one per limit.Per/limit.Requests. A zero limit allows without a call.
func (s *Store) Allow(ctx context.Context, id string, limit contract.Rate) (bool, time.Duration, error) {
	if limit.IsZero() {
		return true, 0, nil
	}
	interval := max(limit.Per/time.Duration(limit.Requests), time.Microsecond)
	tolerance := max(limit.Per-interval, 0)
	ctx, cancel := s.bound(ctx)
	defer cancel()
	res, err := gcra.Run(ctx, s.client, []string{s.rlPrefix + id},
		interval.Microseconds(), tolerance.Microseconds()).Int64Slice()
	if err != nil {
		return false, 0, fmt.Errorf("redisstore: rate limit: %w", err)
	}
	if len(res) != 2 {
		return false, 0, fmt.Errorf("redisstore: rate limit: unexpected reply of %d values", len(res))
	}
	if res[0] == 1 {
		return true, 0, nil
	}
	return false, time.Duration(res[1]) * time.Microsecond, nil
}
