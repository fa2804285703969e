package realtimesecret_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/memory"
)

// sessionsUpstream is a brokerProvider whose sidebands attach while the
// session is live upstream, and fail with ErrSessionNotFound once it is
// over.
type sessionsUpstream struct {
	*brokerProvider
	mu       sync.Mutex
	over     map[string]bool
	attaches map[string][]*memSideband
}

var _ contract.SessionWatcher = (*sessionsUpstream)(nil)

func newSessionsUpstream() *sessionsUpstream {
	return &sessionsUpstream{brokerProvider: newBrokerProvider(), over: map[string]bool{}, attaches: map[string][]*memSideband{}}
}

func (u *sessionsUpstream) Watch(_ context.Context, req *contract.SessionRequest) (contract.Sideband, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.over[req.SessionID] {
		return nil, contract.ErrSessionNotFound
	}
	// The first attach sees the session's first response; a later one
	// (after an adoption) only what comes after, as OpenAI's sidebands
	// send only what happens while they are attached.
	event := done1
	if len(u.attaches[req.SessionID]) > 0 {
		event = done1Again
	}
	sb := newMemSideband(nil, event)
	u.attaches[req.SessionID] = append(u.attaches[req.SessionID], sb)
	return sb, nil
}

// done1Again is a second response with done1's usage: it costs as much.
var done1Again = strings.Replace(done1, `"id":"resp_1"`, `"id":"resp_9"`, 1)

// end ends session id upstream: its sidebands close as the provider closes
// them.
func (u *sessionsUpstream) end(id string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.over[id] = true
	for _, sb := range u.attaches[id] {
		sb.Close()
	}
}

func (u *sessionsUpstream) attachCount(id string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.attaches[id])
}

// adoptNode is a metering Handler on the shared store and registry, whose
// usage reports go to usage.
func adoptNode(t *testing.T, up *sessionsUpstream, store *memory.Store, registry contract.SessionRegistry,
	usage chan realtimesecret.UsageEvent,
) (*realtimesecret.Handler, http.Handler) {
	t.Helper()
	cfg := twoCallers(up)
	cfg.Store, cfg.SessionRegistry = store, registry
	cfg.UsageMetering, cfg.AdoptAfter = true, 600*time.Millisecond
	cfg.VirtualKeys[0].MaxSessions = 2
	cfg.OnUsage = func(ev realtimesecret.UsageEvent) { usage <- ev }
	h, err := realtimesecret.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, h.Close()) })
	return h, h.Wrap(&nextRecorder{})
}

// TestAdoptedWhenTheirNodeStops: node A meters two calls and stops; node
// B, on the same registry, adopts both at once (A handed them over): the
// one that ended upstream meanwhile is found over and its lease released,
// the other is metered by B from then on.
func TestAdoptedWhenTheirNodeStops(t *testing.T) {
	up := newSessionsUpstream()
	store, registry := memory.NewStore(), sharedRegistry{memory.NewSessionRegistry()}
	usage := make(chan realtimesecret.UsageEvent, 16)
	a, onA := adoptNode(t, up, store, registry, usage)
	b, onB := adoptNode(t, up, store, registry, usage)
	const callJSON = `{"type":"realtime","model":"openai/gpt-realtime"}`
	require.Equal(t, http.StatusCreated, call(t, onA, "/v1/realtime/calls", callJSON).Code)
	require.Equal(t, http.StatusCreated, call(t, onA, "/v1/realtime/calls", callJSON).Code)
	require.Eventually(t, func() bool { return up.attachCount("rtc_1") == 1 && up.attachCount("rtc_2") == 1 },
		10*time.Second, 5*time.Millisecond)

	require.NoError(t, a.Close())
	for range 2 {
		assert.Equal(t, realtimesecret.UsageStopped, nextUsage(t, usage).End, "A stopped metering")
	}
	up.end("rtc_1") // over while no node watches it

	ev := nextUsage(t, usage)
	assert.Equal(t, "rtc_1", ev.SessionID)
	assert.Equal(t, realtimesecret.UsageEnded, ev.End, "B found it over")
	require.Eventually(t, func() bool { return up.attachCount("rtc_2") == 2 }, 10*time.Second, 5*time.Millisecond,
		"B attached the live call's sideband")
	require.Eventually(t, func() bool { u, ok := b.SessionUsage("rtc_2"); return ok && u.Responses == 1 },
		10*time.Second, 5*time.Millisecond, "B meters it")

	assert.Equal(t, http.StatusCreated, call(t, onB, "/v1/realtime/calls", callJSON).Code, "rtc_1's lease was released")
	assert.Equal(t, http.StatusTooManyRequests, call(t, onB, "/v1/realtime/calls", callJSON).Code, "rtc_2 still counts")

	up.end("rtc_2")
	ev = nextUsage(t, usage)
	assert.Equal(t, "rtc_2", ev.SessionID)
	assert.Equal(t, realtimesecret.UsageEnded, ev.End)
	assert.Equal(t, 1, ev.Usage.Responses, "what B saw on its sideband")
}

