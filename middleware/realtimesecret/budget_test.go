package realtimesecret_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/memory"
)

// feedSideband is a sideband a test feeds: Read returns what is sent on
// events; end makes it close as the provider closes a call's sideband when
// the call ends, drop as a connection that broke.
type feedSideband struct {
	events chan []byte
	gone   chan struct{}
	once   sync.Once
	err    error // what Read returns once gone
}

func newFeedSideband() *feedSideband {
	return &feedSideband{events: make(chan []byte, 64), gone: make(chan struct{})}
}

func (s *feedSideband) Read(ctx context.Context) ([]byte, error) {
	select { // what was sent before the end is read first
	case ev := <-s.events:
		return ev, nil
	default:
	}
	select {
	case ev := <-s.events:
		return ev, nil
	case <-s.gone:
		return nil, s.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (s *feedSideband) Write(context.Context, []byte) error { return nil }

func (s *feedSideband) Close() error { s.finish(contract.ErrSidebandClosed); return nil }

func (s *feedSideband) finish(err error) {
	s.once.Do(func() {
		s.err = err
		close(s.gone)
	})
}

var errDropped = errors.New("connection reset by peer")

// feedWatcher is a brokerProvider whose sidebands the test feeds: every
// Watch attaches a new one, kept by session id in order; while fail is set
// Watch fails with it.
type feedWatcher struct {
	*brokerProvider
	mu       sync.Mutex
	attached map[string][]*feedSideband
	fail     error
}

var _ contract.SessionWatcher = (*feedWatcher)(nil)

func newFeedWatcher() *feedWatcher {
	return &feedWatcher{brokerProvider: newBrokerProvider(), attached: map[string][]*feedSideband{}}
}

func (w *feedWatcher) Watch(_ context.Context, req *contract.SessionRequest) (contract.Sideband, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fail != nil {
		return nil, w.fail
	}
	sb := newFeedSideband()
	w.attached[req.SessionID] = append(w.attached[req.SessionID], sb)
	return sb, nil
}

// sideband waits for the nth attach (from 1) of session id.
func (w *feedWatcher) sideband(t *testing.T, id string, n int) *feedSideband {
	t.Helper()
	var sb *feedSideband
	require.Eventually(t, func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		if len(w.attached[id]) < n {
			return false
		}
		sb = w.attached[id][n-1]
		return true
	}, 10*time.Second, time.Millisecond, "attach %d of %s", n, id)
	return sb
}

// flakyLedger is a registry and ledger that fails while down.
type flakyLedger struct {
	*memory.SessionRegistry
	down atomic.Bool
}

var errLedgerDown = errors.New("ledger: connection refused")

func (f *flakyLedger) AddSpend(ctx context.Context, s contract.SessionSpend) (contract.Spend, error) {
	if f.down.Load() {
		return contract.Spend{}, errLedgerDown
	}
	return f.SessionRegistry.AddSpend(ctx, s)
}

func (f *flakyLedger) Spent(ctx context.Context, principal string, per time.Duration) (contract.Spend, error) {
	if f.down.Load() {
		return contract.Spend{}, errLedgerDown
	}
	return f.SessionRegistry.Spent(ctx, principal, per)
}

// budgeted returns a metering Handler in front of w whose virtual key web
// has budget, on registry (nil: in-process), with its usage reports.
func budgeted(t *testing.T, w *feedWatcher, budget contract.Budget, tweak func(*realtimesecret.Config)) (*realtimesecret.Handler, http.Handler, chan realtimesecret.UsageEvent) {
	t.Helper()
	usage := make(chan realtimesecret.UsageEvent, 16)
	cfg := twoCallers(w)
	cfg.UsageMetering = true
	cfg.OnUsage = func(ev realtimesecret.UsageEvent) { usage <- ev }
	cfg.VirtualKeys[0].Budget = budget
	if tweak != nil {
		tweak(&cfg)
	}
	h, err := realtimesecret.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, h.Close()) })
	return h, h.Wrap(&nextRecorder{}), usage
}

const realtimeSession = `{"type":"realtime","model":"openai/gpt-realtime"}`

// doneEvent is a response.done of audioOut output audio tokens and 10
// input text tokens.
func doneEvent(id string, audioOut int) []byte {
	return []byte(`{"type":"response.done","response":{"id":"` + id + `","usage":{"input_tokens":10,"output_tokens":` +
		strconv.Itoa(audioOut) + `,"input_token_details":{"text_tokens":10},"output_token_details":{"audio_tokens":` +
		strconv.Itoa(audioOut) + `}}}}`)
}

