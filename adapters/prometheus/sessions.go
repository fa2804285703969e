package prometheus

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// Token directions and kinds, the values of realtimesecret_usage_tokens_total's
// "direction" and "kind" labels.
const (
	DirectionInput  = "input"
	DirectionOutput = "output"

	// KindAudio and KindText split a direction's tokens; KindOther is the
	// part of a provider's total that its details do not split. The three
	// add up to the direction's total.
	KindAudio = "audio"
	KindText  = "text"
	KindOther = "other"
	// KindCached counts the input tokens served from the provider's cache.
	// They are part of the input's audio and text too: leave kind="cached"
	// out of a sum.
	KindCached = "cached"
)

// SessionEnd values, the "reason" label of realtimesecret_sessions_ended_total:
// how a metered session ended, from realtimesecret.UsageEvent.End.
const (
	EndUpstream = "upstream" // the provider ended it (its sideband saw the end)
	EndHangup   = "hangup"   // hung up through the broker
	EndCap      = "cap"      // its MaxSession cap
	EndRevoked  = "revoked"  // Handler.EndSessions
	EndExpired  = "expired"  // its record expired first; it may have gone on
	EndStopped  = "stopped"  // Handler.Close stopped metering; it may go on
	// EndBudget: its virtual key's budget was spent, and the middleware
	// ended it.
	EndBudget = "budget"
	// EndUnmetered: its virtual key has a budget and its sideband did not
	// attach in time, so the middleware ended it (realtimesecret.UsageEnd
	// "unmetered").
	EndUnmetered = "unmetered"
)

// sessionsTimeout bounds the registry reads of one scrape of
// realtimesecret_sessions_in_flight.
const sessionsTimeout = 2 * time.Second

// sessionMetrics are the metrics of session governance.
type sessionMetrics struct {
	usageTokens    *prometheus.CounterVec
	sessionSeconds *prometheus.CounterVec
	ended          *prometheus.CounterVec
	spend          *prometheus.CounterVec

	// virtualKeys are the ids that may be a label value; nil: none.
	virtualKeys atomic.Pointer[map[string]bool]

	inFlightDesc *prometheus.Desc
	inFlight     atomic.Pointer[inFlightSource]
}

type inFlightSource struct {
	tracker    contract.SessionTracker
	principals []string
}

func newSessionMetrics() sessionMetrics {
	return sessionMetrics{
		usageTokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "realtimesecret_usage_tokens_total",
			Help: "Tokens metered brokered Realtime calls used, as their sidebands reported them at the sessions' ends, " +
				"by provider, endpoint, virtual key (configured ones only), direction (input, output) and kind " +
				"(audio, text, other: these add up; cached: input tokens also counted in audio or text).",
		}, []string{"provider", "endpoint", "virtual_key", "direction", "kind"}),
		sessionSeconds: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "realtimesecret_session_seconds_total",
			Help: "Seconds metered GPT-Live sessions ran, as their sidebands reported them at the sessions' ends, " +
				"by provider, endpoint and virtual key (configured ones only).",
		}, []string{"provider", "endpoint", "virtual_key"}),
		ended: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "realtimesecret_sessions_ended_total",
			Help: "Metered brokered sessions by how they ended: upstream, hangup, cap, revoked, budget (its key's budget was spent), " +
				"unmetered (budgeted, its sideband never attached), expired (the record first), stopped (metering stopped at shutdown), " +
				"by provider and endpoint.",
		}, []string{"provider", "endpoint", "reason"}),
		spend: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "realtimesecret_spend_usd_total",
			Help: "What metered brokered sessions cost, in US dollars at the configured prices (the middleware's estimate, " +
				"not the provider's bill), as their sidebands reported them at the sessions' ends, by provider and model.",
		}, []string{"provider", "model"}),
		inFlightDesc: prometheus.NewDesc("realtimesecret_sessions_in_flight",
			"Brokered sessions live now, by virtual key, as the session registry knows them: "+
				"with a shared registry (Redis) every node reports all nodes' sessions, so aggregate with max, not sum.",
			[]string{"virtual_key"}, nil),
	}
}

