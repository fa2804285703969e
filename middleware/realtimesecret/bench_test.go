package realtimesecret_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
)

// discardWriter is a ResponseWriter that allocates nothing, so benchmarks
// measure the middleware, not httptest.
type discardWriter struct {
	h      http.Header
	status int
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(status int)      { d.status = status }

func okHandler(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }

// BenchmarkPassthrough compares routers with and without the middleware on a
// non-mint request, with no Authorization and with a non-ek_ one.
func BenchmarkPassthrough(b *testing.B) {
	cfg := baseConfig(newFakeProvider())
	routers := map[string]func(with bool) http.Handler{
		"chi": func(with bool) http.Handler {
			r := chi.NewRouter()
			if with {
				r.Use(realtimesecret.Middleware(cfg))
			}
			r.Post("/v1/chat/completions", okHandler)
			return r
		},
		"servemux": func(with bool) http.Handler {
			mux := http.NewServeMux()
			mux.HandleFunc("POST /v1/chat/completions", okHandler)
			if with {
				return realtimesecret.Middleware(cfg)(mux)
			}
			return mux
		},
	}
	for _, router := range []string{"chi", "servemux"} {
		for _, with := range []bool{false, true} {
			for _, auth := range []string{"", "Bearer sk-proj-0123456789abcdef"} {
				name := router + "/bare"
				if with {
					name = router + "/middleware"
				}
				if auth == "" {
					name += "/no-auth"
				} else {
					name += "/sk-auth"
				}
				h := routers[router](with)
				b.Run(name, func(b *testing.B) {
					r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
					if auth != "" {
						r.Header.Set("Authorization", auth)
					}
					w := &discardWriter{h: http.Header{}}
					b.ReportAllocs()
					for b.Loop() {
						h.ServeHTTP(w, r)
					}
				})
			}
		}
	}
}

// BenchmarkLookup looks up a stored token in the memory store.
func BenchmarkLookup(b *testing.B) {
	h, err := realtimesecret.New(baseConfig(newStaticProvider()))
	if err != nil {
		b.Fatal(err)
	}
	srv := h.Wrap(http.NotFoundHandler())
	r := httptest.NewRequest(http.MethodPost, "/v1/realtime/client_secrets", strings.NewReader(gaBody))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Authorization", "Bearer "+vkWeb)
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, r)
	token := tokenOf(w.Body.Bytes())
	if token == "" {
		b.Fatal("no token minted")
	}
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if _, ok, _ := h.Lookup(ctx, token); !ok {
			b.Fatal("not found")
		}
	}
}
