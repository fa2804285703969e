package memory

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// fillForSweep puts n records in s, every other one expiring 200 ms after
// it is put, and waits until those have expired. It returns the hashes.
func fillForSweep(t testing.TB, s *Store, n int) []contract.TokenHash {
	t.Helper()
	later := time.Unix(time.Now().Add(time.Hour).Unix(), 0)
	var soon time.Time
	hashes := make([]contract.TokenHash, n)
	for i := range hashes {
		hashes[i] = contract.HashToken("ek_sweep_" + strconv.Itoa(i))
		exp := later
		if i%2 == 0 {
			soon = time.Now().Add(200 * time.Millisecond) // ample for the Put itself, even on a loaded machine
			exp = soon
		}
		require.NoError(t, s.Put(context.Background(), hashes[i], contract.Record{KeyID: "primary", Provider: "openai", ExpiresAt: exp}))
	}
	time.Sleep(time.Until(soon) + time.Millisecond)
	return hashes
}

func TestStoreSweepDropsOnlyExpired(t *testing.T) {
	s := NewStore()
	hashes := fillForSweep(t, s, 2000)
	require.Equal(t, 2000, s.Len(), "expired records are held until a sweep")
	s.sweep()
	assert.Equal(t, 1000, s.Len())
	for i, h := range hashes {
		_, ok, err := s.Get(context.Background(), h)
		require.NoError(t, err)
		assert.Equal(t, i%2 == 1, ok, "record %d", i)
	}
	used := 0
	for _, c := range s.shards {
		if c.ItemCount() > 0 {
			used++
		}
	}
	assert.Greater(t, used, storeShards*9/10, "records are spread over the shards")
}

// TestMemoryStorePutSweepsOncePerInterval checks that a Put sweeps when the
// last sweep is older than sweepInterval, and that it then waits again.
func TestStorePutSweepsOncePerInterval(t *testing.T) {
	s := NewStore()
	fillForSweep(t, s, 200)
	later := contract.Record{KeyID: "primary", Provider: "openai", ExpiresAt: time.Unix(time.Now().Add(time.Hour).Unix(), 0)}

	require.NoError(t, s.Put(context.Background(), contract.HashToken("ek_a"), later))
	assert.Equal(t, 201, s.Len(), "no sweep within the interval")

	s.lastSweep.Add(-int64(sweepInterval))
	require.NoError(t, s.Put(context.Background(), contract.HashToken("ek_b"), later))
	require.Eventually(t, func() bool { return s.Len() == 102 && !s.sweeping.Load() },
		5*time.Second, time.Millisecond, "the Put after the interval sweeps")
}
