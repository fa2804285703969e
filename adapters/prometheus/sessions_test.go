package prometheus_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	rsprom "github.com/realtimesecret/realtimesecret/adapters/prometheus"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/memory"
)

// TestMeterCollectorUsage: OnUsage counts tokens by direction and kind
// (details that do not add up to the total go to kind="other"), Live
// seconds, and how the session ended; the virtual_key label holds only
// the ids given to LabelVirtualKeys.
func TestMeterCollectorUsage(t *testing.T) {
	c := rsprom.New()
	c.LabelVirtualKeys("web")
	call := realtimesecret.Record{Provider: "openai", Endpoint: contract.EndpointCall, VirtualKeyID: "web"}
	c.OnUsage(realtimesecret.UsageEvent{Record: call, End: realtimesecret.UsageCap, Usage: realtimesecret.Usage{
		InputTokens: 100, OutputTokens: 50,
		InputTokenDetails:  realtimesecret.InputTokenDetails{AudioTokens: 60, TextTokens: 30, CachedTokens: 20},
		OutputTokenDetails: realtimesecret.OutputTokenDetails{AudioTokens: 50},
	}})
	principal := realtimesecret.Record{Provider: "openai", Endpoint: contract.EndpointLiveSession, VirtualKeyID: "user-8812"}
	c.OnUsage(realtimesecret.UsageEvent{Record: principal, End: realtimesecret.UsageEnded, Usage: realtimesecret.Usage{Seconds: 12.5}})
	c.OnUsage(realtimesecret.UsageEvent{Record: principal, End: realtimesecret.UsageRevoked, Usage: realtimesecret.Usage{Seconds: 0.5}})

	const want = `
# HELP realtimesecret_session_seconds_total Seconds metered GPT-Live sessions ran, as their sidebands reported them at the sessions' ends, by provider, endpoint and virtual key (configured ones only).
# TYPE realtimesecret_session_seconds_total counter
realtimesecret_session_seconds_total{endpoint="live_sessions",provider="openai",virtual_key=""} 13
# HELP realtimesecret_sessions_ended_total Metered brokered sessions by how they ended: upstream, hangup, cap, revoked, budget (its key's budget was spent), unmetered (budgeted, its sideband never attached), expired (the record first), stopped (metering stopped at shutdown), by provider and endpoint.
# TYPE realtimesecret_sessions_ended_total counter
realtimesecret_sessions_ended_total{endpoint="calls",provider="openai",reason="cap"} 1
realtimesecret_sessions_ended_total{endpoint="live_sessions",provider="openai",reason="revoked"} 1
realtimesecret_sessions_ended_total{endpoint="live_sessions",provider="openai",reason="upstream"} 1
# HELP realtimesecret_usage_tokens_total Tokens metered brokered Realtime calls used, as their sidebands reported them at the sessions' ends, by provider, endpoint, virtual key (configured ones only), direction (input, output) and kind (audio, text, other: these add up; cached: input tokens also counted in audio or text).
# TYPE realtimesecret_usage_tokens_total counter
realtimesecret_usage_tokens_total{direction="input",endpoint="calls",kind="audio",provider="openai",virtual_key="web"} 60
realtimesecret_usage_tokens_total{direction="input",endpoint="calls",kind="cached",provider="openai",virtual_key="web"} 20
realtimesecret_usage_tokens_total{direction="input",endpoint="calls",kind="other",provider="openai",virtual_key="web"} 10
realtimesecret_usage_tokens_total{direction="input",endpoint="calls",kind="text",provider="openai",virtual_key="web"} 30
realtimesecret_usage_tokens_total{direction="output",endpoint="calls",kind="audio",provider="openai",virtual_key="web"} 50
`
	require.NoError(t, testutil.CollectAndCompare(c, strings.NewReader(want),
		"realtimesecret_usage_tokens_total", "realtimesecret_session_seconds_total", "realtimesecret_sessions_ended_total"))
}