// LabelVirtualKeys sets the virtual key ids that may appear as the
// "virtual_key" label of the usage metrics; any other principal (an
// Authorizer's, which may be any string) is counted with virtual_key="".
// Call it with the ids of Config.VirtualKeys before the Handler serves.
func (c *Collector) LabelVirtualKeys(ids ...string) {
	set := make(map[string]bool, len(ids))
	for _, id := range ids {
		set[id] = true
	}
	c.virtualKeys.Store(&set)
}

func (c *Collector) virtualKeyLabel(id string) string {
	if set := c.virtualKeys.Load(); set != nil && (*set)[id] {
		return id
	}
	return ""
}

// OnUsage counts the usage of a metered session and how it ended; use it
// as Config.OnUsage. Tokens go to realtimesecret_usage_tokens_total,
// seconds to realtimesecret_session_seconds_total, its cost (CostUSD) to
// realtimesecret_spend_usd_total, the end to
// realtimesecret_sessions_ended_total.
func (c *Collector) OnUsage(ev realtimesecret.UsageEvent) {
	provider, endpoint := ev.Record.Provider, ev.Record.Endpoint.String()
	vk := c.virtualKeyLabel(ev.Record.VirtualKeyID)
	u := &ev.Usage
	in, out := u.InputTokenDetails, u.OutputTokenDetails
	add := func(direction, kind string, n int64) {
		if n > 0 {
			c.usageTokens.WithLabelValues(provider, endpoint, vk, direction, kind).Add(float64(n))
		}
	}
	add(DirectionInput, KindAudio, in.AudioTokens)
	add(DirectionInput, KindText, in.TextTokens)
	add(DirectionInput, KindOther, u.InputTokens-in.AudioTokens-in.TextTokens)
	add(DirectionInput, KindCached, in.CachedTokens)
	add(DirectionOutput, KindAudio, out.AudioTokens)
	add(DirectionOutput, KindText, out.TextTokens)
	add(DirectionOutput, KindOther, u.OutputTokens-out.AudioTokens-out.TextTokens)
	if u.Seconds > 0 {
		c.sessionSeconds.WithLabelValues(provider, endpoint, vk).Add(u.Seconds)
	}
	if ev.CostUSD > 0 {
		c.spend.WithLabelValues(provider, ev.Record.Model).Add(ev.CostUSD)
	}
	c.ended.WithLabelValues(provider, endpoint, endReason(ev.End)).Inc()
}

// endReason is the "reason" label of a UsageEnd.
func endReason(end realtimesecret.UsageEnd) string {
	switch end {
	case realtimesecret.UsageEnded:
		return EndUpstream
	case realtimesecret.UsageHangup:
		return EndHangup
	case realtimesecret.UsageCap:
		return EndCap
	case realtimesecret.UsageRevoked:
		return EndRevoked
	case realtimesecret.UsageExpired:
		return EndExpired
	case realtimesecret.UsageBudget:
		return EndBudget
	case realtimesecret.UsageEnd(EndUnmetered):
		return EndUnmetered
	default:
		return EndStopped
	}
}

// SessionsInFlight makes realtimesecret_sessions_in_flight report, on each
// scrape, how many sessions tracker holds for each of principals (the
// virtual key ids; "" for callers without one). Pass the SessionRegistry
// the Handler uses (Config.SessionRegistry); a principal whose sessions
// cannot be listed is left out of that scrape.
func (c *Collector) SessionsInFlight(tracker contract.SessionTracker, principals ...string) {
	c.inFlight.Store(&inFlightSource{tracker: tracker, principals: append([]string(nil), principals...)})
}

func (m *sessionMetrics) describe(ch chan<- *prometheus.Desc) {
	m.usageTokens.Describe(ch)
	m.sessionSeconds.Describe(ch)
	m.ended.Describe(ch)
	m.spend.Describe(ch)
	ch <- m.inFlightDesc
}

func (m *sessionMetrics) collect(ch chan<- prometheus.Metric) {
	m.usageTokens.Collect(ch)
	m.sessionSeconds.Collect(ch)
	m.ended.Collect(ch)
	m.spend.Collect(ch)
	src := m.inFlight.Load()
	if src == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), sessionsTimeout)
	defer cancel()
	for _, p := range src.principals {
		ids, err := src.tracker.Sessions(ctx, p)
		if err != nil {
			continue
		}
		ch <- prometheus.MustNewConstMetric(m.inFlightDesc, prometheus.GaugeValue, float64(len(ids)), p)
	}
}
