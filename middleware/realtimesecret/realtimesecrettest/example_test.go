package realtimesecrettest_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/realtimesecrettest"
)

// A handler behind the middleware reads who minted the token a request
// redeems; NewContext lets its test set that without a mint.
func ExampleNewContext() {
	usage := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec, ok := realtimesecret.FromContext(r.Context())
		if !ok {
			http.Error(w, "not attributed", http.StatusUnauthorized)
			return
		}
		fmt.Fprintf(w, "%s via %s", rec.VirtualKeyID, rec.KeyID)
	})

	r := httptest.NewRequest(http.MethodGet, "/v1/realtime", nil)
	r = r.WithContext(realtimesecrettest.NewContext(r.Context(), realtimesecret.Record{VirtualKeyID: "web", KeyID: "primary"}))
	w := httptest.NewRecorder()
	usage.ServeHTTP(w, r)
	fmt.Println(w.Body.String())
	// Output: web via primary
}

// A ProviderFunc stands in for an upstream in a test of an app's
// middleware stack.
func ExampleProviderFunc() {
	upstream := realtimesecrettest.ProviderFunc(func(_ context.Context, req *contract.MintRequest) (*contract.Reply, error) {
		body := fmt.Sprintf(`{"value":"ek_test","expires_at":%d}`, time.Now().Add(time.Minute).Unix())
		return &contract.Reply{StatusCode: http.StatusOK, Body: []byte(body)}, nil
	})
	mw := realtimesecret.Middleware(realtimesecret.Config{
		Providers: []realtimesecret.ProviderConfig{{Name: "openai", Provider: upstream,
			Keys: []realtimesecret.Key{{ID: "primary", Value: "sk-test"}}}},
	})
	h := mw(http.NotFoundHandler())

	r := httptest.NewRequest(http.MethodPost, "/openai/v1/realtime/client_secrets",
		strings.NewReader(`{"session":{"type":"realtime","model":"gpt-realtime"}}`))
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	fmt.Println(w.Code, strings.Contains(w.Body.String(), `"value":"ek_test"`))
	// Output: 200 true
}
