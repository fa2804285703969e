package gemini_test

import (
	"fmt"
	"net/http/httptest"
	"strings"

	"github.com/realtimesecret/realtimesecret/adapters/gemini"
	"github.com/realtimesecret/realtimesecret/internal/fakegemini"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
)

// A gemini provider: Google's SDKs mint at /gemini/v1alpha/auth_tokens
// with the virtual key as their API key.
func Example() {
	up := httptest.NewServer(fakegemini.New(fakegemini.Options{})) // the Gemini API in production
	defer up.Close()

	p, err := gemini.New(gemini.Config{BaseURL: up.URL})
	if err != nil {
		panic(err)
	}
	h, err := realtimesecret.New(realtimesecret.Config{
		Providers: []realtimesecret.ProviderConfig{{
			Name: "gemini", Provider: p,
			Keys: []realtimesecret.Key{{ID: "primary", Value: "AIza-not-printed"}},
		}},
		VirtualKeys: []realtimesecret.VirtualKey{{ID: "web", Value: "vk-web", Models: []string{"gemini-live-2.5-flash-preview"}}},
	})
	if err != nil {
		panic(err)
	}
	defer h.Close()

	r := httptest.NewRequest("POST", "/gemini/v1alpha/auth_tokens",
		strings.NewReader(`{"uses":1,"bidiGenerateContentSetup":{"model":"models/gemini-live-2.5-flash-preview"}}`))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("X-Goog-Api-Key", "vk-web")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	fmt.Println(w.Code, strings.HasPrefix(w.Body.String(), `{"name":"auth_tokens/`))
	// Output:
	// 200 true
}
