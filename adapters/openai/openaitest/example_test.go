package openaitest_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/realtimesecret/realtimesecret/adapters/openai"
	"github.com/realtimesecret/realtimesecret/adapters/openai/openaitest"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// Test an app's mint route against the fake instead of OpenAI: the
// middleware mints at the fake through adapters/openai, and the fake shows
// what reached the upstream.
func ExampleNewServer() {
	fake := openaitest.NewServer(openaitest.Options{Keys: []string{"sk-test"}})
	defer fake.Close()

	provider, err := openai.New(openai.Config{BaseURL: fake.URL})
	if err != nil {
		panic(err)
	}
	app := realtimesecret.Middleware(realtimesecret.Config{
		Providers: []realtimesecret.ProviderConfig{{
			Name: "openai", Provider: provider,
			Keys: []realtimesecret.Key{{ID: "primary", Value: "sk-test"}},
		}},
		VirtualKeys: []realtimesecret.VirtualKey{{ID: "web", Value: "vk-web"}},
	})(http.NotFoundHandler())

	req := httptest.NewRequest(http.MethodPost, "/v1/realtime/client_secrets",
		strings.NewReader(`{"session":{"type":"realtime","model":"openai/gpt-realtime"}}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer vk-web")
	w := httptest.NewRecorder()
	app.ServeHTTP(w, req)

	last, _ := fake.Last()
	fmt.Println(w.Code, strings.Contains(w.Body.String(), `"value":"ek_`))
	fmt.Println(fake.Minted(), last.Path, last.Header.Get("Authorization"))
	fmt.Println(string(last.Body))
	// Output:
	// 200 true
	// 1 /v1/realtime/client_secrets Bearer sk-test
	// {"session":{"type":"realtime","model":"gpt-realtime"}}
}

// Fault answers requests itself, to test how code copes with a failing
// upstream.
func ExampleOptions_fault() {
	fake := openaitest.NewServer(openaitest.Options{
		Fault: func(w http.ResponseWriter, _ *http.Request) bool {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, `{"error":{"message":"overloaded","type":"server_error","param":null,"code":null}}`)
			return true
		},
	})
	defer fake.Close()

	provider, err := openai.New(openai.Config{BaseURL: fake.URL})
	if err != nil {
		panic(err)
	}
	resp, err := provider.Mint(context.Background(), &contract.MintRequest{
		Endpoint: contract.EndpointClientSecret,
		Key:      &realtimesecret.Key{ID: "primary", Value: "sk-test"},
		Body:     []byte(`{"session":{"type":"realtime","model":"gpt-realtime"}}`),
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(resp.StatusCode, fake.Count(), fake.Minted())
	// Output:
	// 503 1 0
}
