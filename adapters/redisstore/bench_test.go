package redisstore_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/realtimesecret/realtimesecret/adapters/redisstore"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// The benchmarks run against REDIS_URL, so they measure a network round trip
// to it plus the Store's own work; compare with the MemoryStore benchmarks
// of the core for what sharing costs.

func BenchmarkPut(b *testing.B) {
	store, _, _ := newTestStore(b, redisstore.Options{})
	ctx := context.Background()
	rec := record(time.Minute)
	hashes := benchHashes(1024)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if err := store.Put(ctx, hashes[i%len(hashes)], rec); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGet(b *testing.B) {
	store, _, _ := newTestStore(b, redisstore.Options{})
	ctx := context.Background()
	hashes := benchHashes(1024)
	for _, h := range hashes {
		if err := store.Put(ctx, h, record(time.Minute)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, ok, err := store.Get(ctx, hashes[i%len(hashes)]); err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}

func BenchmarkGetMissing(b *testing.B) {
	store, _, _ := newTestStore(b, redisstore.Options{})
	ctx := context.Background()
	h := contract.HashToken("ek_missing")
	b.ReportAllocs()
	for b.Loop() {
		if _, ok, err := store.Get(ctx, h); err != nil || ok {
			b.Fatal(ok, err)
		}
	}
}

func BenchmarkGetParallel(b *testing.B) {
	store, _, _ := newTestStore(b, redisstore.Options{})
	ctx := context.Background()
	h := contract.HashToken("ek_parallel")
	if err := store.Put(ctx, h, record(time.Minute)); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, ok, err := store.Get(ctx, h); err != nil || !ok {
				b.Error(ok, err)
				return
			}
		}
	})
}

func BenchmarkAllow(b *testing.B) {
	store, _, _ := newTestStore(b, redisstore.Options{})
	ctx := context.Background()
	limit := realtimesecret.Rate{Requests: 1 << 30, Per: time.Second}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := store.Allow(ctx, "bench", limit); err != nil {
			b.Fatal(err)
		}
	}
}

func benchHashes(n int) []contract.TokenHash {
	hs := make([]contract.TokenHash, n)
	for i := range hs {
		hs[i] = contract.HashToken("ek_bench_" + strconv.Itoa(i))
	}
	return hs
}

// BenchmarkLeaseAcquireReleaseRedis takes and gives back one lease of a key
// that holds others, as every brokered session and WebSocket redemption of
// a key with MaxSessions does: one round trip each (a Lua script, then a
// ZREM). Compare with BenchmarkLeaseAcquireRelease of the core.
func BenchmarkLeaseAcquireReleaseRedis(b *testing.B) {
	store, _, _ := newTestStore(b, redisstore.Options{})
	ctx := context.Background()
	expires := time.Now().Add(time.Hour)
	for i := range 10 {
		if _, err := store.Acquire(ctx, "web", "held"+strconv.Itoa(i), 100, expires); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		ok, err := store.Acquire(ctx, "web", "lease_0123456789abcdef01234567", 100, expires)
		if !ok || err != nil {
			b.Fatal(ok, err)
		}
		if err := store.Release(ctx, "web", "lease_0123456789abcdef01234567"); err != nil {
			b.Fatal(err)
		}
	}
}
