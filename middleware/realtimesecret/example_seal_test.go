package realtimesecret_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
)

// Sealed tokens: with SealKeys, the client gets "ek_rs_" + the upstream token
// and its attribution sealed with AES-256-GCM. Any node with the key opens
// it, without a shared store, and passes the upstream token on; a token that
// does not open is answered 401 and never reaches the next handler.
func ExampleConfig_sealKeys() {
	// 32 random bytes, base64: `openssl rand -base64 32`, kept like a
	// provider key. The first key seals, every key opens.
	raw, err := base64.StdEncoding.DecodeString("q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=")
	if err != nil {
		panic(err)
	}
	cfg := exampleConfig()
	cfg.SealKeys = []realtimesecret.SealKey{raw}

	// Two nodes, each with its own (memory) store: nothing is shared but
	// the seal key.
	minter := realtimesecret.Middleware(cfg)(http.NotFoundHandler())
	other := realtimesecret.Middleware(cfg)(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		rec, ok := realtimesecret.FromContext(r.Context())
		fmt.Println("next got:", r.Header.Get("Authorization"), ok, rec.VirtualKeyID, rec.KeyID, rec.Model)
	}))

	req := httptest.NewRequest(http.MethodPost, "/v1/realtime/client_secrets",
		strings.NewReader(`{"session":{"type":"realtime","model":"openai/gpt-realtime"}}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer vk-web")
	w := httptest.NewRecorder()
	minter.ServeHTTP(w, req)
	var secret struct {
		Value string `json:"value"`
	}
	_ = json.Unmarshal(w.Body.Bytes(), &secret)
	fmt.Println("client got:", w.Code, secret.Value[:len("ek_rs_")])

	req = httptest.NewRequest(http.MethodGet, "/v1/realtime", nil)
	req.Header.Set("Authorization", "Bearer "+secret.Value)
	other.ServeHTTP(httptest.NewRecorder(), req)

	req = httptest.NewRequest(http.MethodGet, "/v1/realtime", nil)
	req.Header.Set("Authorization", "Bearer "+secret.Value+"x") // altered in transit
	w = httptest.NewRecorder()
	other.ServeHTTP(w, req)
	fmt.Println("forged:", w.Code)
	// Output:
	// upstream got /v1/realtime/client_secrets with key primary: {"session":{"type":"realtime","model":"gpt-realtime"}}
	// client got: 200 ek_rs_
	// next got: Bearer ek_example true web primary gpt-realtime
	// forged: 401
}
