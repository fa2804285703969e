package redisstore_test

import (
	"log"
	"net/http"

	"github.com/redis/go-redis/v9"

	"github.com/realtimesecret/realtimesecret/adapters/openai"
	"github.com/realtimesecret/realtimesecret/adapters/redisstore"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
)

// Every node of a deployment points at the same Redis: a token minted on one
// is attributed on all, and a virtual key's rate limit is one budget.
func ExampleNewFromURL() {
	store, err := redisstore.NewFromURL("redis://127.0.0.1:6379/0", redisstore.Options{Prefix: "myapp:rts:"})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	p, err := openai.New(openai.Config{})
	if err != nil {
		log.Fatal(err)
	}
	h, err := realtimesecret.New(realtimesecret.Config{
		Providers: []realtimesecret.ProviderConfig{{
			Name:     "openai",
			Provider: p,
			Keys:     []realtimesecret.Key{{ID: "primary", Value: "sk-..."}},
		}},
		Store:       store,
		RateLimiter: store,
	})
	if err != nil {
		log.Fatal(err)
	}
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", h.Wrap(http.NotFoundHandler())))
}

// A client of your own, for example a cluster or sentinel client, works as
// well; set ContextTimeoutEnabled so that Options.Timeout bounds every call.
func ExampleNew() {
	client := redis.NewUniversalClient(&redis.UniversalOptions{
		Addrs:                 []string{"10.0.0.1:6379", "10.0.0.2:6379", "10.0.0.3:6379"},
		ContextTimeoutEnabled: true,
	})
	defer client.Close()
	store := redisstore.New(client, redisstore.Options{})

	_ = realtimesecret.Config{Store: store, RateLimiter: store}
}
