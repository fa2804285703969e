package sidecar

import (
	"context"
	"net/http"

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
}

func newMetrics() *metrics {
	m := &metrics{reg: prometheus.NewRegistry(), Collector: rsprom.New()}
	m.reg.MustRegister(m.Collector,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
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
