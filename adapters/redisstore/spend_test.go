package redisstore_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/adapters/redisstore"
	"github.com/realtimesecret/realtimesecret/internal/redistest"
	"github.com/realtimesecret/realtimesecret/internal/registrytest"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// TestSpendRedisLedger runs the SpendLedger conformance cases of the
// in-process ledger against Redis.
func TestSpendRedisLedger(t *testing.T) {
	registrytest.RunSpend(t, func(t *testing.T) contract.SpendLedger {
		store, _, _ := newTestStore(t, redisstore.Options{})
		return store
	})
}

// TestSpendRedisKeysExpire: a session's recorded cost lapses with its
// record, a period's spend a minute after the period.
func TestSpendRedisKeysExpire(t *testing.T) {
	store, c, prefix := newTestStore(t, redisstore.Options{})
	ctx := context.Background()
	s, err := store.AddSpend(ctx, contract.SessionSpend{Principal: "web", ID: "sess_1", USD: 0.5, Per: time.Hour,
		Expires: time.Now().Add(10 * time.Minute)})
	require.NoError(t, err)
	keys, err := c.Keys(ctx, prefix+"*").Result()
	require.NoError(t, err)
	require.Len(t, keys, 2, "%v", keys)
	for _, k := range keys {
		ttl, err := c.PTTL(ctx, k).Result()
		require.NoError(t, err)
		assert.Positive(t, ttl, k)
		if strings.Contains(k, ":sspend:") { // the session's cost: until its record lapses
			assert.LessOrEqual(t, ttl, 10*time.Minute+time.Second, k)
			continue
		}
		// The principal's spend: a minute after the period ends.
		assert.LessOrEqual(t, ttl, time.Until(s.PeriodStart.Add(time.Hour+time.Minute))+time.Second, k)
	}
}

// spendUpstream is a brokerUpstream whose GPT-Live sessions are metered:
// every attach is a sideband the test feeds, and session.close written on
// any attach of a session closes it, as the provider does, with
// session.closed on each.
type spendUpstream struct {
	*brokerUpstream
	mu       sync.Mutex
	attached map[string][]*liveSideband
	closed   map[string]time.Time
}

var _ contract.SessionWatcher = (*spendUpstream)(nil)

func newSpendUpstream() *spendUpstream {
	return &spendUpstream{brokerUpstream: newBrokerUpstream(), attached: map[string][]*liveSideband{}, closed: map[string]time.Time{}}
}

func (u *spendUpstream) Watch(_ context.Context, req *contract.SessionRequest) (contract.Sideband, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if _, gone := u.closed[req.SessionID]; gone {
		return nil, contract.ErrSessionNotFound
	}
	sb := &liveSideband{up: u, id: req.SessionID, events: make(chan []byte, 16), gone: make(chan struct{})}
	u.attached[req.SessionID] = append(u.attached[req.SessionID], sb)
	return sb, nil
}

// close ends session id as the provider does on session.close.
func (u *spendUpstream) close(id string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if _, gone := u.closed[id]; gone {
		return
	}
	u.closed[id] = time.Now()
	for _, sb := range u.attached[id] {
		sb.events <- []byte(`{"type":"session.closed","reason":"close_requested"}`)
	}
}

// closedIDs returns the sessions closed so far.
func (u *spendUpstream) closedIDs() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	var ids []string
	for id := range u.closed {
		ids = append(ids, id)
	}
	return ids
}

// meter waits for the first attach of session id: its meter's sideband.
func (u *spendUpstream) meter(t *testing.T, id string) *liveSideband {
	t.Helper()
	var sb *liveSideband
	require.Eventually(t, func() bool {
		u.mu.Lock()
		defer u.mu.Unlock()
		if len(u.attached[id]) == 0 {
			return false
		}
		sb = u.attached[id][0]
		return true
	}, 10*time.Second, time.Millisecond)
	return sb
}

type liveSideband struct {
	up     *spendUpstream
	id     string
	events chan []byte
	gone   chan struct{}
	once   sync.Once
}

