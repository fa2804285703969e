// Command chi is the README's chi quick start. It is built by the readme
// package's tests and never run by them.
package main

import (
	"log"
	"net/http"
	"os"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/realtimesecret/realtimesecret/adapters/openai"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
)

func main() {
	upstream, err := openai.New(openai.Config{}) // https://api.openai.com
	if err != nil {
		log.Fatal(err)
	}
	r := chi.NewRouter()
	r.Use(realtimesecret.Middleware(realtimesecret.Config{
		Providers: []realtimesecret.ProviderConfig{{
			Name:     "openai",
			Provider: upstream,
			Keys:     []realtimesecret.Key{{ID: "primary", Value: realtimesecret.Secret(os.Getenv("OPENAI_API_KEY"))}},
		}},
		DefaultProvider: "openai", // a bare "gpt-realtime" (as the official SDKs send it) goes here
		VirtualKeys: []realtimesecret.VirtualKey{{
			ID: "web", Value: realtimesecret.Secret(os.Getenv("VK_WEB")),
			Models: []string{"gpt-realtime"}, MaxTTL: 2 * time.Minute,
			RateLimit: realtimesecret.Rate{Requests: 60, Per: time.Minute},
		}},
	}))
	r.Get("/v1/realtime", func(w http.ResponseWriter, r *http.Request) {
		if rec, ok := realtimesecret.FromContext(r.Context()); ok {
			log.Printf("realtime session by %s on key %s", rec.VirtualKeyID, rec.KeyID)
		}
		http.Error(w, "proxy the WebSocket here", http.StatusNotImplemented)
	})
	srv := &http.Server{Addr: "127.0.0.1:8080", Handler: r, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}