// doneCost is what doneEvent costs on gpt-realtime: $4 per 1M text input
// tokens, $64 per 1M audio output tokens.
func doneCost(audioOut int) float64 { return (10*4 + float64(audioOut)*64) / 1e6 }

var hourly = contract.Budget{USD: 1, Per: time.Hour}

func TestBudgetRefusesAnUnpricedModel(t *testing.T) {
	w := newFeedWatcher()
	_, srv, _ := budgeted(t, w, hourly, func(cfg *realtimesecret.Config) {
		cfg.Providers[0].Keys[0].Aliases = map[string]string{"gpt-realtime": "my-deployment"}
	})
	resp := call(t, srv, "/v1/realtime/calls", realtimeSession)
	e := requireAPIError(t, resp, http.StatusBadRequest)
	assert.Equal(t, "model_not_priced", *e.Error.Code)
	assert.Contains(t, e.Error.Message, `"my-deployment"`, "the model sent upstream is the one priced")
	assert.Zero(t, w.sessionCount(), "nothing was sent upstream")
	resp = call(t, srv, "/v1/realtime/calls", realtimeSession, "Authorization", "Bearer vk-other-secret-0002")
	assert.Equal(t, http.StatusCreated, resp.Code, "a key without a budget needs no price")

	_, srv, _ = budgeted(t, newFeedWatcher(), hourly, func(cfg *realtimesecret.Config) {
		cfg.Providers[0].Keys[0].Aliases = map[string]string{"gpt-realtime": "my-deployment"}
		cfg.Prices = map[string]contract.Price{"My-Deployment": {AudioInput: 32, AudioOutput: 64}}
	})
	assert.Equal(t, http.StatusCreated, call(t, srv, "/v1/realtime/calls", realtimeSession).Code, "Config.Prices adds it")
}

func TestBudgetRefusesUnmeteredMints(t *testing.T) {
	const mint = `{"session":{"type":"realtime","model":"openai/gpt-realtime"}}`
	w := newFeedWatcher()
	_, srv, _ := budgeted(t, w, hourly, nil)
	resp := do(t, srv, http.MethodPost, "/v1/realtime/client_secrets", mint, "Authorization", "Bearer "+vkWeb)
	e := requireAPIError(t, resp, http.StatusForbidden)
	assert.Equal(t, "unmetered_mint", *e.Error.Code)
	assert.Contains(t, e.Error.Message, "broker")
	assert.Zero(t, w.count(), "nothing was minted")
	assert.Equal(t, http.StatusOK, do(t, srv, http.MethodPost, "/v1/realtime/client_secrets", mint, "Authorization", "Bearer vk-other-secret-0002").Code)

	_, srv, _ = budgeted(t, newFeedWatcher(), hourly, func(cfg *realtimesecret.Config) { cfg.VirtualKeys[0].AllowUnmeteredMints = true })
	assert.Equal(t, http.StatusOK, do(t, srv, http.MethodPost, "/v1/realtime/client_secrets", mint, "Authorization", "Bearer "+vkWeb).Code)
}

func TestBudgetSpentRefusesNewSessions(t *testing.T) {
	w := newFeedWatcher()
	ledger := memory.NewSessionRegistry()
	_, srv, _ := budgeted(t, w, hourly, func(cfg *realtimesecret.Config) { cfg.SessionRegistry = ledger })
	_, err := ledger.AddSpend(context.Background(), contract.SessionSpend{Principal: "web", ID: "rtc_old", USD: 1.25,
		Per: time.Hour, Expires: time.Now().Add(time.Hour)})
	require.NoError(t, err)

	for _, resp := range []*httptestRecorder{
		call(t, srv, "/v1/realtime/calls", realtimeSession),
		do(t, srv, http.MethodPost, "/v1/live/sessions", liveBody, "Authorization", "Bearer "+vkWeb),
	} {
		e := requireAPIError(t, resp, http.StatusTooManyRequests)
		assert.Equal(t, "budget_exceeded", *e.Error.Code)
		assert.Equal(t, "insufficient_quota", e.Error.Type)
		assert.Contains(t, e.Error.Message, "$1.00 per 1h0m0s")
		assert.Equal(t, "false", resp.Header().Get("X-Should-Retry"))
		secs, err := strconv.Atoi(resp.Header().Get("Retry-After"))
		require.NoError(t, err)
		assert.LessOrEqual(t, secs, 3600)
	}
	assert.Zero(t, w.sessionCount(), "nothing was sent upstream")
	assert.Equal(t, http.StatusCreated, call(t, srv, "/v1/realtime/calls", realtimeSession, "Authorization", "Bearer vk-other-secret-0002").Code)
}

