package redisstore_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/adapters/redisstore"
	"github.com/realtimesecret/realtimesecret/internal/redistest"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

func TestNewFromURLRejects(t *testing.T) {
	const password = "hunter2-redis-password"
	tests := []struct {
		name string
		url  string
		want string
	}{
		{name: "scheme", url: "http://user:" + password + "@127.0.0.1:6379", want: "want redis://host:6379/0"},
		{name: "no scheme, host:port", url: "127.0.0.1:6379", want: "no scheme: want redis://host:6379/0, rediss://"},
		{name: "no scheme, credentials", url: "user:" + password + "@127.0.0.1:6379/0", want: "no scheme: want redis://"},
		{name: "no scheme, opaque", url: "redis:6379", want: "no scheme: want redis://"},
		{name: "no scheme, host", url: "redis-host", want: "no scheme"},
		{name: "unparsable", url: "redis://user:" + password + "@127.0.0.1:port/0"},
		{name: "control character", url: "redis://user:" + password + "@127.0.0.1/\x7f"},
		{name: "database", url: "redis://user:" + password + "@127.0.0.1:6379/db"},
		{name: "query parameter", url: "redis://user:" + password + "@127.0.0.1:6379/0?dial_timeout=soon"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := redisstore.NewFromURL(tc.url, redisstore.Options{})
			require.Error(t, err)
			assert.Nil(t, s)
			assert.NotContains(t, err.Error(), password)
			assert.Contains(t, err.Error(), "redisstore: invalid redis URL")
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestNewFromURL(t *testing.T) {
	c := redistest.Client(t)
	prefix := redistest.Prefix(t, c)
	s, err := redisstore.NewFromURL(os.Getenv("REDIS_URL"), redisstore.Options{Prefix: prefix, Timeout: testTimeout})
	require.NoError(t, err)
	ctx := context.Background()
	h := contract.HashToken("ek_url")
	require.NoError(t, s.Put(ctx, h, record(time.Minute)))
	_, ok, err := redisstore.New(c, redisstore.Options{Prefix: prefix, Timeout: testTimeout}).Get(ctx, h)
	require.NoError(t, err)
	assert.True(t, ok, "the record is not where a Store with the same prefix looks")

	require.NoError(t, s.Close())
	assert.Error(t, s.Ping(ctx), "Close left the client it owns open")
}

func TestCloseLeavesCallersClientOpen(t *testing.T) {
	s, c, _ := newTestStore(t, redisstore.Options{})
	require.NoError(t, s.Close())
	assert.NoError(t, c.Ping(context.Background()).Err())
	assert.NoError(t, s.Ping(context.Background()))
}
