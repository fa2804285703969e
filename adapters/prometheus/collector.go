package prometheus

import (
	"errors"
	"strconv"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
)

// Redemption results, the values of realtimesecret_redemptions_total's
// "result" label.
const (
	// RedeemFound is a token whose record was found.
	RedeemFound = "found"
	// RedeemNotFound is an unknown or expired token, passed on unattributed.
	RedeemNotFound = "not_found"
	// RedeemStoreError is a lookup the store could not answer, passed on
	// unattributed.
	RedeemStoreError = "store_error"
	// RedeemRejected is a sealed token that does not open, answered 401.
	RedeemRejected = "rejected"
)

// Store operations, the values of realtimesecret_store_errors_total's "op"
// label.
const (
	OpPut       = "put"
	OpGet       = "get"
	OpRateLimit = "rate_limit"
)

// UpstreamBuckets are the buckets of realtimesecret_upstream_duration_seconds,
// in seconds: a mint takes from tens of milliseconds to the adapters'
// 30-second timeout.
var UpstreamBuckets = []float64{0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30}

// Collector is a prometheus.Collector of the middleware's metrics. Feed it
// by setting Config.OnMint, Config.OnSession, Config.OnRedeem and
// Config.OnUsage to its methods, and wrap the
// store and rate limiter with Store and RateLimiter to count their
// failures. It is safe for concurrent use.
type Collector struct {
	mints         *prometheus.CounterVec
	mintErrors    *prometheus.CounterVec
	sessions      *prometheus.CounterVec
	sessionErrors *prometheus.CounterVec
	upstream      *prometheus.HistogramVec
	redemptions   *prometheus.CounterVec
	storeErrors   *prometheus.CounterVec

	storedDesc *prometheus.Desc
	storedLen  atomic.Pointer[func() int]

	sessionMetrics // sessions.go
}

var _ prometheus.Collector = (*Collector)(nil)

// New returns a Collector with every redemption result and store operation
// at 0. Register it with a prometheus.Registerer.
func New() *Collector {
	c := &Collector{
		mints: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "realtimesecret_mints_total",
			Help: "Requests to the mint routes, by provider, endpoint and HTTP status answered.",
		}, []string{"provider", "endpoint", "status"}),
		mintErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "realtimesecret_mint_errors_total",
			Help: "Errors the middleware answered on the mint routes, by endpoint and error code (rate_limit_exceeded, invalid_api_key, ...).",
		}, []string{"endpoint", "code"}),
		sessions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "realtimesecret_session_requests_total",
			Help: "Requests to the brokered session routes (creations and hang-ups), by provider, endpoint and HTTP status answered.",
		}, []string{"provider", "endpoint", "status"}),
		sessionErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "realtimesecret_session_request_errors_total",
			Help: "Errors the middleware answered on the brokered session routes, by endpoint and error code (too_many_sessions, session_not_found, ...).",
		}, []string{"endpoint", "code"}),
		upstream: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "realtimesecret_upstream_duration_seconds",
			Help:    "Time the provider took to answer a mint or a session request, by provider and endpoint.",
			Buckets: UpstreamBuckets,
		}, []string{"provider", "endpoint"}),
		redemptions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "realtimesecret_redemptions_total",
			Help: "Passed-through requests that carried an ephemeral token, by result: found, not_found, store_error, rejected.",
		}, []string{"result"}),
		storeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "realtimesecret_store_errors_total",
			Help: "Token store and rate limiter failures, by operation: put, get, rate_limit.",
		}, []string{"op"}),
		storedDesc: prometheus.NewDesc("realtimesecret_stored_records",
			"Token records held by the store, expired ones not yet swept included.", nil, nil),
		sessionMetrics: newSessionMetrics(),
	}
	for _, r := range []string{RedeemFound, RedeemNotFound, RedeemStoreError, RedeemRejected} {
		c.redemptions.WithLabelValues(r)
	}
	for _, op := range []string{OpPut, OpGet, OpRateLimit} {
		c.storeErrors.WithLabelValues(op)
	}
	return c
}

// OnMint counts a mint request; use it as Config.OnMint. An error the
// middleware answered is also counted by its code, and a mint whose
// provider answered observes how long the provider took.
func (c *Collector) OnMint(ev realtimesecret.MintEvent) {
	endpoint := ev.Endpoint.String()
	c.mints.WithLabelValues(ev.Provider, endpoint, strconv.Itoa(ev.Status)).Inc()
	if ev.Code != "" {
		c.mintErrors.WithLabelValues(endpoint, ev.Code).Inc()
	}
	if ev.UpstreamDuration > 0 {
		c.upstream.WithLabelValues(ev.Provider, endpoint).Observe(ev.UpstreamDuration.Seconds())
	}
}

// OnSession counts a request to a brokered session route, a creation or a
// hang-up; use it as Config.OnSession. An error the middleware answered is
// also counted by its code, and a request the provider answered observes
// how long the provider took.
func (c *Collector) OnSession(ev realtimesecret.SessionEvent) {
	endpoint := ev.Endpoint.String()
	c.sessions.WithLabelValues(ev.Provider, endpoint, strconv.Itoa(ev.Status)).Inc()
	if ev.Code != "" {
		c.sessionErrors.WithLabelValues(endpoint, ev.Code).Inc()
	}
	if ev.UpstreamDuration > 0 {
		c.upstream.WithLabelValues(ev.Provider, endpoint).Observe(ev.UpstreamDuration.Seconds())
	}
}

// OnRedeem counts a passed-through request that carried an ephemeral token,
// by RedeemResult; use it as Config.OnRedeem.
func (c *Collector) OnRedeem(ev realtimesecret.RedeemEvent) {
	c.redemptions.WithLabelValues(RedeemResult(ev)).Inc()
}

// RedeemResult returns the "result" label of a redemption: RedeemFound,
// RedeemNotFound, RedeemRejected for a sealed token that does not open
// (realtimesecret.ErrInvalidSealedToken), else RedeemStoreError.
func RedeemResult(ev realtimesecret.RedeemEvent) string {
	switch {
	case ev.Found:
		return RedeemFound
	case ev.Err == nil:
		return RedeemNotFound
	case errors.Is(ev.Err, realtimesecret.ErrInvalidSealedToken):
		return RedeemRejected
	default:
		return RedeemStoreError
	}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	c.mints.Describe(ch)
	c.mintErrors.Describe(ch)
	c.sessions.Describe(ch)
	c.sessionErrors.Describe(ch)
	c.upstream.Describe(ch)
	c.redemptions.Describe(ch)
	c.storeErrors.Describe(ch)
	ch <- c.storedDesc
	c.describe(ch)
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	c.mints.Collect(ch)
	c.mintErrors.Collect(ch)
	c.sessions.Collect(ch)
	c.sessionErrors.Collect(ch)
	c.upstream.Collect(ch)
	c.redemptions.Collect(ch)
	c.storeErrors.Collect(ch)
	if n := c.storedLen.Load(); n != nil {
		ch <- prometheus.MustNewConstMetric(c.storedDesc, prometheus.GaugeValue, float64((*n)()))
	}
	c.collect(ch)
}
