package azure_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/realtimesecret/realtimesecret/adapters/azure"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
)

// An Azure provider behind the middleware. Clients ask for "gpt-realtime";
// the key's alias sends Azure the deployment name.
func ExampleNew() {
	// A stand-in for https://my-resource.openai.azure.com.
	resource := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Session struct{ Model string } `json:"session"`
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		fmt.Println("Azure got", r.URL.Path, "for deployment", body.Session.Model)
		_, _ = io.WriteString(w, `{"value":"ek_123","expires_at":4102444800}`)
	}))
	defer resource.Close()

	provider, err := azure.New(azure.Config{
		Endpoint:   resource.URL,         // https://my-resource.openai.azure.com
		APIVersion: "2025-04-01-preview", // optional: serves /v1/realtime/sessions
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	mw := realtimesecret.Middleware(realtimesecret.Config{
		Providers: []realtimesecret.ProviderConfig{{
			Name:     "azure",
			Provider: provider,
			Keys: []realtimesecret.Key{{
				ID:      "eastus2",
				Value:   "example-key", // os.Getenv("AZURE_OPENAI_API_KEY") in a real program
				Aliases: map[string]string{"gpt-realtime": "my-gpt-realtime-deployment"},
			}},
		}},
	})

	req := httptest.NewRequest(http.MethodPost, "/azure/v1/realtime/client_secrets",
		strings.NewReader(`{"session":{"type":"realtime","model":"gpt-realtime"}}`))
	req.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	mw(http.NotFoundHandler()).ServeHTTP(w, req)
	fmt.Println(w.Code, w.Body.String())
	// Output:
	// Azure got /openai/v1/realtime/client_secrets for deployment my-gpt-realtime-deployment
	// 200 {"value":"ek_123","expires_at":4102444800}
}

// Microsoft Entra ID instead of keys. With azidentity:
//
//	cred, err := azidentity.NewDefaultAzureCredential(nil)
//	...
//	TokenSource: func(ctx context.Context) (string, error) {
//		tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{
//			Scopes: []string{"https://cognitiveservices.azure.com/.default"},
//		})
//		return tok.Token, err
//	},
//
// The credential caches tokens and refreshes them before they expire.
func ExampleConfig_tokenSource() {
	getToken := func(_ context.Context) (string, error) { return "entra-access-token", nil }
	provider, err := azure.New(azure.Config{
		Endpoint:    "https://my-resource.openai.azure.com",
		TokenSource: getToken,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = realtimesecret.ProviderConfig{
		Name:     "azure",
		Provider: provider,
		// Key.Value is not sent with a TokenSource, but the middleware
		// requires one: a label will do.
		Keys: []realtimesecret.Key{{ID: "entra", Value: "entra-id"}},
	}
}