// cutOff is a node's view of the shared registry after it lost its
// connection for the watches: it cannot renew them.
type cutOff struct{ contract.SessionRegistry }

var errCutOff = errors.New("registry connection lost")

func (cutOff) Watch(context.Context, []contract.SessionRef, time.Time) error {
	return errCutOff
}

// TestAdoptedWhenTheirNodeCannotVouch: a node that cannot renew its
// watches (dead, or cut off from the registry) has its sessions adopted
// by another node once they lapse, without a hand-over.
func TestAdoptedWhenTheirNodeCannotVouch(t *testing.T) {
	up := newSessionsUpstream()
	store, registry := memory.NewStore(), memory.NewSessionRegistry()
	usage := make(chan realtimesecret.UsageEvent, 16)
	_, onA := adoptNode(t, up, store, cutOff{registry}, usage)
	b, _ := adoptNode(t, up, store, sharedRegistry{registry}, usage)
	require.Equal(t, http.StatusCreated, call(t, onA, "/v1/realtime/calls", `{"type":"realtime","model":"openai/gpt-realtime"}`).Code)

	start := time.Now()
	require.Eventually(t, func() bool { return up.attachCount("rtc_1") == 2 }, 10*time.Second, 5*time.Millisecond,
		"B did not adopt the call")
	assert.GreaterOrEqual(t, time.Since(start), 500*time.Millisecond, "not before its watch lapsed")
	require.Eventually(t, func() bool { _, ok := b.SessionUsage("rtc_1"); return ok }, 10*time.Second, 5*time.Millisecond)
	assert.Never(t, func() bool { return up.attachCount("rtc_1") > 2 }, time.Second, 20*time.Millisecond,
		"adopted once: B renews its watch")
}

// sharedLedger is a registry and ledger the middleware cannot know to be
// in-process, as adapters/redisstore's Store.
type sharedLedger struct{ *memory.SessionRegistry }

