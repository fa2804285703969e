package openai_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/realtimesecret/realtimesecret/adapters/openai"
	"github.com/realtimesecret/realtimesecret/adapters/openai/openaitest"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
)

// The OpenAI adapter as the middleware's provider. BaseURL points at a fake
// upstream here; leave it empty for https://api.openai.com, or set it to an
// OpenAI-compatible vendor's base URL.
func Example() {
	fake := openaitest.NewServer(openaitest.Options{Keys: []string{"sk-live-key"}})
	defer fake.Close()

	provider, err := openai.New(openai.Config{
		BaseURL: fake.URL,         // "" = https://api.openai.com
		Timeout: 10 * time.Second, // per mint; 504 after it
	})
	if err != nil {
		panic(err)
	}
	app := realtimesecret.Middleware(realtimesecret.Config{
		Providers: []realtimesecret.ProviderConfig{{
			Name:     "openai",
			Provider: provider,
			Keys:     []realtimesecret.Key{{ID: "primary", Value: "sk-live-key"}}, // os.Getenv("OPENAI_API_KEY")
		}},
		VirtualKeys: []realtimesecret.VirtualKey{{ID: "web", Value: "vk-web", Models: []string{"gpt-realtime"}}},
	})(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		rec, ok := realtimesecret.FromContext(r.Context())
		fmt.Println("redeemed:", ok, rec.VirtualKeyID, rec.KeyID, rec.Model)
	}))

	// A browser mints with its virtual key...
	req := httptest.NewRequest(http.MethodPost, "/v1/realtime/client_secrets",
		strings.NewReader(`{"session":{"type":"realtime","model":"openai/gpt-realtime"}}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer vk-web")
	w := httptest.NewRecorder()
	app.ServeHTTP(w, req)
	var secret struct {
		Value string `json:"value"`
	}
	_ = json.Unmarshal(w.Body.Bytes(), &secret)
	up, _ := fake.Last()
	fmt.Println("minted:", w.Code, strings.HasPrefix(secret.Value, "ek_"))
	fmt.Println("upstream saw:", up.Path, up.Header.Get("Authorization"), string(up.Body))

	// ...and a request that later carries the secret is attributed.
	req = httptest.NewRequest(http.MethodGet, "/v1/realtime?model=gpt-realtime", nil)
	req.Header.Set("Authorization", "Bearer "+secret.Value)
	app.ServeHTTP(httptest.NewRecorder(), req)
	// Output:
	// minted: 200 true
	// upstream saw: /v1/realtime/client_secrets Bearer sk-live-key {"session":{"type":"realtime","model":"gpt-realtime"}}
	// redeemed: true web primary gpt-realtime
}
