package sidecar_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/internal/fakeupstream"
	"github.com/realtimesecret/realtimesecret/internal/redistest"
)

// TestSpendRedisBudgetAcrossSidecars: two sidecars on one Redis share a
// virtual key's budget. A GPT-Live session on each spends $0.05 (60 s at
// $0.05 a minute): neither alone reaches the $0.08 budget, both together
// do, and the usage that crosses it, seen by one sidecar, ends the
// sessions on both. A third session is then refused on either.
func TestSpendRedisBudgetAcrossSidecars(t *testing.T) {
	noLeaks(t)
	c := redistest.Client(t)
	redisURL, prefix := redistest.URL(t), redistest.Prefix(t, c)
	fake, fakeURL := newFake(t, fakeupstream.Options{Sideband: fakeupstream.SidebandScript{LiveSeconds: []float64{60}, Every: -1}})
	opts := redisOptions(redisURL, prefix, "usage_metering: true\n")
	opts.fake, opts.fakeURL, opts.webPolicy = fake, fakeURL, "    budget: {usd: 0.08, per: 24h}\n"
	a, b := start(t, opts), start(t, opts)

	status, onA, body := a.brokerLive(t, virtualKey)
	require.Equal(t, http.StatusCreated, status, string(body))
	status, onB, body := b.brokerLive(t, virtualKey)
	require.Equal(t, http.StatusCreated, status, string(body))

	eventually(t, func() bool { return !active(t, fake, onA) && !active(t, fake, onB) },
		"the shared budget was crossed, and both sidecars' sessions were ended")
	var ends []any
	for _, h := range []*harness{a, b} {
		eventually(t, func() bool { return len(h.Logs.lines(t, "realtime session usage")) == 1 }, "no usage line")
		line := h.Logs.lines(t, "realtime session usage")[0]
		ends = append(ends, line["end"])
		assert.InDelta(t, 0.05, line["cost_usd"], 1e-9, "each session's spend counted")
		status, _, body := h.brokerLive(t, virtualKey)
		assert.Equal(t, http.StatusTooManyRequests, status, string(body))
		assert.Equal(t, "budget_exceeded", errorCode(t, body))
	}
	// The sidecar whose usage crossed the budget reports "budget"; the
	// other sees its session end upstream ("ended": which node ended it is
	// not shared, a known gap documented in docs/governance.md).
	assert.Contains(t, ends, "budget")
}
