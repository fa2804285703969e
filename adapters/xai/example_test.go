package xai_test

import (
	"fmt"
	"net/http/httptest"

	"github.com/realtimesecret/realtimesecret/adapters/xai"
	"github.com/realtimesecret/realtimesecret/internal/fakexai"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
)

// An xai provider beside the others: /xai/v1/realtime/client_secrets, or
// the model written "xai/grok-voice-latest" on /v1/realtime/client_secrets.
func Example() {
	up := httptest.NewServer(fakexai.New(fakexai.Options{})) // https://api.x.ai in production
	defer up.Close()

	p, err := xai.New(xai.Config{BaseURL: up.URL})
	if err != nil {
		panic(err)
	}
	h, err := realtimesecret.New(realtimesecret.Config{
		Providers: []realtimesecret.ProviderConfig{{
			Name: "xai", Provider: p,
			Keys: []realtimesecret.Key{{ID: "primary", Value: "xai-not-printed"}},
		}},
		VirtualKeys: []realtimesecret.VirtualKey{{ID: "web", Value: "vk-web", MaxTTL: 300e9}},
	})
	if err != nil {
		panic(err)
	}
	defer h.Close()
	fmt.Println(p.SecretFormat().Subprotocol)
	// Output:
	// xai-client-secret.
}
