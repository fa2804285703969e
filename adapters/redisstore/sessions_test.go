package redisstore_test

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/adapters/redisstore"
	"github.com/realtimesecret/realtimesecret/internal/redistest"
	"github.com/realtimesecret/realtimesecret/internal/registrytest"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// TestGovernanceRedisRegistry runs the SessionRegistry conformance cases
// of the in-process registry against Redis.
func TestGovernanceRedisRegistry(t *testing.T) {
	registrytest.Run(t, func(t *testing.T) contract.SessionRegistry {
		store, _, _ := newTestStore(t, redisstore.Options{})
		return store
	})
}

// twoClients returns two Stores on one Redis and prefix through clients of
// their own, as two nodes have.
func twoClients(t *testing.T) (a, b *redisstore.Store) {
	t.Helper()
	c := redistest.Client(t)
	prefix := redistest.Prefix(t, c)
	a = redisstore.New(c, redisstore.Options{Prefix: prefix, Timeout: testTimeout})
	b = redisstore.New(redistest.Client(t), redisstore.Options{Prefix: prefix, Timeout: testTimeout})
	return a, b
}

func TestLeaseLimitAcrossTwoClients(t *testing.T) {
	a, b := twoClients(t)
	const n, limit = 40, 2
	expires := time.Now().Add(time.Hour)
	var won atomic.Int32
	var wg sync.WaitGroup
	for i := range n {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Go(func() {
			ok, err := s.Acquire(context.Background(), "web", "lease_"+strconv.Itoa(i), limit, expires)
			assert.NoError(t, err)
			if ok {
				won.Add(1)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int32(limit), won.Load(), "leases taken of %d with a limit of %d", n, limit)
}

func TestCapClaimedOnceAcrossTwoClients(t *testing.T) {
	a, b := twoClients(t)
	registrytest.ClaimEachOnce(t, []contract.SessionRegistry{a, b})
}

// TestGovernanceKeyLayout pins the keys the registry writes, which
// operators see in redis-cli: all under the prefix and the {gov} hash tag,
// apart from token records, and gone once the sessions end but for how
// each ended, kept until it would have expired.
func TestGovernanceKeyLayout(t *testing.T) {
	store, c, prefix := newTestStore(t, redisstore.Options{})
	ctx := context.Background()
	expires := time.Now().Add(time.Minute)
	ok, err := store.Acquire(ctx, "web", "lease_1", 1, expires)
	require.NoError(t, err)
	require.True(t, ok)
	require.NoError(t, store.Track(ctx, contract.TrackedSession{ID: "rtc_1", Principal: "web", Lease: "lease_1",
		Expires: expires, Deadline: expires.Add(-30 * time.Second)}))

	keys, err := c.Keys(ctx, prefix+"*").Result()
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{
		prefix + "{gov}:lease:web", prefix + "{gov}:sess:web", prefix + "{gov}:slease:web", prefix + "{gov}:due",
	}, keys)
	for _, k := range keys {
		if k == prefix+"{gov}:due" {
			continue
		}
		ttl, err := c.PTTL(ctx, k).Result()
		require.NoError(t, err)
		assert.InDelta(t, time.Minute.Seconds(), ttl.Seconds(), 5, "%s expires with its latest entry", k)
	}
	due, err := c.ZRangeWithScores(ctx, prefix+"{gov}:due", 0, -1).Result()
	require.NoError(t, err)
	require.Len(t, due, 1)
	assert.Equal(t, "3:webrtc_1", due[0].Member)

	ended, err := store.End(ctx, "web", "rtc_1", "hangup")
	require.NoError(t, err)
	require.True(t, ended)
	keys, err = c.Keys(ctx, prefix+"*").Result()
	require.NoError(t, err)
	endedKey := prefix + "{gov}:ended:3:webrtc_1"
	assert.Equal(t, []string{endedKey}, keys, "an ended session leaves only how it ended behind")
	how, err := c.Get(ctx, endedKey).Result()
	require.NoError(t, err)
	assert.Equal(t, "hangup", how)
	ttl, err := c.PTTL(ctx, endedKey).Result()
	require.NoError(t, err)
	assert.InDelta(t, time.Minute.Seconds(), ttl.Seconds(), 5, "kept until the session would have expired")
}

// roundTrips counts the commands a client sends, a pipeline as one.
type roundTrips struct{ n atomic.Int32 }

func (r *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

func (r *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		r.n.Add(1)
		return next(ctx, cmd)
	}
}

func (r *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		r.n.Add(1)
		return next(ctx, cmds)
	}
}

// TestGovernanceOneRoundTripEach pins that every registry call is one
// command to Redis (a script by EVALSHA, or a ZREM), once the scripts are
// loaded.
func TestGovernanceOneRoundTripEach(t *testing.T) {
	store, c, _ := newTestStore(t, redisstore.Options{})
	var trips roundTrips
	c.AddHook(&trips)
	ctx := context.Background()
	later := time.Now().Add(time.Minute)
	calls := []struct {
		name string
		call func() error
	}{
		{name: "Acquire", call: func() error { _, err := store.Acquire(ctx, "web", "lease_1", 2, later); return err }},
		{name: "Track", call: func() error {
			return store.Track(ctx, contract.TrackedSession{ID: "rtc_1", Principal: "web", Lease: "lease_1", Expires: later, Deadline: later})
		}},
		{name: "Sessions", call: func() error { _, err := store.Sessions(ctx, "web"); return err }},
		{name: "ClaimDue", call: func() error { _, err := store.ClaimDue(ctx, later, 64); return err }},
		{name: "End", call: func() error { _, err := store.End(ctx, "web", "rtc_1", "hangup"); return err }},
		{name: "Release", call: func() error { return store.Release(ctx, "web", "lease_1") }},
	}
	for _, tc := range calls {
		require.NoError(t, tc.call(), "%s, loading its script", tc.name)
	}
	for _, tc := range calls {
		trips.n.Store(0)
		require.NoError(t, tc.call())
		assert.Equal(t, int32(1), trips.n.Load(), "%s: commands sent", tc.name)
	}
}