// TestAdoptedSessionCostGoesOn: a budgeted call adopted from a node that
// stopped is metered on from the cost the ledger recorded for it: its
// principal's spend counts the responses before and after the adoption,
// each once.
func TestAdoptedSessionCostGoesOn(t *testing.T) {
	up := newSessionsUpstream()
	ledger := memory.NewSessionRegistry()
	store, registry := memory.NewStore(), sharedLedger{ledger}
	usage := make(chan realtimesecret.UsageEvent, 16)
	budget := contract.Budget{USD: 100, Per: time.Hour}
	node := func() (*realtimesecret.Handler, http.Handler) {
		cfg := twoCallers(up)
		cfg.Store, cfg.SessionRegistry = store, registry
		cfg.UsageMetering, cfg.AdoptAfter = true, 600*time.Millisecond
		cfg.VirtualKeys[0].Budget = budget
		cfg.OnUsage = func(ev realtimesecret.UsageEvent) { usage <- ev }
		h, err := realtimesecret.New(cfg)
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, h.Close()) })
		return h, h.Wrap(&nextRecorder{})
	}
	a, onA := node()
	b, _ := node()
	require.Equal(t, http.StatusCreated, call(t, onA, "/v1/realtime/calls", `{"type":"realtime","model":"openai/gpt-realtime"}`).Code)
	require.Eventually(t, func() bool { u, ok := a.SessionUsage("rtc_1"); return ok && u.Responses == 1 }, 10*time.Second, 5*time.Millisecond)

	require.NoError(t, a.Close())
	before := nextUsage(t, usage)
	require.Equal(t, realtimesecret.UsageStopped, before.End)
	require.Positive(t, before.CostUSD)
	spent, err := ledger.Spent(context.Background(), "web", budget.Per)
	require.NoError(t, err)
	assert.InDelta(t, before.CostUSD, spent.USD, 1e-6, "A ledgered what it metered")

	require.Eventually(t, func() bool { u, ok := b.SessionUsage("rtc_1"); return ok && u.Responses == 1 }, 10*time.Second, 5*time.Millisecond,
		"B adopted the call and metered its next response")
	up.end("rtc_1")
	after := nextUsage(t, usage)
	assert.InDelta(t, 2*before.CostUSD, after.CostUSD, 1e-6, "the session's cost goes on from what A recorded")
	spent, err = ledger.Spent(context.Background(), "web", budget.Per)
	require.NoError(t, err)
	assert.InDelta(t, 2*before.CostUSD, spent.USD, 1e-6, "both responses count, each once")
}

// TestAdoptedSessionOfAUserKeepsItsBudget: a call an Authorizer's
// principal (a JWT user) created, adopted by a node whose Authorizer is
// never asked about it, is metered against the user's budget as recorded
// with the session: what it costs after the adoption spends it too.
func TestAdoptedSessionOfAUserKeepsItsBudget(t *testing.T) {
	up := newSessionsUpstream()
	ledger := memory.NewSessionRegistry()
	store, registry := memory.NewStore(), sharedLedger{ledger}
	usage := make(chan realtimesecret.UsageEvent, 16)
	budget := contract.Budget{USD: 100, Per: time.Hour}
	node := func(authorize realtimesecret.Authorizer) (*realtimesecret.Handler, http.Handler) {
		cfg := twoCallers(up)
		cfg.VirtualKeys = nil
		cfg.Authorizer = authorize
		cfg.Store, cfg.SessionRegistry = store, registry
		cfg.UsageMetering, cfg.AdoptAfter = true, 600*time.Millisecond
		cfg.OnUsage = func(ev realtimesecret.UsageEvent) { usage <- ev }
		h, err := realtimesecret.New(cfg)
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, h.Close()) })
		return h, h.Wrap(&nextRecorder{})
	}
	a, onA := node(func(*http.Request, realtimesecret.Intent) (realtimesecret.Principal, error) {
		return realtimesecret.Principal{ID: "alice", Kind: "user", Budget: budget}, nil
	})
	b, _ := node(func(*http.Request, realtimesecret.Intent) (realtimesecret.Principal, error) {
		return realtimesecret.Principal{}, realtimesecret.ErrForbidden
	})
	require.Equal(t, http.StatusCreated, call(t, onA, "/v1/realtime/calls", `{"type":"realtime","model":"openai/gpt-realtime"}`).Code)
	require.Eventually(t, func() bool { u, ok := a.SessionUsage("rtc_1"); return ok && u.Responses == 1 }, 10*time.Second, 5*time.Millisecond)

	require.NoError(t, a.Close())
	before := nextUsage(t, usage)
	require.Equal(t, realtimesecret.UsageStopped, before.End)
	require.Positive(t, before.CostUSD)

	require.Eventually(t, func() bool { u, ok := b.SessionUsage("rtc_1"); return ok && u.Responses == 1 }, 10*time.Second, 5*time.Millisecond,
		"B adopted the call and metered its next response")
	up.end("rtc_1")
	after := nextUsage(t, usage)
	assert.InDelta(t, 2*before.CostUSD, after.CostUSD, 1e-6)
	spent, err := ledger.Spent(context.Background(), "alice", budget.Per)
	require.NoError(t, err)
	assert.InDelta(t, 2*before.CostUSD, spent.USD, 1e-6, "the user's budget is spent by the adopted session too")
}
