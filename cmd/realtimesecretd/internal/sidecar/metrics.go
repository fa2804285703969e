package sidecar

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
)

// metrics holds the sidecar's Prometheus collectors, on a private registry
// so that nothing else in the process can add to or clash with them.
type metrics struct {
	reg         *prometheus.Registry
	mints       *prometheus.CounterVec
	upstream    *prometheus.HistogramVec
	redemptions *prometheus.CounterVec
	storeErrors *prometheus.CounterVec
}

// Redemption results, the values of realtimesecret_redemptions_total's
// "result" label.
const (
	redeemFound      = "found"       // the token's record was found
	redeemNotFound   = "not_found"   // unknown or expired token: passed on unattributed
	redeemStoreError = "store_error" // the store could not answer: passed on unattributed
	redeemRejected   = "rejected"    // a sealed token that does not open: answered 401
)

func newMetrics(store *meteredStore) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		mints: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "realtimesecret_mints_total",
			Help: "Requests to the mint routes, by provider, endpoint and HTTP status answered.",
		}, []string{"provider", "endpoint", "status"}),
		upstream: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "realtimesecret_upstream_duration_seconds",
			Help:    "Time the provider took to answer a mint, by provider and endpoint.",
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30},
		}, []string{"provider", "endpoint"}),
		redemptions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "realtimesecret_redemptions_total",
			Help: "Passed-through requests that carried an ephemeral token, by result: found, not_found, store_error, rejected.",
		}, []string{"result"}),
		storeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "realtimesecret_store_errors_total",
			Help: "Token store and rate limiter failures, by operation: put, get, rate_limit.",
		}, []string{"op"}),
	}
	// Every known label value starts at 0, so rate() and alerts work from
	// the first scrape.
	for _, r := range []string{redeemFound, redeemNotFound, redeemStoreError, redeemRejected} {
		m.redemptions.WithLabelValues(r)
	}
	for _, op := range []string{opPut, opGet, opRateLimit} {
		m.storeErrors.WithLabelValues(op)
	}
	m.reg.MustRegister(m.mints, m.upstream, m.redemptions, m.storeErrors,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if n, ok := store.inner.(interface{ Len() int }); ok {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "realtimesecret_stored_records",
			Help: "Token records held by the store, expired ones not yet swept included.",
		}, func() float64 { return float64(n.Len()) }))
	}
	store.errs = m.storeErrors
	return m
}

// onMint is the core's Config.OnMint hook.
func (m *metrics) onMint(ev realtimesecret.MintEvent) {
	endpoint := ev.Endpoint.String()
	m.mints.WithLabelValues(ev.Provider, endpoint, strconv.Itoa(ev.Status)).Inc()
	if ev.UpstreamDuration > 0 {
		m.upstream.WithLabelValues(ev.Provider, endpoint).Observe(ev.UpstreamDuration.Seconds())
	}
}

// onRedeem is the core's Config.OnRedeem hook.
func (m *metrics) onRedeem(ev realtimesecret.RedeemEvent) {
	m.redemptions.WithLabelValues(redeemResult(ev)).Inc()
}

func redeemResult(ev realtimesecret.RedeemEvent) string {
	var se *storeError
	switch {
	case ev.Found:
		return redeemFound
	case ev.Err == nil:
		return redeemNotFound
	case errors.As(ev.Err, &se):
		return redeemStoreError
	default:
		// The core reports a sealed token that does not open with an Err
		// that did not come from the store.
		return redeemRejected
	}
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}
