package memory

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// TestSpendPeriodsStartOver: a budget period starts over at its boundary,
// a session that runs across it adds its later growth to the new period
// only, and the periods that ended and the sessions that lapsed are
// forgotten.
func TestSpendPeriodsStartOver(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 6, 23, 59, 0, 0, time.UTC)
	r := NewSessionRegistry()
	r.spend.now = func() time.Time { return now }
	add := func(id string, usd float64) contract.Spend {
		s, err := r.AddSpend(ctx, contract.SessionSpend{Principal: "web", ID: id, USD: usd, Per: 24 * time.Hour, Expires: now.Add(time.Hour)})
		require.NoError(t, err)
		return s
	}
	s := add("rtc_1", 3)
	assert.Equal(t, time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC), s.PeriodStart)
	assert.InDelta(t, 3.0, s.USD, 0)

	now = now.Add(2 * time.Minute) // 00:01 the next day
	s = add("rtc_1", 4)
	assert.Equal(t, time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC), s.PeriodStart)
	assert.InDelta(t, 1.0, s.USD, 0, "only what the session cost in the new period")
	spent, err := r.Spent(ctx, "web", 24*time.Hour)
	require.NoError(t, err)
	assert.InDelta(t, 1.0, spent.USD, 0)

	now = now.Add(2 * time.Hour)
	add("rtc_2", 1) // sweeps
	r.spend.mu.Lock()
	defer r.spend.mu.Unlock()
	assert.Len(t, r.spend.periods, 1, "the ended period is forgotten")
	assert.Len(t, r.spend.sessions, 1, "the lapsed session is forgotten")
}

func TestSpentAllocatesNothing(t *testing.T) {
	r := NewSessionRegistry()
	ctx := context.Background()
	_, err := r.AddSpend(ctx, contract.SessionSpend{Principal: "web", ID: "rtc_1", USD: 1, Per: time.Hour, Expires: time.Now().Add(time.Hour)})
	require.NoError(t, err)
	assert.Zero(t, testing.AllocsPerRun(100, func() { _, _ = r.Spent(ctx, "web", time.Hour) }))
}
