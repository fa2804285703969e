package readme_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/realtimesecret/realtimesecret/adapters/azure"
	"github.com/realtimesecret/realtimesecret/adapters/openai"
	"github.com/realtimesecret/realtimesecret/adapters/openai/openaitest"
	rsprom "github.com/realtimesecret/realtimesecret/adapters/prometheus"
	"github.com/realtimesecret/realtimesecret/adapters/redisstore"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/memory"
)

// The Examples hold the README's snippets. They have no Output: they are
// compiled, never run (they would reach the network).

// cfg stands for the app's realtimesecret.Config that the snippets add to.
var cfg realtimesecret.Config

func Example_openAIProvider() {
	provider, err := openai.New(openai.Config{BaseURL: "https://api.openai.com", Timeout: 10 * time.Second})
	_, _ = provider, err
}

func Example_azureProvider() {
	provider, err := azure.New(azure.Config{
		Endpoint:   "https://my-resource.openai.azure.com",
		APIVersion: "2025-04-01-preview", // optional: serves /v1/realtime/sessions
	})
	if err != nil {
		log.Fatal(err)
	}
	cfg.Providers = append(cfg.Providers, realtimesecret.ProviderConfig{
		Name: "azure", Provider: provider,
		// Every key's requests for gpt-realtime go to the deployment; a key's
		// own Aliases entry for a model would win.
		Aliases: map[string]string{"gpt-realtime": "my-gpt-realtime-deployment"},
		Keys: []realtimesecret.Key{
			{ID: "eastus2", Value: realtimesecret.Secret(os.Getenv("AZURE_OPENAI_API_KEY"))}, // sent as api-key
		},
	})
}

// entraToken stands for a Microsoft Entra ID token source, such as
// azidentity's credential.GetToken with the scope
// https://cognitiveservices.azure.com/.default.
func entraToken(context.Context) (string, error) { return "", nil }

func Example_azureEntraID() {
	provider, err := azure.New(azure.Config{
		Endpoint: "https://my-resource.openai.azure.com",
		TokenSource: func(ctx context.Context) (string, error) {
			return entraToken(ctx) // e.g. azidentity: cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: ...})
		},
	})
	_, _ = provider, err
}

func Example_redisStore() {
	store, err := redisstore.NewFromURL("redis://127.0.0.1:6379/0", redisstore.Options{Prefix: "myapp:"})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	cfg.Store, cfg.RateLimiter = store, store
}

func Example_sealKeys() {
	key, err := realtimesecret.ParseSealKey(os.Getenv("SEAL_KEY")) // openssl rand -base64 32
	if err != nil {
		log.Fatal(err)
	}
	cfg.SealKeys = []realtimesecret.SealKey{key}
}

func Example_fakeProvider() {
	fake := openaitest.NewServer(openaitest.Options{Keys: []string{"sk-test"}})
	defer fake.Close()
	provider, err := openai.New(openai.Config{BaseURL: fake.URL})
	// ... mint through the middleware with Key{Value: "sk-test"}, then:
	last, _ := fake.Last() // Path, Header, Body of what reached the upstream
	fmt.Println(fake.Count(), fake.Minted())
	_, _, _ = provider, err, last
}

func Example_metrics() {
	metrics := rsprom.New() // rsprom "github.com/realtimesecret/realtimesecret/adapters/prometheus"
	prometheus.MustRegister(metrics)
	cfg.OnMint = metrics.OnMint
	cfg.OnSession = metrics.OnSession // brokered session creations and hang-ups
	cfg.OnRedeem = metrics.OnRedeem
	cfg.Store = metrics.Store(memory.NewStore()) // store errors and realtimesecret_stored_records
	// cfg.RateLimiter = metrics.RateLimiter(redisStore)       // rate limiter errors
}
