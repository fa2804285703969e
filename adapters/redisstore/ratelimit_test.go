package redisstore_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/adapters/redisstore"
	"github.com/realtimesecret/realtimesecret/internal/redistest"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
)

func TestAllowBurstThenRetryAfter(t *testing.T) {
	tests := []struct {
		name      string
		limit     realtimesecret.Rate
		wantRetry time.Duration // after the burst, about one interval
	}{
		{name: "3 per minute", limit: realtimesecret.Rate{Requests: 3, Per: time.Minute}, wantRetry: 20 * time.Second},
		{name: "1 per hour", limit: realtimesecret.Rate{Requests: 1, Per: time.Hour}, wantRetry: time.Hour},
		{name: "10 per hour", limit: realtimesecret.Rate{Requests: 10, Per: time.Hour}, wantRetry: 6 * time.Minute},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store, _, _ := newTestStore(t, redisstore.Options{})
			ctx := context.Background()
			for i := range tc.limit.Requests {
				ok, retry, err := store.Allow(ctx, "vk", tc.limit)
				require.NoError(t, err)
				require.True(t, ok, "request %d of a burst of %d was refused", i+1, tc.limit.Requests)
				assert.Zero(t, retry)
			}
			ok, retry, err := store.Allow(ctx, "vk", tc.limit)
			require.NoError(t, err)
			assert.False(t, ok, "a request past the burst was allowed")
			assert.InDelta(t, tc.wantRetry.Seconds(), retry.Seconds(), 2, "retry after %v", retry)
		})
	}
}

func TestAllowRefills(t *testing.T) {
	store, _, _ := newTestStore(t, redisstore.Options{})
	ctx := context.Background()
	limit := realtimesecret.Rate{Requests: 1, Per: 200 * time.Millisecond}
	ok, _, err := store.Allow(ctx, "vk", limit)
	require.NoError(t, err)
	require.True(t, ok)
	ok, retry, err := store.Allow(ctx, "vk", limit)
	require.NoError(t, err)
	require.False(t, ok)
	assert.LessOrEqual(t, retry, limit.Per)

	assert.Eventually(t, func() bool {
		ok, _, err := store.Allow(ctx, "vk", limit)
		return err == nil && ok
	}, 5*time.Second, 10*time.Millisecond, "the limit never let another request through")
}

func TestAllowKeysAreIndependent(t *testing.T) {
	store, _, _ := newTestStore(t, redisstore.Options{})
	ctx := context.Background()
	limit := realtimesecret.Rate{Requests: 1, Per: time.Hour}
	for _, id := range []string{"a", "b", "c"} {
		ok, _, err := store.Allow(ctx, id, limit)
		require.NoError(t, err)
		assert.True(t, ok, "%s was refused because of another key", id)
	}
	ok, _, err := store.Allow(ctx, "a", limit)
	require.NoError(t, err)
	assert.False(t, ok)
}

func TestAllowKeyExpiresWhenBudgetIsFull(t *testing.T) {
	store, c, prefix := newTestStore(t, redisstore.Options{})
	limit := realtimesecret.Rate{Requests: 4, Per: time.Minute}
	ok, _, err := store.Allow(context.Background(), "vk", limit)
	require.NoError(t, err)
	require.True(t, ok)

	pttl, err := c.PTTL(context.Background(), prefix+"rl:vk").Result()
	require.NoError(t, err)
	// One request used a quarter of the budget, which is back after one
	// interval: the key is not kept longer than that.
	assert.Greater(t, pttl, time.Duration(0))
	assert.LessOrEqual(t, pttl, limit.Per/4)
}

func TestAllowZeroRateTouchesNothing(t *testing.T) {
	store, c, prefix := newTestStore(t, redisstore.Options{})
	for _, limit := range []realtimesecret.Rate{{}, {Requests: 5}, {Per: time.Second}} {
		ok, retry, err := store.Allow(context.Background(), "vk", limit)
		require.NoError(t, err)
		assert.True(t, ok)
		assert.Zero(t, retry)
	}
	keys, err := c.Keys(context.Background(), prefix+"*").Result()
	require.NoError(t, err)
	assert.Empty(t, keys)
}

// TestAllowIsAtomic races many checks of one budget from two Stores on
// separate connection pools, as two nodes would: a read-then-write limiter
// lets more than the budget through here.
func TestAllowIsAtomic(t *testing.T) {
	c := redistest.Client(t)
	prefix := redistest.Prefix(t, c)
	nodes := []*redisstore.Store{
		redisstore.New(c, redisstore.Options{Prefix: prefix, Timeout: testTimeout}),
		redisstore.New(redistest.Client(t), redisstore.Options{Prefix: prefix, Timeout: testTimeout}),
	}
	limit := realtimesecret.Rate{Requests: 25, Per: time.Hour}
	const attempts = 200
	var allowed, refused atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range attempts {
		wg.Go(func() {
			<-start
			ok, retry, err := nodes[i%len(nodes)].Allow(context.Background(), "vk", limit)
			if !assert.NoError(t, err) {
				return
			}
			if ok {
				allowed.Add(1)
				return
			}
			refused.Add(1)
			assert.Positive(t, retry)
		})
	}
	close(start)
	wg.Wait()
	assert.EqualValues(t, limit.Requests, allowed.Load())
	assert.EqualValues(t, attempts-limit.Requests, refused.Load())
}
