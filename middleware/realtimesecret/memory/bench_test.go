package memory

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	gocache "github.com/patrickmn/go-cache"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

func benchRecord() contract.Record {
	return contract.Record{
		KeyID:        "primary",
		VirtualKeyID: "web",
		Provider:     "openai",
		Model:        "gpt-realtime",
		Endpoint:     contract.EndpointClientSecret,
		ExpiresAt:    time.Unix(time.Now().Add(time.Hour).Unix(), 0),
	}
}

// BenchmarkMemoryStoreFootprint reports the live heap one record costs in
// the MemoryStore, as bytes/record: the heap after a GC with 1,000,000
// records stored, less the heap before, over 1,000,000. The records are
// what 1,000 mints a second for 1,000 s would leave: two virtual keys, two
// models, expiries a whole second apart as OpenAI gives them. The hashes
// are made before the first measurement, so they are not counted. One
// iteration fills a new store; ns/op is the time to store the million.
func BenchmarkMemoryStoreFootprint(b *testing.B) {
	const n, perSecond = 1_000_000, 1_000
	hashes := make([]contract.TokenHash, n)
	for i := range hashes {
		var seed [8]byte
		binary.LittleEndian.PutUint64(seed[:], uint64(i))
		hashes[i] = sha256.Sum256(seed[:])
	}
	base := benchRecord()
	recs := make([]contract.Record, n)
	for i := range recs {
		recs[i] = base
		recs[i].VirtualKeyID = [...]string{"web", "mobile"}[i%2]
		recs[i].Model = [...]string{"gpt-realtime", "gpt-realtime-mini"}[i%3%2]
		recs[i].ExpiresAt = base.ExpiresAt.Add(time.Duration(i/perSecond) * time.Second)
	}
	reportFootprint(b, hashes, recs)
}

// reportFootprint fills a new MemoryStore with recs under hashes once per
// iteration and reports the live heap it grew by per record, as B/record.
// The difference is signed: memory freed by an earlier benchmark in the same
// process can make it negative, which must show as such, not wrap around.
func reportFootprint(b *testing.B, hashes []contract.TokenHash, recs []contract.Record) {
	ctx := context.Background()
	var perRecord float64
	b.ReportAllocs()
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		s := NewStore()
		for i := range hashes {
			if err := s.Put(ctx, hashes[i], recs[i]); err != nil {
				b.Fatal(err)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		if s.Len() != len(hashes) {
			b.Fatalf("store holds %d records, want %d", s.Len(), len(hashes))
		}
		perRecord = (float64(after.HeapAlloc) - float64(before.HeapAlloc)) / float64(len(hashes))
		runtime.KeepAlive(s)
	}
	b.ReportMetric(perRecord, "B/record")
}

// BenchmarkMemoryStoreFootprintDistinct is the worst case of
// BenchmarkMemoryStoreFootprint: every record differs (one caller per token,
// as with an Authorizer keyed by user), so interning shares nothing. Run it
// in its own process (-bench 'FootprintDistinct$'): the interning map frees
// its million entries in the background after the benchmark, which would
// skew a footprint measured next in the same process.
func BenchmarkMemoryStoreFootprintDistinct(b *testing.B) {
	const n = 1_000_000
	hashes := make([]contract.TokenHash, n)
	recs := make([]contract.Record, n)
	base := benchRecord()
	for i := range hashes {
		var seed [8]byte
		binary.LittleEndian.PutUint64(seed[:], uint64(i))
		hashes[i] = sha256.Sum256(seed[:])
		recs[i] = base
		recs[i].VirtualKeyID = "user-" + strconv.Itoa(i) // counted: a distinct caller id is live too
		recs[i].ExpiresAt = base.ExpiresAt.Add(time.Duration(i%600) * time.Second)
	}
	reportFootprint(b, hashes, recs)
}

// BenchmarkMemoryStoreSweepStall reports the longest a Get waits while a
// sweep runs over 300,000 records, half of them expired: the store's
// sharded sweep against one go-cache map of them all (the store before it
// was sharded), in one run.
func BenchmarkStoreSweepStall(b *testing.B) {
	const n = 300_000
	cases := []struct {
		name string
		fill func() (sweep func(), get func(contract.TokenHash))
	}{
		{"sharded", func() (func(), func(contract.TokenHash)) {
			s := NewStore()
			fillForSweep(b, s, n)
			return s.sweep, func(h contract.TokenHash) { _, _, _ = s.Get(context.Background(), h) }
		}},
		{"one-map", func() (func(), func(contract.TokenHash)) {
			c := gocache.New(gocache.NoExpiration, 0)
			s := NewStore()
			for i, h := range fillForSweep(b, s, n) {
				ttl := time.Hour
				if i%2 == 0 {
					ttl = time.Nanosecond
				}
				c.Set(string(h[:]), &entry{}, ttl)
			}
			return c.DeleteExpired, func(h contract.TokenHash) { c.Get(string(h[:])) }
		}},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			var worst time.Duration
			h := contract.HashToken("ek_absent")
			for b.Loop() {
				b.StopTimer()
				sweep, get := tc.fill()
				b.StartTimer()
				var done atomic.Bool
				go func() { sweep(); done.Store(true) }()
				for !done.Load() {
					t0 := time.Now()
					get(h)
					worst = max(worst, time.Since(t0))
				}
			}
			b.ReportMetric(float64(worst.Microseconds()), "worst-get-µs")
		})
	}
}

// BenchmarkLeaseAcquireRelease takes and gives back one lease of a key that
// holds others, as every brokered session and WebSocket redemption of a
// key with MaxSessions does.
func BenchmarkLeaseAcquireRelease(b *testing.B) {
	r := NewSessionRegistry()
	ctx := context.Background()
	expires := time.Now().Add(time.Hour)
	for i := range 10 {
		_, _ = r.Acquire(ctx, "web", "held"+string(rune('a'+i)), 100, expires)
	}
	b.ReportAllocs()
	for b.Loop() {
		ok, err := r.Acquire(ctx, "web", "lease_0123456789abcdef01234567", 100, expires)
		if !ok || err != nil {
			b.Fatal(ok, err)
		}
		if err := r.Release(ctx, "web", "lease_0123456789abcdef01234567"); err != nil {
			b.Fatal(err)
		}
	}
}