// TestBudgetCrossingEndsEveryLiveSession: the usage event that spends the
// budget ends every live session of the key upstream, within 2 s, each
// reported with End "budget" and its cost; the key's next session is
// refused.
func TestBudgetCrossingEndsEveryLiveSession(t *testing.T) {
	w := newFeedWatcher()
	ledger := memory.NewSessionRegistry()
	_, srv, usage := budgeted(t, w, hourly, func(cfg *realtimesecret.Config) { cfg.SessionRegistry = ledger })
	require.Equal(t, http.StatusCreated, call(t, srv, "/v1/realtime/calls", realtimeSession).Code)
	require.Equal(t, http.StatusCreated, call(t, srv, "/v1/realtime/calls", realtimeSession).Code)
	require.Equal(t, http.StatusCreated, call(t, srv, "/v1/realtime/calls", realtimeSession, "Authorization", "Bearer vk-other-secret-0002").Code)
	first, second := w.sideband(t, "rtc_1", 1), w.sideband(t, "rtc_2", 1)

	first.events <- doneEvent("resp_1", 1000) // $0.064: under budget
	second.events <- doneEvent("resp_1", 1000)
	time.Sleep(50 * time.Millisecond)
	assert.Empty(t, w.hangups())
	crossed := time.Now()
	second.events <- doneEvent("resp_2", 20000) // $1.28: spends it
	require.Eventually(t, func() bool { return len(w.hangups()) == 2 }, 2*time.Second, 5*time.Millisecond)
	assert.Less(t, time.Since(crossed), 2*time.Second)
	assert.Equal(t, []string{"rtc_1", "rtc_2"}, w.hangups(), "the other key's session runs on")
	first.finish(contract.ErrSidebandClosed)
	second.finish(contract.ErrSidebandClosed)

	costs := map[string]float64{}
	for range 2 {
		ev := nextUsage(t, usage)
		assert.Equal(t, realtimesecret.UsageBudget, ev.End, ev.SessionID)
		costs[ev.SessionID] = ev.CostUSD
	}
	assert.InDelta(t, doneCost(1000), costs["rtc_1"], 1e-12)
	assert.InDelta(t, doneCost(1000)+doneCost(20000), costs["rtc_2"], 1e-12)
	spent, err := ledger.Spent(context.Background(), "web", time.Hour)
	require.NoError(t, err)
	assert.InDelta(t, 2*doneCost(1000)+doneCost(20000), spent.USD, 1e-9)
	assert.Equal(t, "budget_exceeded", *requireAPIError(t, call(t, srv, "/v1/realtime/calls", realtimeSession), http.StatusTooManyRequests).Error.Code)
}

// TestBudgetSpendCountsOnceAcrossReattach: a sideband that drops and
// attaches again replays responses it delivered; neither the session's
// cost nor the ledger counts them twice.
func TestBudgetSpendCountsOnceAcrossReattach(t *testing.T) {
	w := newFeedWatcher()
	ledger := memory.NewSessionRegistry()
	_, srv, usage := budgeted(t, w, contract.Budget{USD: 100, Per: time.Hour}, func(cfg *realtimesecret.Config) { cfg.SessionRegistry = ledger })
	require.Equal(t, http.StatusCreated, call(t, srv, "/v1/realtime/calls", realtimeSession).Code)
	sb := w.sideband(t, "rtc_1", 1)
	sb.events <- doneEvent("resp_1", 100)
	sb.finish(errDropped)
	sb = w.sideband(t, "rtc_1", 2)
	sb.events <- doneEvent("resp_1", 100)
	sb.events <- doneEvent("resp_2", 300)
	sb.events <- doneEvent("resp_2", 300)
	sb.finish(contract.ErrSidebandClosed)

	ev := nextUsage(t, usage)
	want := doneCost(100) + doneCost(300)
	assert.Equal(t, 2, ev.Usage.Responses)
	assert.InDelta(t, want, ev.CostUSD, 1e-12)
	spent, err := ledger.Spent(context.Background(), "web", time.Hour)
	require.NoError(t, err)
	assert.InDelta(t, want, spent.USD, 1e-12)
}

