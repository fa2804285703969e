package redisstore_test

import (
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/realtimesecret/realtimesecret/adapters/redisstore"
	"github.com/realtimesecret/realtimesecret/internal/redistest"
)

// testTimeout is the Store timeout of tests that do not test timeouts: the
// default of 250 ms is meant for production latency, not for a CI machine
// running every package under -race at once.
const testTimeout = 5 * time.Second

// newTestStore returns a Store on REDIS_URL with a prefix of the test's own
// (and testTimeout unless opts has a Timeout), the client underneath for
// inspecting Redis directly, and the prefix.
func newTestStore(t testing.TB, opts redisstore.Options) (*redisstore.Store, *redis.Client, string) {
	t.Helper()
	c := redistest.Client(t)
	opts.Prefix = redistest.Prefix(t, c)
	if opts.Timeout == 0 {
		opts.Timeout = testTimeout
	}
	return redisstore.New(c, opts), c, opts.Prefix
}