// TestSpendCollector: OnUsage adds a session's cost to
// realtimesecret_spend_usd_total by provider and model, and counts the
// ends of budget governance by their own reasons.
func TestSpendCollector(t *testing.T) {
	c := rsprom.New()
	rt := realtimesecret.Record{Provider: "openai", Model: "gpt-realtime", Endpoint: contract.EndpointCall, VirtualKeyID: "web"}
	live := realtimesecret.Record{Provider: "openai", Model: "gpt-live-1", Endpoint: contract.EndpointLiveSession, VirtualKeyID: "web"}
	c.OnUsage(realtimesecret.UsageEvent{Record: rt, End: realtimesecret.UsageBudget, CostUSD: 0.25})
	c.OnUsage(realtimesecret.UsageEvent{Record: rt, End: realtimesecret.UsageEnded, CostUSD: 0.5})
	c.OnUsage(realtimesecret.UsageEvent{Record: live, End: realtimesecret.UsageEnd("unmetered")})

	const want = `
# HELP realtimesecret_spend_usd_total What metered brokered sessions cost, in US dollars at the configured prices (the middleware's estimate, not the provider's bill), as their sidebands reported them at the sessions' ends, by provider and model.
# TYPE realtimesecret_spend_usd_total counter
realtimesecret_spend_usd_total{model="gpt-realtime",provider="openai"} 0.75
`
	require.NoError(t, testutil.CollectAndCompare(c, strings.NewReader(want), "realtimesecret_spend_usd_total"))
	const ended = `
# HELP realtimesecret_sessions_ended_total Metered brokered sessions by how they ended: upstream, hangup, cap, revoked, budget (its key's budget was spent), unmetered (budgeted, its sideband never attached), expired (the record first), stopped (metering stopped at shutdown), by provider and endpoint.
# TYPE realtimesecret_sessions_ended_total counter
realtimesecret_sessions_ended_total{endpoint="calls",provider="openai",reason="budget"} 1
realtimesecret_sessions_ended_total{endpoint="calls",provider="openai",reason="upstream"} 1
realtimesecret_sessions_ended_total{endpoint="live_sessions",provider="openai",reason="unmetered"} 1
`
	require.NoError(t, testutil.CollectAndCompare(c, strings.NewReader(ended), "realtimesecret_sessions_ended_total"))
}

// TestGovernanceSessionsInFlight: the gauge reads the registry's live
// sessions of each principal at every scrape.
func TestGovernanceSessionsInFlight(t *testing.T) {
	c := rsprom.New()
	require.Zero(t, testutil.CollectAndCount(c, "realtimesecret_sessions_in_flight"), "nothing before SessionsInFlight")
	reg := memory.NewSessionRegistry()
	c.SessionsInFlight(reg, "web", "mobile")
	ctx := context.Background()
	expires := time.Now().Add(time.Hour)
	for _, id := range []string{"rtc_1", "rtc_2"} {
		require.NoError(t, reg.Track(ctx, contract.TrackedSession{ID: id, Principal: "web", Expires: expires}))
	}
	const head = `
# HELP realtimesecret_sessions_in_flight Brokered sessions live now, by virtual key, as the session registry knows them: with a shared registry (Redis) every node reports all nodes' sessions, so aggregate with max, not sum.
# TYPE realtimesecret_sessions_in_flight gauge
`
	require.NoError(t, testutil.CollectAndCompare(c, strings.NewReader(head+
		`realtimesecret_sessions_in_flight{virtual_key="mobile"} 0
realtimesecret_sessions_in_flight{virtual_key="web"} 2
`), "realtimesecret_sessions_in_flight"))
	ended, err := reg.End(ctx, "web", "rtc_1", "hangup")
	require.NoError(t, err)
	require.True(t, ended)
	require.NoError(t, testutil.CollectAndCompare(c, strings.NewReader(head+
		`realtimesecret_sessions_in_flight{virtual_key="mobile"} 0
realtimesecret_sessions_in_flight{virtual_key="web"} 1
`), "realtimesecret_sessions_in_flight"))
}
