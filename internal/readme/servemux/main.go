// Command servemux is the README's http.ServeMux quick start. It is built
// by the readme package's tests and never run by them.
package main

import (
	"fmt"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/realtimesecret/realtimesecret/adapters/openai"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
)

func main() {
	upstream, err := openai.New(openai.Config{})
	if err != nil {
		log.Fatal(err)
	}
	cfg := realtimesecret.Config{
		Providers: []realtimesecret.ProviderConfig{{
			Name:     "openai",
			Provider: upstream,
			Keys:     []realtimesecret.Key{{ID: "primary", Value: realtimesecret.Secret(os.Getenv("OPENAI_API_KEY"))}},
		}},
		VirtualKeys: []realtimesecret.VirtualKey{{ID: "web", Value: realtimesecret.Secret(os.Getenv("VK_WEB"))}},
	}
	h, err := realtimesecret.New(cfg) // the error instead of Middleware's panic
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "your app")
	})
	srv := &http.Server{Addr: "127.0.0.1:8080", Handler: h.Wrap(mux), ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}
