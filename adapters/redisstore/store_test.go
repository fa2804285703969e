package redisstore_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/adapters/redisstore"
	"github.com/realtimesecret/realtimesecret/internal/redistest"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// record returns a typical record expiring in ttl, on a whole second as
// upstream expiries are.
func record(ttl time.Duration) realtimesecret.Record {
	return realtimesecret.Record{
		KeyID:        "primary",
		VirtualKeyID: "web",
		Provider:     "openai",
		Model:        "gpt-realtime",
		Endpoint:     contract.EndpointClientSecret,
		ExpiresAt:    time.Now().Add(ttl).Truncate(time.Second),
	}
}

func TestPutGetRoundTrip(t *testing.T) {
	store, _, _ := newTestStore(t, redisstore.Options{})
	ctx := context.Background()
	exp := time.Now().Add(5 * time.Minute)
	tests := []struct {
		name string
		rec  realtimesecret.Record
	}{
		{name: "typical", rec: record(5 * time.Minute)},
		{name: "open minting, provider default model", rec: realtimesecret.Record{
			KeyID: "k", Provider: "azure", Endpoint: contract.EndpointTranscriptionSession, ExpiresAt: exp.Truncate(time.Second)}},
		{name: "sub-second expiry", rec: realtimesecret.Record{
			KeyID: "k", Provider: "p", Endpoint: contract.EndpointSession, ExpiresAt: exp}},
		{name: "non-ASCII and long fields", rec: realtimesecret.Record{
			KeyID: "clé-ü", VirtualKeyID: string(make([]byte, 300)), Provider: "p.x_y-z",
			Model: "ft:gpt-4o:org/ünïcode", Endpoint: contract.EndpointTranslation, ExpiresAt: exp}},
		{name: "a user's limits and budget", rec: realtimesecret.Record{
			KeyID: "k", VirtualKeyID: "alice", Provider: "openai", Model: "gpt-realtime", Endpoint: contract.EndpointClientSecret,
			ExpiresAt: exp.Truncate(time.Second), PrincipalKind: "user", MaxSessions: 2, MaxSession: time.Minute,
			GovernanceFailOpen: true, SingleUse: true, Budget: contract.Budget{USD: 0.75, Per: 24 * time.Hour}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := contract.HashToken("ek_" + tc.name)
			require.NoError(t, store.Put(ctx, h, tc.rec))
			got, ok, err := store.Get(ctx, h)
			require.NoError(t, err)
			require.True(t, ok)
			assert.True(t, tc.rec.ExpiresAt.Equal(got.ExpiresAt), "ExpiresAt %v, want %v", got.ExpiresAt, tc.rec.ExpiresAt)
			got.ExpiresAt = tc.rec.ExpiresAt
			assert.Equal(t, tc.rec, got)
		})
	}
}

func TestGetMissing(t *testing.T) {
	store, _, _ := newTestStore(t, redisstore.Options{})
	rec, ok, err := store.Get(context.Background(), contract.HashToken("ek_never_minted"))
	require.NoError(t, err)
	assert.False(t, ok)
	assert.Zero(t, rec)
}

func TestPutExpiresOnRedisAtExpiresAt(t *testing.T) {
	store, c, prefix := newTestStore(t, redisstore.Options{})
	h := contract.HashToken("ek_ttl")
	rec := record(90 * time.Second)
	require.NoError(t, store.Put(context.Background(), h, rec))

	pttl, err := c.PTTL(context.Background(), prefix+"tok:"+hex.EncodeToString(h[:])).Result()
	require.NoError(t, err)
	assert.InDelta(t, time.Until(rec.ExpiresAt).Seconds(), pttl.Seconds(), 2, "PTTL %v for a record expiring at %v", pttl, rec.ExpiresAt)
}

func TestPutSkipsExpiredRecords(t *testing.T) {
	tests := []struct {
		name      string
		expiresAt time.Time
	}{
		{name: "in the past", expiresAt: time.Now().Add(-time.Second)},
		{name: "long ago", expiresAt: time.Unix(1, 0)},
		{name: "zero", expiresAt: time.Time{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store, c, prefix := newTestStore(t, redisstore.Options{})
			rec := record(time.Minute)
			rec.ExpiresAt = tc.expiresAt
			require.NoError(t, store.Put(context.Background(), contract.HashToken("ek_old"), rec))
			keys, err := c.Keys(context.Background(), prefix+"*").Result()
			require.NoError(t, err)
			assert.Empty(t, keys, "an expired record was written")
		})
	}
}

func TestRecordGoneAfterExpiry(t *testing.T) {
	store, _, _ := newTestStore(t, redisstore.Options{})
	h := contract.HashToken("ek_short")
	rec := record(time.Minute)
	rec.ExpiresAt = time.Now().Add(300 * time.Millisecond)
	require.NoError(t, store.Put(context.Background(), h, rec))
	_, ok, err := store.Get(context.Background(), h)
	require.NoError(t, err)
	require.True(t, ok)

	assert.Eventually(t, func() bool {
		_, ok, err := store.Get(context.Background(), h)
		return err == nil && !ok
	}, 5*time.Second, 20*time.Millisecond, "the record outlived its ExpiresAt")
}

