package readme_test

import (
	"context"
	"log"
	"os"
	"time"

	"github.com/realtimesecret/realtimesecret/adapters/redisstore"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// Example_sessionGovernance holds the README's "Session governance"
// snippet.
func Example_sessionGovernance() {
	ctx := context.Background()
	store, err := redisstore.NewFromURL(os.Getenv("REDIS_URL"), redisstore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	cfg.Store, cfg.RateLimiter, cfg.SessionRegistry = store, store, store
	cfg.VirtualKeys = []realtimesecret.VirtualKey{{
		ID: "web", Value: realtimesecret.Secret(os.Getenv("VK_WEB")),
		MaxSession:  10 * time.Minute, // each session is ended upstream 10 min after its creation
		MaxSessions: 5,                // a 6th concurrent session is 429 too_many_sessions
		// $5 of sessions a day (00:00 UTC to 00:00); a budgeted key may not mint ek_ secrets
		Budget: contract.Budget{USD: 5, Per: 24 * time.Hour},
	}}
	cfg.UsageMetering = true // the providers' adapters attach the sidebands (openai, azure)
	cfg.OnUsage = func(ev realtimesecret.UsageEvent) {
		log.Printf("%s %s: %d tokens in, %d out, %.1f s, $%.4f, ended by %s", ev.Record.VirtualKeyID, ev.SessionID,
			ev.Usage.InputTokens, ev.Usage.OutputTokens, ev.Usage.Seconds, ev.CostUSD, ev.End)
	}
	h, err := realtimesecret.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer h.Close() // after the HTTP server's Shutdown

	// Revocation, e.g. from the app's own admin endpoint:
	n, err := h.EndSessions(ctx, "web")
	_, _ = n, err
}
