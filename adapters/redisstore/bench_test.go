package redisstore_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/realtimesecret/realtimesecret/adapters/redisstore"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
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
	h := realtimesecret.HashToken("ek_missing")
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
	h := realtimesecret.HashToken("ek_parallel")
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

func benchHashes(n int) []realtimesecret.TokenHash {
	hs := make([]realtimesecret.TokenHash, n)
	for i := range hs {
		hs[i] = realtimesecret.HashToken("ek_bench_" + strconv.Itoa(i))
	}
	return hs
}