// TestBudgetLedgerDown: a ledger that cannot say what a key spent refuses
// its sessions with 503 governance_unavailable (retryable), nothing sent
// upstream, unless governance fails open. A session's cost recorded while
// the ledger was down reaches it, once, when it is back.
func TestBudgetLedgerDown(t *testing.T) {
	w := newFeedWatcher()
	ledger := &flakyLedger{SessionRegistry: memory.NewSessionRegistry()}
	_, srv, usage := budgeted(t, w, contract.Budget{USD: 100, Per: time.Hour}, func(cfg *realtimesecret.Config) { cfg.SessionRegistry = ledger })
	require.Equal(t, http.StatusCreated, call(t, srv, "/v1/realtime/calls", realtimeSession).Code)
	sb := w.sideband(t, "rtc_1", 1)

	ledger.down.Store(true)
	resp := call(t, srv, "/v1/realtime/calls", realtimeSession)
	assert.Equal(t, "governance_unavailable", *requireAPIError(t, resp, http.StatusServiceUnavailable).Error.Code)
	assert.Equal(t, "1", resp.Header().Get("Retry-After"))
	assert.Equal(t, 1, w.sessionCount(), "nothing was sent upstream")
	sb.events <- doneEvent("resp_1", 100) // not recorded: the ledger is down
	time.Sleep(20 * time.Millisecond)

	ledger.down.Store(false)
	sb.events <- doneEvent("resp_2", 200) // carries the running total
	sb.finish(contract.ErrSidebandClosed)
	ev := nextUsage(t, usage)
	require.ErrorIs(t, ev.Err, errLedgerDown, "the failure is reported")
	spent, err := ledger.Spent(context.Background(), "web", time.Hour)
	require.NoError(t, err)
	assert.InDelta(t, doneCost(100)+doneCost(200), spent.USD, 1e-12)

	ledger.down.Store(true)
	_, srv, _ = budgeted(t, newFeedWatcher(), hourly, func(cfg *realtimesecret.Config) {
		cfg.SessionRegistry = ledger
		cfg.VirtualKeys[0].GovernanceFailOpen = true
	})
	assert.Equal(t, http.StatusCreated, call(t, srv, "/v1/realtime/calls", realtimeSession).Code, "fails open where asked")
}

// TestBudgetEndsASessionWhoseSidebandNeverAttaches: a budgeted session
// nothing could be counted of is ended upstream at the attach timeout,
// and reported as "unmetered".
func TestBudgetEndsASessionWhoseSidebandNeverAttaches(t *testing.T) {
	w := newFeedWatcher()
	w.fail = errors.New("dial tcp: connection refused")
	_, srv, usage := budgeted(t, w, hourly, func(cfg *realtimesecret.Config) { cfg.SidebandAttachTimeout = 200 * time.Millisecond })
	start := time.Now()
	require.Equal(t, http.StatusCreated, call(t, srv, "/v1/realtime/calls", realtimeSession).Code)
	require.Equal(t, http.StatusCreated, call(t, srv, "/v1/realtime/calls", realtimeSession, "Authorization", "Bearer vk-other-secret-0002").Code)
	require.Eventually(t, func() bool { return len(w.hangups()) == 1 }, 5*time.Second, 5*time.Millisecond)
	assert.GreaterOrEqual(t, time.Since(start), 200*time.Millisecond)
	assert.Equal(t, []string{"rtc_1"}, w.hangups(), "a session without a budget is left alone")
	ev := nextUsage(t, usage)
	assert.Equal(t, realtimesecret.UsageEnd("unmetered"), ev.End)
	assert.Equal(t, "rtc_1", ev.SessionID)
}

func TestBudgetLiveSecondsCost(t *testing.T) {
	w := newFeedWatcher()
	_, srv, usage := budgeted(t, w, contract.Budget{}, nil)
	require.Equal(t, http.StatusCreated, do(t, srv, http.MethodPost, "/v1/live/sessions", liveBody, "Authorization", "Bearer "+vkWeb).Code)
	sb := w.sideband(t, "sess_1", 1)
	for _, ev := range []string{
		`{"type":"session.usage.updated","usage":{"seconds":60}}`,
		`{"type":"session.usage.updated","usage":{"seconds":30}}`, // a replay: it adds nothing
		`{"type":"session.usage.updated","usage":{"seconds":-5}}`,
		`{"type":"session.closed","reason":"close_requested","usage":{"seconds":90}}`,
	} {
		sb.events <- []byte(ev)
	}
	ev := nextUsage(t, usage)
	assert.InDelta(t, 90.0, ev.Usage.Seconds, 0)
	assert.InDelta(t, 0.075, ev.CostUSD, 1e-12, "$0.05 a minute")
}

