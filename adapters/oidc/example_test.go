package oidc_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/realtimesecret/realtimesecret/adapters/oidc"
	"github.com/realtimesecret/realtimesecret/internal/fakeidp"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/realtimesecrettest"
)

// Let users of an OpenID Connect provider mint, each with the policy of
// their plan.
func ExampleVerifier_Authorize() {
	idp := fakeidp.New() // your provider: https://login.example.com/
	defer idp.Close()

	v, err := oidc.New(oidc.Config{
		Issuer:      idp.Issuer(),
		Audiences:   []string{"realtime-api"},
		PolicyClaim: "plan",
		Policies: map[string]oidc.Policy{
			"free": {Models: []string{"gpt-realtime-mini"}, MaxSessions: 1},
			"pro":  {MaxSessions: 5},
		},
		DefaultPolicy: "free",
	})
	if err != nil {
		panic(err)
	}
	provider := realtimesecrettest.ProviderFunc(func(_ context.Context, req *contract.MintRequest) (*contract.Reply, error) {
		return &contract.Reply{StatusCode: http.StatusOK,
			Body: []byte(`{"value":"ek_example","expires_at":4102444800}`)}, nil
	})
	h := realtimesecret.Middleware(realtimesecret.Config{
		Providers:  []realtimesecret.ProviderConfig{{Name: "openai", Provider: provider, Keys: []realtimesecret.Key{{ID: "primary", Value: "sk-..."}}}},
		Authorizer: v.Authorize,
	})(http.NotFoundHandler())

	mint := func(token, model string) {
		req := httptest.NewRequest(http.MethodPost, "/v1/realtime/client_secrets",
			strings.NewReader(`{"session":{"type":"realtime","model":"openai/`+model+`"}}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		fmt.Println(model, w.Code)
	}
	free := idp.Sign(jwt.MapClaims{"iss": idp.Issuer(), "aud": "realtime-api", "sub": "alice",
		"exp": time.Now().Add(time.Hour).Unix()})
	mint(free, "gpt-realtime-mini")
	mint(free, "gpt-realtime")
	mint("not-a-token", "gpt-realtime-mini")
	// Output:
	// gpt-realtime-mini 200
	// gpt-realtime 403
	// gpt-realtime-mini 401
}
