package registrytest

import (
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// spendTolerance is how far a ledger's sum may be from the exact one: a
// shared ledger keeps whole micro-dollars, each session's total rounded up.
const spendTolerance = 1e-5

// RunSpend runs the SpendLedger conformance cases, each on a ledger of its
// own from newLedger, so that budgets behave alike on one node and many.
func RunSpend(t *testing.T, newLedger func(t *testing.T) contract.SpendLedger) {
	t.Helper()
	for _, tc := range spendCases {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, newLedger(t))
		})
	}
}

var spendCases = []struct {
	name string
	run  func(t *testing.T, l contract.SpendLedger)
}{
	{name: "A session's growth is added once", run: spendGrowthOnce},
	{name: "Sessions add up per principal and period", run: spendSessionsAddUp},
	{name: "Periods are aligned to the epoch", run: spendPeriodsAligned},
	{name: "A period must be positive", run: spendPeriodPositive},
	{name: "Principals and ids of any bytes", run: spendAnyBytes},
	{name: "Concurrent totals of one session count its highest", run: spendConcurrentOneSession},
	{name: "Concurrent sessions add up exactly", run: spendConcurrentSessions},
	{name: "SessionCost is the recorded total", run: spendSessionCost},
}

func addSpend(t *testing.T, l contract.SpendLedger, principal, id string, usd float64, per time.Duration) contract.Spend {
	t.Helper()
	s, err := l.AddSpend(ctx, contract.SessionSpend{Principal: principal, ID: id, USD: usd, Per: per, Expires: hour()})
	require.NoError(t, err)
	return s
}

func spent(t *testing.T, l contract.SpendLedger, principal string, per time.Duration) contract.Spend {
	t.Helper()
	s, err := l.Spent(ctx, principal, per)
	require.NoError(t, err)
	return s
}

func spendGrowthOnce(t *testing.T, l contract.SpendLedger) {
	assert.InDelta(t, 0.0, spent(t, l, "web", time.Hour).USD, 0)
	assert.InDelta(t, 0.25, addSpend(t, l, "web", "rtc_1", 0.25, time.Hour).USD, spendTolerance)
	assert.InDelta(t, 0.25, addSpend(t, l, "web", "rtc_1", 0.25, time.Hour).USD, spendTolerance, "the same total again")
	assert.InDelta(t, 0.25, addSpend(t, l, "web", "rtc_1", 0.1, time.Hour).USD, spendTolerance, "a lower, late total")
	assert.InDelta(t, 1.0, addSpend(t, l, "web", "rtc_1", 1, time.Hour).USD, spendTolerance, "the growth only")
	assert.InDelta(t, 1.0, spent(t, l, "web", time.Hour).USD, spendTolerance)
}

func spendSessionCost(t *testing.T, l contract.SpendLedger) {
	costs, ok := l.(contract.SessionCosts)
	require.True(t, ok, "the ledger tells a session's recorded cost")
	cost := func(principal, id string) float64 {
		usd, err := costs.SessionCost(ctx, principal, id)
		require.NoError(t, err)
		return usd
	}
	assert.InDelta(t, 0.0, cost("web", "rtc_1"), 0, "none recorded")
	addSpend(t, l, "web", "rtc_1", 0.25, time.Hour)
	addSpend(t, l, "web", "rtc_1", 0.1, time.Hour) // late
	assert.InDelta(t, 0.25, cost("web", "rtc_1"), spendTolerance)
	assert.InDelta(t, 0.0, cost("other", "rtc_1"), 0, "another principal's session of that id")
}

func spendSessionsAddUp(t *testing.T, l contract.SpendLedger) {
	addSpend(t, l, "web", "rtc_1", 0.5, time.Hour)
	assert.InDelta(t, 0.75, addSpend(t, l, "web", "rtc_2", 0.25, time.Hour).USD, spendTolerance)
	assert.InDelta(t, 0.0, spent(t, l, "other", time.Hour).USD, 0, "another principal")
	assert.InDelta(t, 0.0, spent(t, l, "web", 24*time.Hour).USD, 0, "another period length")
	addSpend(t, l, "other", "rtc_1", 2, time.Hour) // the same id under another principal is another session
	assert.InDelta(t, 0.75, spent(t, l, "web", time.Hour).USD, spendTolerance)
	assert.InDelta(t, 2.0, spent(t, l, "other", time.Hour).USD, spendTolerance)
}

func spendPeriodsAligned(t *testing.T, l contract.SpendLedger) {
	for _, per := range []time.Duration{time.Minute, time.Hour, 24 * time.Hour, 7 * 24 * time.Hour} {
		before := time.Now()
		s := spent(t, l, "web", per)
		want := contract.Budget{Per: per}.Start(before)
		// A shared ledger's clock may sit a little either side of ours.
		if !s.PeriodStart.Equal(want) {
			assert.WithinDuration(t, want, s.PeriodStart, per, "per %s", per)
			assert.True(t, before.Sub(s.PeriodStart) < clockSlack || s.PeriodStart.Add(per).Sub(before) < clockSlack,
				"per %s: %s is a neighbouring period only at a boundary", per, s.PeriodStart)
		}
		assert.Zero(t, s.PeriodStart.UnixMilli()%per.Milliseconds(), "per %s starts at a multiple of it", per)
		assert.Equal(t, time.UTC, s.PeriodStart.Location())
		a := addSpend(t, l, "web", "sess_"+per.String(), 0.01, per)
		if !a.PeriodStart.Equal(s.PeriodStart) { // a boundary passed in between
			assert.Equal(t, s.PeriodStart.Add(per), a.PeriodStart, "AddSpend names the same period")
		}
	}
	day := spent(t, l, "web", 24*time.Hour).PeriodStart
	assert.Equal(t, 0, day.Hour()+day.Minute()+day.Second(), "a daily budget starts at 00:00 UTC")
}

func spendPeriodPositive(t *testing.T, l contract.SpendLedger) {
	_, err := l.Spent(ctx, "web", 0)
	require.Error(t, err)
	_, err = l.AddSpend(ctx, contract.SessionSpend{Principal: "web", ID: "rtc_1", USD: 1, Expires: hour()})
	require.Error(t, err)
}

func spendAnyBytes(t *testing.T, l contract.SpendLedger) {
	odd := []string{"", ":", "1:a", "a\x00b", "{gov}", "*", "per:1:2", "ünï"}
	for i, p := range odd {
		addSpend(t, l, p, odd[(i+1)%len(odd)], float64(i+1), time.Hour)
	}
	for i, p := range odd {
		assert.InDelta(t, float64(i+1), spent(t, l, p, time.Hour).USD, spendTolerance, "principal %q", p)
	}
}

func spendConcurrentOneSession(t *testing.T, l contract.SpendLedger) {
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			_, err := l.AddSpend(ctx, contract.SessionSpend{Principal: "web", ID: "rtc_1", USD: float64(i+1) / 100, Per: time.Hour, Expires: hour()})
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	assert.InDelta(t, 0.20, spent(t, l, "web", time.Hour).USD, spendTolerance, "the highest total, once")
}

func spendConcurrentSessions(t *testing.T, l contract.SpendLedger) {
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			for step := 1; step <= 5; step++ {
				_, err := l.AddSpend(ctx, contract.SessionSpend{Principal: "web", ID: "rtc_" + strconv.Itoa(i),
					USD: float64(step) * 0.125, Per: time.Hour, Expires: hour()})
				assert.NoError(t, err)
			}
		})
	}
	wg.Wait()
	assert.InDelta(t, 20*0.625, spent(t, l, "web", time.Hour).USD, spendTolerance)
}