func TestBudgetConfigErrors(t *testing.T) {
	broker := newBrokerProvider() // brokers, cannot be metered
	for _, tc := range []struct {
		name  string
		tweak func(*realtimesecret.Config)
		want  string
	}{
		{name: "negative budget", tweak: func(c *realtimesecret.Config) { c.VirtualKeys[0].Budget = contract.Budget{USD: -1, Per: time.Hour} }, want: "Budget.USD"},
		{name: "zero budget with a period", tweak: func(c *realtimesecret.Config) { c.VirtualKeys[0].Budget = contract.Budget{Per: time.Hour} }, want: "Budget.USD"},
		{name: "period under a minute", tweak: func(c *realtimesecret.Config) {
			c.VirtualKeys[0].Budget = contract.Budget{USD: 1, Per: 59 * time.Second}
		}, want: "Budget.Per"},
		{name: "no period", tweak: func(c *realtimesecret.Config) { c.VirtualKeys[0].Budget = contract.Budget{USD: 1} }, want: "Budget.Per"},
		{name: "price not a number", tweak: func(c *realtimesecret.Config) {
			c.Prices = map[string]contract.Price{"m": {AudioInput: nan()}}
		}, want: "not a number"},
		{name: "negative price", tweak: func(c *realtimesecret.Config) { c.Prices = map[string]contract.Price{"m": {TextOutput: -1}} }, want: "negative"},
		{name: "price without a model", tweak: func(c *realtimesecret.Config) { c.Prices = map[string]contract.Price{"": {}} }, want: "model name"},
		{name: "negative attach timeout", tweak: func(c *realtimesecret.Config) { c.SidebandAttachTimeout = -time.Second }, want: "SidebandAttachTimeout"},
		{name: "budget on an unmetered provider", tweak: func(c *realtimesecret.Config) {
			c.Providers[0].Provider = broker
			c.UsageMetering = false
			c.VirtualKeys[0].Budget = hourly
		}, want: "not metered"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := twoCallers(newFeedWatcher())
			cfg.UsageMetering = true
			tc.tweak(&cfg)
			_, err := realtimesecret.New(cfg)
			require.ErrorIs(t, err, realtimesecret.ErrInvalidConfig)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func nan() float64 {
	zero := 0.0
	return zero / zero
}

// TestBudgetOfAnAuthorizersPrincipal: an Authorizer's Principal has a
// budget as a virtual key does; one New could not check is refused with
// 500 invalid_budget, nothing sent.
func TestBudgetOfAnAuthorizersPrincipal(t *testing.T) {
	w := newFeedWatcher()
	ledger := memory.NewSessionRegistry()
	budget := hourly
	cfg := twoCallers(w)
	cfg.VirtualKeys = nil
	cfg.UsageMetering = true
	cfg.SessionRegistry = ledger
	cfg.Authorizer = func(*http.Request, realtimesecret.Intent) (realtimesecret.Principal, error) {
		return realtimesecret.Principal{ID: "user-1", Budget: budget}, nil
	}
	h, err := realtimesecret.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, h.Close()) })
	srv := h.Wrap(&nextRecorder{})
	require.Equal(t, http.StatusCreated, call(t, srv, "/v1/realtime/calls", realtimeSession).Code)
	_, err = ledger.AddSpend(context.Background(), contract.SessionSpend{Principal: "user-1", ID: "rtc_x", USD: 2, Per: time.Hour,
		Expires: time.Now().Add(time.Hour)})
	require.NoError(t, err)
	assert.Equal(t, "budget_exceeded", *requireAPIError(t, call(t, srv, "/v1/realtime/calls", realtimeSession), http.StatusTooManyRequests).Error.Code)

	budget = contract.Budget{USD: 5} // no period
	assert.Equal(t, "invalid_budget", *requireAPIError(t, call(t, srv, "/v1/realtime/calls", realtimeSession), http.StatusInternalServerError).Error.Code)
	assert.Equal(t, 1, w.sessionCount(), "nothing more was sent upstream")
}

