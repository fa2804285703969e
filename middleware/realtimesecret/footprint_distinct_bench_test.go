package realtimesecret_test

import (
	"crypto/sha256"
	"encoding/binary"
	"strconv"
	"testing"
	"time"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// BenchmarkMemoryStoreFootprintDistinct is the worst case of
// BenchmarkMemoryStoreFootprint: every record differs (one caller per token,
// as with an Authorizer keyed by user), so interning shares nothing. Run it
// in its own process (-bench 'FootprintDistinct$'): the interning map frees
// its million entries in the background after the benchmark, which would
// skew a footprint measured next in the same process.
func BenchmarkMemoryStoreFootprintDistinct(b *testing.B) {
	const n = 1_000_000
	hashes := make([]contract.TokenHash, n)
	recs := make([]realtimesecret.Record, n)
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