func (s *liveSideband) Read(ctx context.Context) ([]byte, error) {
	select {
	case ev := <-s.events:
		return ev, nil
	case <-s.gone:
		return nil, contract.ErrSidebandClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (s *liveSideband) Write(_ context.Context, event []byte) error {
	if string(event) == `{"type":"session.close"}` {
		go s.up.close(s.id)
	}
	return nil
}

func (s *liveSideband) Close() error {
	s.once.Do(func() { close(s.gone) })
	return nil
}

// spendNode returns a metering Handler on store, brokering at up, whose
// virtual key web has budget, with its usage reports.
func spendNode(t *testing.T, up *spendUpstream, store *redisstore.Store, budget contract.Budget, failOpen bool) (*realtimesecret.Handler, chan realtimesecret.UsageEvent) {
	t.Helper()
	usage := make(chan realtimesecret.UsageEvent, 16)
	h, err := realtimesecret.New(realtimesecret.Config{
		Providers: []realtimesecret.ProviderConfig{{
			Name:     "openai",
			Provider: up,
			Keys:     []realtimesecret.Key{{ID: "primary", Value: upstreamKey}},
		}},
		VirtualKeys: []realtimesecret.VirtualKey{
			{ID: vkID, Value: vkValue, Budget: budget},
			{ID: otherVKID, Value: otherVKValue},
		},
		Store:              store,
		UsageMetering:      true,
		GovernanceFailOpen: failOpen,
		OnUsage:            func(ev realtimesecret.UsageEvent) { usage <- ev },
	})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, h.Close()) })
	return h, usage
}

// seconds is a GPT-Live running total.
func seconds(s float64) []byte {
	return []byte(`{"type":"session.usage.updated","usage":{"seconds":` + strconv.FormatFloat(s, 'f', -1, 64) + `}}`)
}

// TestSpendSharedBudgetAcrossNodes: two Handlers on one Redis share one
// budget. The usage that spends it on one node ends the key's sessions on
// both, within 2 s, and either node then refuses the key's new sessions;
// another key's session runs on.
func TestSpendSharedBudgetAcrossNodes(t *testing.T) {
	verifyNoLeaks(t)
	first := redistest.Client(t)
	prefix := redistest.Prefix(t, first)
	up := newSpendUpstream()
	budget := contract.Budget{USD: 1, Per: time.Hour} // 20 minutes of gpt-live-1
	a, usageA := spendNode(t, up, redisstore.New(first, redisstore.Options{Prefix: prefix, Timeout: testTimeout}), budget, false)
	b, usageB := spendNode(t, up, redisstore.New(redistest.Client(t), redisstore.Options{Prefix: prefix, Timeout: testTimeout}), budget, false)

	onA := requireLive(t, a, vkValue)
	onB := requireLive(t, b, vkValue)
	other := requireLive(t, a, otherVKValue)
	meterA, meterB := up.meter(t, onA), up.meter(t, onB)
	up.meter(t, other)

	meterA.events <- seconds(600) // $0.50
	require.Eventually(t, func() bool {
		s, err := redisstore.New(first, redisstore.Options{Prefix: prefix}).Spent(context.Background(), vkID, time.Hour)
		return err == nil && s.USD >= 0.5
	}, 5*time.Second, 5*time.Millisecond, "node a's spend reached the ledger")
	assert.Empty(t, up.closedIDs())

	crossed := time.Now()
	meterB.events <- seconds(720) // $0.60 more: $1.10
	require.Eventually(t, func() bool { return len(up.closedIDs()) == 2 }, 2*time.Second, 5*time.Millisecond,
		"both sessions of the key ended")
	assert.Less(t, time.Since(crossed), 2*time.Second)
	assert.ElementsMatch(t, []string{onA, onB}, up.closedIDs(), "the other key's session runs on")

	for _, h := range []*realtimesecret.Handler{a, b} {
		w := createLive(t, h, vkValue)
		assert.Equal(t, http.StatusTooManyRequests, w.Code, w.Body.String())
		assert.Equal(t, "budget_exceeded", errorCode(t, w))
	}
	evA, evB := nextUsageOf(t, usageA, onA), nextUsageOf(t, usageB, onB)
	assert.InDelta(t, 0.5, evA.CostUSD, 1e-9)
	assert.InDelta(t, 0.6, evB.CostUSD, 1e-9)
	assert.Equal(t, realtimesecret.UsageBudget, evB.End, "the node whose usage spent the budget ended it")
	spent, err := redisstore.New(first, redisstore.Options{Prefix: prefix}).Spent(context.Background(), vkID, time.Hour)
	require.NoError(t, err)
	assert.InDelta(t, 1.1, spent.USD, 1e-5)
}