// TestBudgetQuietSessionSpendIsFlushed: usage that was not due when it
// arrived (another was sent less than a second before) reaches the ledger
// within a second or so, though no event follows.
func TestBudgetQuietSessionSpendIsFlushed(t *testing.T) {
	w := newFeedWatcher()
	ledger := memory.NewSessionRegistry()
	_, srv, _ := budgeted(t, w, contract.Budget{USD: 100, Per: time.Hour}, func(cfg *realtimesecret.Config) { cfg.SessionRegistry = ledger })
	require.Equal(t, http.StatusCreated, call(t, srv, "/v1/realtime/calls", realtimeSession).Code)
	sb := w.sideband(t, "rtc_1", 1)
	sb.events <- doneEvent("resp_1", 100) // sent at once
	sb.events <- doneEvent("resp_2", 200) // not due yet
	want := doneCost(100) + doneCost(200)
	start := time.Now()
	require.Eventually(t, func() bool {
		s, err := ledger.Spent(context.Background(), "web", time.Hour)
		return err == nil && s.USD >= want-1e-12
	}, 5*time.Second, 10*time.Millisecond)
	assert.Less(t, time.Since(start), 2*time.Second)
	sb.finish(contract.ErrSidebandClosed)
}

// TestBudgetOfAUserTravelsWithItsSecret: an Authorizer's principal (a JWT
// user) with a budget mints a secret; the call a browser creates with it
// is metered against the user's budget, which its usage spends, and once
// it is spent the next call with a secret of the user's is 429
// budget_exceeded before anything reaches the provider: the budget
// travels in the token's record (or its seal, redeemed on another node
// whose Authorizer refuses everyone), as the session limits do.
func TestBudgetOfAUserTravelsWithItsSecret(t *testing.T) {
	for _, sealed := range []bool{false, true} {
		t.Run(map[bool]string{false: "stored", true: "sealed"}[sealed], func(t *testing.T) {
			w := newFeedWatcher()
			ledger := memory.NewSessionRegistry()
			cfg := twoCallers(w)
			cfg.VirtualKeys = nil
			cfg.UsageMetering = true
			cfg.SessionRegistry = ledger
			cfg.Authorizer = func(*http.Request, realtimesecret.Intent) (realtimesecret.Principal, error) {
				return realtimesecret.Principal{ID: "alice", Kind: "user", Budget: hourly, AllowUnmeteredMints: true}, nil
			}
			if sealed {
				cfg.SealKeys = []realtimesecret.SealKey{bytes.Repeat([]byte{1}, 32)}
			}
			minter, err := realtimesecret.New(cfg)
			require.NoError(t, err)
			t.Cleanup(func() { require.NoError(t, minter.Close()) })
			redeemer := minter
			if sealed {
				other := cfg
				other.Authorizer = func(*http.Request, realtimesecret.Intent) (realtimesecret.Principal, error) {
					return realtimesecret.Principal{}, realtimesecret.ErrForbidden
				}
				redeemer, err = realtimesecret.New(other)
				require.NoError(t, err)
				t.Cleanup(func() { require.NoError(t, redeemer.Close()) })
			}
			proxy := &providerProxy{}
			mint := func() string {
				secret := mintedValue(t, do(t, minter.Wrap(proxy), http.MethodPost, "/v1/realtime/client_secrets", gaBody))
				require.Equal(t, sealed, strings.HasPrefix(secret, "ek_rs_"), secret)
				return secret
			}
			first, second := mint(), mint()
			srv := redeemer.Wrap(proxy)

			resp := ekCall(t, srv, first)
			require.Equal(t, http.StatusCreated, resp.Code, resp.Body.String())
			w.sideband(t, "rtc_ek1", 1).events <- doneEvent("resp_1", 20000) // $1.28: spends the $1
			require.Eventually(t, func() bool { return len(w.hangups()) == 1 }, 5*time.Second, 5*time.Millisecond, "the spent budget ended it")
			spent, err := ledger.Spent(context.Background(), "alice", time.Hour)
			require.NoError(t, err)
			assert.InDelta(t, doneCost(20000), spent.USD, 1e-9, "the call's usage spent the user's budget")

			e := requireAPIError(t, ekCall(t, srv, second), http.StatusTooManyRequests)
			assert.Equal(t, "budget_exceeded", *e.Error.Code)
			assert.Contains(t, e.Error.Message, "$1.00 per 1h0m0s")
			assert.Equal(t, 1, proxy.count(), "nothing more reached the provider")
		})
	}
}
