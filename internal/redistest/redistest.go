// Package redistest gives tests a real Redis: the shared one that REDIS_URL
// names (.ci/run starts it), with a key prefix of each test's own, or a
// redis-server process of the test's own that it can stop, freeze and start
// again, for fault tests.
//
// Without a Redis, a test is skipped, except under CI=true, where it fails:
// CI provides Redis, so a missing one there is a broken build.
//
// The package is internal: it is test tooling, not API.
package redistest

import (
	"context"
	"os"
	"regexp"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// Unavailable skips the test for want of a Redis, or fails it under CI=true.
func Unavailable(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("Redis is required when CI=true: %s", why)
	}
	t.Skipf("no Redis to test against (%s); set REDIS_URL, e.g. redis://127.0.0.1:6379/0", why)
}

// URL returns REDIS_URL once it answers PING.
func URL(t testing.TB) string {
	t.Helper()
	Client(t)
	return os.Getenv("REDIS_URL")
}

// Client returns a client for REDIS_URL that answers PING, closed when the
// test ends. It applies context deadlines to the socket, as a client for
// redisstore should.
func Client(t testing.TB) *redis.Client {
	t.Helper()
	raw := os.Getenv("REDIS_URL")
	if raw == "" {
		Unavailable(t, "REDIS_URL is not set")
	}
	opts, err := redis.ParseURL(raw)
	require.NoError(t, err, "REDIS_URL")
	opts.ContextTimeoutEnabled = true
	c := redis.NewClient(opts)
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		Unavailable(t, "REDIS_URL does not answer PING: "+err.Error())
	}
	return c
}

var unsafeKeyChars = regexp.MustCompile(`[^A-Za-z0-9_/-]`)

// Prefix returns a key prefix of the test's own, so that tests sharing one
// Redis never see each other's keys, and deletes every key under it before
// and after the test.
func Prefix(t testing.TB, c redis.UniversalClient) string {
	t.Helper()
	prefix := "rstest:" + unsafeKeyChars.ReplaceAllString(t.Name(), "_") + ":"
	deleteKeys(t, c, prefix)
	t.Cleanup(func() { deleteKeys(t, c, prefix) })
	return prefix
}

// deleteKeys deletes every key that starts with prefix, which holds no glob
// characters.
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
