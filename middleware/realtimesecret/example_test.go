package realtimesecret_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/realtimesecrettest"
)

// exampleProvider stands in for adapters/openai so the examples run
// without a network.
var exampleProvider = realtimesecrettest.ProviderFunc(func(_ context.Context, req *contract.MintRequest) (*contract.Reply, error) {
	fmt.Printf("upstream got %s with key %s: %s\n", req.Endpoint.Path(), req.Key.ID, req.Body)
	return &contract.Reply{StatusCode: http.StatusOK,
		Body: []byte(`{"value":"ek_example","expires_at":4102444800,"session":{"type":"realtime","model":"gpt-realtime"}}`)}, nil
})

func exampleConfig() realtimesecret.Config {
	return realtimesecret.Config{
		Providers: []realtimesecret.ProviderConfig{{
			Name:     "openai",
			Provider: exampleProvider, // openai.New(openai.Config{}) in a real app
			Keys:     []realtimesecret.Key{{ID: "primary", Value: "sk-..."}},
		}},
		VirtualKeys: []realtimesecret.VirtualKey{{ID: "web", Value: "vk-web"}},
	}
}

// Mint a client secret through a chi router, then redeem it on a route the
// app serves itself.
func Example_chi() {
	r := chi.NewRouter()
	r.Use(realtimesecret.Middleware(exampleConfig()))
	r.Get("/v1/realtime", func(w http.ResponseWriter, r *http.Request) {
		rec, ok := realtimesecret.FromContext(r.Context())
		fmt.Println("attributed:", ok, rec.VirtualKeyID, rec.KeyID, rec.Model)
	})

	req := httptest.NewRequest(http.MethodPost, "/v1/realtime/client_secrets",
		strings.NewReader(`{"session":{"type":"realtime","model":"openai/gpt-realtime"}}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer vk-web")
	w := httptest.NewRecorder()
	r.ServeHTTP(w, req)
	fmt.Println(w.Code, w.Body.String())

	req = httptest.NewRequest(http.MethodGet, "/v1/realtime", nil)
	req.Header.Set("Authorization", "Bearer ek_example")
	r.ServeHTTP(httptest.NewRecorder(), req)
	// Output:
	// upstream got /v1/realtime/client_secrets with key primary: {"session":{"type":"realtime","model":"gpt-realtime"}}
	// 200 {"value":"ek_example","expires_at":4102444800,"session":{"type":"realtime","model":"gpt-realtime"}}
	// attributed: true web primary gpt-realtime
}

// Wrap a standard library ServeMux; errors are OpenAI-shaped JSON.
func Example_serveMux() {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "ok") })
	h := realtimesecret.Middleware(exampleConfig())(mux)

	req := httptest.NewRequest(http.MethodPost, "/openai/v1/realtime/sessions", strings.NewReader(`{"model":"gpt-realtime"}`))
	req.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	fmt.Println(w.Code, w.Body.String())

	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	fmt.Println(w.Code, w.Body.String())
	// Output:
	// 401 {"error":{"message":"a virtual key is required: send Authorization: Bearer <key> or X-Virtual-Key","type":"authentication_error","param":null,"code":"missing_api_key"}}
	// 200 ok
}

// userKey is the context key under which the app's session middleware
// puts the signed-in user.
type userKey struct{}

// sessionMiddleware stands in for the app's own: it has checked the
// session cookie against its session store and put the user in the
// request's context. The user never comes from a header, which any client
// can set.
func sessionMiddleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie("session"); err == nil && c.Value == "session-of-alice" { // a real app looks it up
			r = r.WithContext(context.WithValue(r.Context(), userKey{}, "alice"))
		}
		next.ServeHTTP(w, r)
	})
}

// Let the host app's own authentication decide who mints: the Authorizer
// reads the user its session middleware, in front, put in the context.
func ExampleAuthorizer() {
	cfg := exampleConfig()
	cfg.VirtualKeys = nil
	cfg.Authorizer = func(r *http.Request, in realtimesecret.Intent) (realtimesecret.Principal, error) {
		user, _ := r.Context().Value(userKey{}).(string)
		if user == "" {
			return realtimesecret.Principal{}, realtimesecret.ErrUnauthenticated
		}
		// Cookie: the session is a cookie, which other sites can make the
		// browser send: their requests are refused (403 cross_site_request).
		return realtimesecret.Principal{ID: user, Kind: "user", Cookie: true, MaxSessions: 2}, nil
	}
	h := sessionMiddleware(realtimesecret.Middleware(cfg)(http.NotFoundHandler()))

	mint := func(header ...string) {
		req := httptest.NewRequest(http.MethodPost, "/v1/realtime/client_secrets", strings.NewReader(`{"model":"openai/gpt-realtime"}`))
		req.Header.Set("Content-Type", "application/json")
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		fmt.Println(w.Code)
	}
	mint("Cookie", "session=session-of-alice")
	mint("X-User", "alice") // a header proves nothing
	mint("Cookie", "session=session-of-alice", "Sec-Fetch-Site", "cross-site")
	// Output:
	// upstream got /v1/realtime/client_secrets with key primary: {"session":{"type":"realtime","model":"gpt-realtime"}}
	// 200
	// 401
	// 403
}

// New returns configuration errors instead of panicking.
func ExampleNew() {
	_, err := realtimesecret.New(realtimesecret.Config{})
	fmt.Println(err)
	// Output:
	// realtimesecret: invalid config: no providers
}

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