// nextUsageOf returns the next usage report of session id on usage.
func nextUsageOf(t *testing.T, usage chan realtimesecret.UsageEvent, id string) realtimesecret.UsageEvent {
	t.Helper()
	for {
		select {
		case ev := <-usage:
			if ev.SessionID == id {
				return ev
			}
		case <-time.After(15 * time.Second):
			t.Fatalf("no usage report of %s", id)
		}
	}
}

// TestSpendRedisDown: with Redis stopped the ledger's calls fail fast; a
// budgeted key's session is refused with 503 governance_unavailable before
// anything reaches the provider (fail closed, like session limits), unless
// governance fails open. Once Redis is back, budgets count again.
func TestSpendRedisDown(t *testing.T) {
	verifyNoLeaks(t)
	srv := redistest.StartServer(t)
	const timeout = 500 * time.Millisecond
	store, err := redisstore.NewFromURL(srv.URL(), redisstore.Options{Timeout: timeout})
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close() })
	up := newSpendUpstream()
	budget := contract.Budget{USD: 1, Per: time.Hour}
	strict, _ := spendNode(t, up, store, budget, false)
	open, _ := spendNode(t, up, store, budget, true)
	calls := map[string]func(context.Context) error{
		"AddSpend": func(ctx context.Context) error {
			_, err := store.AddSpend(ctx, contract.SessionSpend{Principal: "fault", ID: "sess_fault", USD: 1, Per: time.Hour, Expires: time.Now().Add(time.Minute)})
			return err
		},
		"Spent": func(ctx context.Context) error { _, err := store.Spent(ctx, "fault", time.Hour); return err },
	}

	srv.Stop()
	requireFailsFast(t, calls, timeout)
	created := up.sessionCount()
	w := createLive(t, strict, vkValue)
	assert.Equal(t, http.StatusServiceUnavailable, w.Code, w.Body.String())
	assert.Equal(t, "governance_unavailable", errorCode(t, w))
	assert.Equal(t, created, up.sessionCount(), "nothing reached the provider")
	// Failing open admits it; the store cannot record it either, so
	// StrictStore is off in spendNode and the record is best effort.
	assert.Equal(t, http.StatusCreated, createLive(t, open, vkValue).Code)

	srv.Start()
	requireRecovers(t, calls)
	requireLive(t, strict, vkValue)
}

// BenchmarkSpent is the Redis ledger's half of a budgeted session's
// creation check: one script, one round trip. BenchmarkAddSpend is what a
// metered session's usage costs the ledger, at most once a second per
// session (more often only when its growth may spend the budget).
func BenchmarkSpent(b *testing.B) {
	store, _, _ := newTestStore(b, redisstore.Options{})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := store.Spent(ctx, vkID, 24*time.Hour); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAddSpend(b *testing.B) {
	store, _, _ := newTestStore(b, redisstore.Options{})
	ctx := context.Background()
	s := contract.SessionSpend{Principal: vkID, ID: "sess_bench", Per: 24 * time.Hour, Expires: time.Now().Add(time.Hour)}
	b.ReportAllocs()
	for b.Loop() {
		s.USD += 0.001
		if _, err := store.AddSpend(ctx, s); err != nil {
			b.Fatal(err)
		}
	}
}
