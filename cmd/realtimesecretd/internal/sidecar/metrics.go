package sidecar

import (
	"context"
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	rsprom "github.com/realtimesecret/realtimesecret/adapters/prometheus"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// metrics is what the sidecar serves on admin.metrics_path: the
// middleware's metrics from adapters/prometheus, the one implementation
// library users get too, and the Go runtime and process collectors, on a
// private registry so that nothing else in the process can add to or clash
// with them.
type metrics struct {
	reg *prometheus.Registry
	*rsprom.Collector
	// adminAuthFailures counts the admin API requests refused for a
	// missing or wrong token: the sidecar's own, not the middleware's.
	adminAuthFailures prometheus.Counter
	// governance reports the fail mode of the config in force; set by
	// New before anything is served.
	governance  func() governanceMode
	handlerOnce sync.Once
	h           http.Handler
}

func newMetrics() *metrics {
	m := &metrics{reg: prometheus.NewRegistry(), Collector: rsprom.New(),
		adminAuthFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "realtimesecret_admin_auth_failures_total",
			Help: "Admin API requests refused because the admin token was missing or wrong.",
		})}
	m.reg.MustRegister(m.Collector, m.adminAuthFailures, governanceCollector{m},
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// handler serves the metrics; one for every generation of the config.
func (m *metrics) handler() http.Handler {
	m.handlerOnce.Do(func() { m.h = promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}) })
	return m.h
}

// governanceFailOpen is the gauge of the governance fail mode in force,
// read from the live config at each scrape, so that it follows a reload.
var governanceFailOpen = prometheus.NewDesc("realtimesecret_governance_fail_open",
	"What session limits and budgets do when the registry (Redis) cannot answer: scope global is 1 when "+
		"governance_fail_open is set (every principal is admitted uncounted), else 0 (refused: 503 governance_unavailable); "+
		"scope virtual_keys and jwt_policies count those that fail open (all of them when global is 1).",
	[]string{"scope"}, nil)

// governanceCollector collects governanceFailOpen for m.
type governanceCollector struct{ m *metrics }

func (c governanceCollector) Describe(ch chan<- *prometheus.Desc) { ch <- governanceFailOpen }

func (c governanceCollector) Collect(ch chan<- prometheus.Metric) {
	if c.m.governance == nil {
		return
	}
	mode := c.m.governance()
	global := 0.0
	if mode.global {
		global = 1
	}
	ch <- prometheus.MustNewConstMetric(governanceFailOpen, prometheus.GaugeValue, global, "global")
	ch <- prometheus.MustNewConstMetric(governanceFailOpen, prometheus.GaugeValue, float64(mode.keys), "virtual_keys")
	ch <- prometheus.MustNewConstMetric(governanceFailOpen, prometheus.GaugeValue, float64(mode.policies), "jwt_policies")
}

// pingerOf returns what readiness pings for store: the store itself when it
// can be pinged; a store that cannot (the in-process one) is always
// reachable.
func pingerOf(store contract.Store) contract.Pinger {
	if p, ok := store.(contract.Pinger); ok {
		return p
	}
	return alwaysReachable{}
}

type alwaysReachable struct{}

func (alwaysReachable) Ping(context.Context) error { return nil }
