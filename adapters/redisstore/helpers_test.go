package redisstore_test

import (
	"context"
	"os"
	"regexp"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/adapters/redisstore"
)

// redisUnavailable skips the test when there is no Redis to test against,
// except under CI=true: CI starts a Redis (.ci/run), so a missing one there
// is a broken build, not a reason to skip.
func redisUnavailable(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("Redis is required when CI=true: %s", why)
	}
	t.Skipf("no Redis to test against (%s); set REDIS_URL, e.g. redis://127.0.0.1:6379/0", why)
}

// testClient returns a client for REDIS_URL that answers PING, closed when
// the test ends.
func testClient(t testing.TB) *redis.Client {
	t.Helper()
	raw := os.Getenv("REDIS_URL")
	if raw == "" {
		redisUnavailable(t, "REDIS_URL is not set")
	}
	opts, err := redis.ParseURL(raw)
	require.NoError(t, err, "REDIS_URL")
	opts.ContextTimeoutEnabled = true
	c := redis.NewClient(opts)
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		redisUnavailable(t, "REDIS_URL does not answer PING: "+err.Error())
	}
	return c
}

var unsafeKeyChars = regexp.MustCompile(`[^A-Za-z0-9_/-]`)

// testPrefix returns a key prefix of the test's own, so that tests running
// at once on one Redis never see each other's keys, and deletes every key
// under it when the test ends.
func testPrefix(t testing.TB, c redis.UniversalClient) string {
	t.Helper()
	prefix := "rstest:" + unsafeKeyChars.ReplaceAllString(t.Name(), "_") + ":"
	deleteKeys(t, c, prefix)
	t.Cleanup(func() { deleteKeys(t, c, prefix) })
	return prefix
}

// deleteKeys deletes every key that starts with prefix (which holds no glob
// characters).
func deleteKeys(t testing.TB, c redis.UniversalClient, prefix string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	require.NoError(t, iter.Err(), "scanning test keys")
	if len(keys) > 0 {
		require.NoError(t, c.Del(ctx, keys...).Err(), "deleting test keys")
	}
}

// testTimeout is the Store timeout of tests that do not test timeouts: the
// default of 250 ms is meant for production latency, not for a CI machine
// running every package under -race at once.
const testTimeout = 5 * time.Second

// newTestStore returns a Store on REDIS_URL with a prefix of the test's own
// (and testTimeout unless opts has a Timeout), the client underneath for
// inspecting Redis directly, and the prefix.
func newTestStore(t testing.TB, opts redisstore.Options) (*redisstore.Store, *redis.Client, string) {
	t.Helper()
	c := testClient(t)
	opts.Prefix = testPrefix(t, c)
	if opts.Timeout == 0 {
		opts.Timeout = testTimeout
	}
	return redisstore.New(c, opts), c, opts.Prefix
}
