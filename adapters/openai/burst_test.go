package openai_test

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/adapters/openai"
	"github.com/realtimesecret/realtimesecret/internal/fakeupstream"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
)

// TestBurstNeverOverMaxSessionsWhenTheUpstreamTimesOutAfterCreating: a
// 100-way burst of creations for a key with MaxSessions 2, against an
// upstream that creates each session and then answers after the adapter
// has given up. Every failed creation may have created a session, so it
// keeps its lease: the upstream never holds more live sessions for the key
// than its limit.
func TestBurstNeverOverMaxSessionsWhenTheUpstreamTimesOutAfterCreating(t *testing.T) {
	verifyNoLeaks(t)
	const maxSessions, burst = 2, 100
	up := fakeupstream.New(fakeupstream.Options{Keys: []string{stackKey}, MaxRequests: -1, CreateDelay: 5 * time.Second})
	srv := newUpstream(t, up.ServeHTTP)
	t.Cleanup(up.Close)
	s := newStack(t, stackConfig{adapter: openai.Config{BaseURL: srv.srv.URL, Timeout: 300 * time.Millisecond},
		tweak: func(cfg *realtimesecret.Config) { cfg.VirtualKeys[0].MaxSessions = maxSessions }})
	t.Cleanup(func() { require.NoError(t, s.handler.Close()) })

	kinds := sessionKinds()
	statuses := make(chan int, burst)
	var wg sync.WaitGroup
	for i := range burst {
		wg.Go(func() {
			k := kinds[i%2]
			resp, _ := s.broker(t, k.path, k.contentType, k.body)
			statuses <- resp.StatusCode
		})
	}
	wg.Wait()
	close(statuses)
	count := map[int]int{}
	for st := range statuses {
		count[st]++
	}
	assert.Equal(t, maxSessions, count[http.StatusGatewayTimeout], "the ones sent upstream timed out")
	assert.Equal(t, burst-maxSessions, count[http.StatusTooManyRequests], "the rest never left: %v", count)
	assert.LessOrEqual(t, up.SessionStats().Created(), maxSessions, "the upstream never held more than the limit")
	assert.LessOrEqual(t, up.ActiveSessions(), maxSessions)
}
