package prometheus_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/realtimesecret/realtimesecret/adapters/openai"
	"github.com/realtimesecret/realtimesecret/adapters/openai/openaitest"
	rsprom "github.com/realtimesecret/realtimesecret/adapters/prometheus"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/memory"
)

// Export the sidecar's metrics from an app that uses the middleware: the
// collector's methods are the Config hooks, and its Store wrapper counts
// store failures and the records held.
func ExampleNew() {
	fake := openaitest.NewServer(openaitest.Options{}) // https://api.openai.com in production
	defer fake.Close()
	provider, err := openai.New(openai.Config{BaseURL: fake.URL})
	if err != nil {
		panic(err)
	}

	metrics := rsprom.New()
	registry := prometheus.NewRegistry() // or prometheus.DefaultRegisterer
	registry.MustRegister(metrics)

	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(registry, promhttp.HandlerOpts{}))
	app := realtimesecret.Middleware(realtimesecret.Config{
		Providers: []realtimesecret.ProviderConfig{{
			Name: "openai", Provider: provider,
			Keys: []realtimesecret.Key{{ID: "primary", Value: "sk-test"}},
		}},
		VirtualKeys: []realtimesecret.VirtualKey{{ID: "web", Value: "vk-web"}},
		Store:       metrics.Store(memory.NewStore()),
		OnMint:      metrics.OnMint,
		OnSession:   metrics.OnSession,
		OnRedeem:    metrics.OnRedeem,
	})(mux)

	for _, vk := range []string{"vk-web", "vk-wrong"} {
		req := httptest.NewRequest(http.MethodPost, "/v1/realtime/client_secrets",
			strings.NewReader(`{"session":{"type":"realtime","model":"openai/gpt-realtime"}}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+vk)
		app.ServeHTTP(httptest.NewRecorder(), req)
	}

	w := httptest.NewRecorder()
	app.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for _, line := range strings.Split(w.Body.String(), "\n") {
		if strings.HasPrefix(line, "realtimesecret_mints_total") || strings.HasPrefix(line, "realtimesecret_stored_records") ||
			strings.HasPrefix(line, "realtimesecret_upstream_duration_seconds_count") {
			fmt.Println(line)
		}
	}
	// Output:
	// realtimesecret_mints_total{endpoint="client_secrets",provider="",status="401"} 1
	// realtimesecret_mints_total{endpoint="client_secrets",provider="openai",status="200"} 1
	// realtimesecret_stored_records 1
	// realtimesecret_upstream_duration_seconds_count{endpoint="client_secrets",provider="openai"} 1
}
