package readme_test

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/realtimesecret/realtimesecret/adapters/openai"
	"github.com/realtimesecret/realtimesecret/adapters/openai/openaitest"
	rsprom "github.com/realtimesecret/realtimesecret/adapters/prometheus"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
)

// Example_metrics holds the README's "Metrics for library users" snippet.
func Example_metrics() {
	metrics := rsprom.New() // rsprom "github.com/realtimesecret/realtimesecret/adapters/prometheus"
	prometheus.MustRegister(metrics)
	cfg.OnMint = metrics.OnMint
	cfg.OnRedeem = metrics.OnRedeem
	cfg.Store = metrics.Store(realtimesecret.NewMemoryStore()) // store errors and realtimesecret_stored_records
	// cfg.RateLimiter = metrics.RateLimiter(redisStore)       // rate limiter errors
}

// Example_fakeProvider holds the README's "Testing with the fake provider"
// snippet.
func Example_fakeProvider() {
	fake := openaitest.NewServer(openaitest.Options{Keys: []string{"sk-test"}})
	defer fake.Close()
	provider, err := openai.New(openai.Config{BaseURL: fake.URL})
	// ... mint through the middleware with Key{Value: "sk-test"}, then:
	last, _ := fake.Last() // Path, Header, Body of what reached the upstream
	fmt.Println(fake.Count(), fake.Minted())
	_, _, _ = provider, err, last
}