func TestKeyLayoutAndPrefix(t *testing.T) {
	c := redistest.Client(t)
	h := contract.HashToken("ek_layout")
	hexHash := hex.EncodeToString(h[:])
	custom := redistest.Prefix(t, c)
	tests := []struct {
		name    string
		prefix  string
		wantKey string
	}{
		{name: "custom", prefix: custom, wantKey: custom + "tok:" + hexHash},
		// The default prefix is shared, but the hash of a token no other test
		// uses keeps this key apart; it is deleted below.
		{name: "default", prefix: "", wantKey: redisstore.DefaultPrefix + "tok:" + hexHash},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			t.Cleanup(func() { c.Del(ctx, tc.wantKey) })
			store := redisstore.New(c, redisstore.Options{Prefix: tc.prefix, Timeout: testTimeout})
			require.NoError(t, store.Put(ctx, h, record(time.Minute)))
			n, err := c.Exists(ctx, tc.wantKey).Result()
			require.NoError(t, err)
			assert.EqualValues(t, 1, n, "no record at %s", tc.wantKey)
		})
	}
}

func TestPrefixesKeepStoresApart(t *testing.T) {
	c := redistest.Client(t)
	prefix := redistest.Prefix(t, c)
	a := redisstore.New(c, redisstore.Options{Prefix: prefix + "a:", Timeout: testTimeout})
	b := redisstore.New(c, redisstore.Options{Prefix: prefix + "b:", Timeout: testTimeout})
	h := contract.HashToken("ek_apart")
	require.NoError(t, a.Put(context.Background(), h, record(time.Minute)))

	_, ok, err := b.Get(context.Background(), h)
	require.NoError(t, err)
	assert.False(t, ok, "a store found a record written under another prefix")
	_, ok, err = a.Get(context.Background(), h)
	require.NoError(t, err)
	assert.True(t, ok)
}

func TestStoredValueIsCompact(t *testing.T) {
	store, c, prefix := newTestStore(t, redisstore.Options{})
	h := contract.HashToken("ek_size")
	require.NoError(t, store.Put(context.Background(), h, record(time.Minute)))

	n, err := c.StrLen(context.Background(), prefix+"tok:"+hex.EncodeToString(h[:])).Result()
	require.NoError(t, err)
	// 2 header bytes, 5 of expiry, 1 of nanoseconds, and each of the four
	// strings ("primary", "web", "openai", "gpt-realtime") with a length byte.
	assert.EqualValues(t, 2+5+1+(1+7)+(1+3)+(1+6)+(1+12), n)
	t.Logf("a typical record takes %d bytes in Redis", n)
}

func TestGetCorruptValue(t *testing.T) {
	store, c, prefix := newTestStore(t, redisstore.Options{})
	h := contract.HashToken("ek_corrupt")
	key := prefix + "tok:" + hex.EncodeToString(h[:])
	for _, v := range []string{"", "not a record", `{"key_id":"primary"}`, "\x01\x01"} {
		require.NoError(t, c.Set(context.Background(), key, v, time.Minute).Err())
		_, ok, err := store.Get(context.Background(), h)
		require.ErrorIs(t, err, redisstore.ErrCorruptValue, "value %q", v)
		assert.False(t, ok)
	}
}

func TestConcurrentWriters(t *testing.T) {
	store, _, _ := newTestStore(t, redisstore.Options{})
	const writers, each = 8, 50
	ctx := context.Background()
	shared := contract.HashToken("ek_shared")
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				rec := record(time.Minute)
				rec.VirtualKeyID = fmt.Sprintf("w%d", w)
				assert.NoError(t, store.Put(ctx, contract.HashToken(fmt.Sprintf("ek_%d_%d", w, i)), rec))
				assert.NoError(t, store.Put(ctx, shared, rec))
			}
		})
	}
	wg.Wait()

	for w := range writers {
		for i := range each {
			got, ok, err := store.Get(ctx, contract.HashToken(fmt.Sprintf("ek_%d_%d", w, i)))
			require.NoError(t, err)
			require.True(t, ok, "record %d of writer %d is missing", i, w)
			assert.Equal(t, fmt.Sprintf("w%d", w), got.VirtualKeyID)
		}
	}
	// Overwrites of one key leave one writer's whole record, never a mix.
	got, ok, err := store.Get(ctx, shared)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Regexp(t, `^w[0-7]$`, got.VirtualKeyID)
	assert.Equal(t, "gpt-realtime", got.Model)
}

func TestPing(t *testing.T) {
	store, _, _ := newTestStore(t, redisstore.Options{})
	require.NoError(t, store.Ping(context.Background()))
}

func TestNewPanicsOnNilClient(t *testing.T) {
	assert.PanicsWithValue(t, "redisstore: nil client", func() { redisstore.New(nil, redisstore.Options{}) })
}
