package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/realtimesecret/realtimesecret/internal/fakeidp"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// fuzzVerifier has a key set already, and may not fetch another: the
// fuzzer's tokens reach the provider never.
func fuzzVerifier(tb testing.TB) (*Verifier, fakeidp.Key) {
	tb.Helper()
	v, err := New(Config{Issuer: "https://idp.example", Audiences: []string{"api"}, Cookie: "tok", Algorithms: []string{"RS256", "EdDSA"},
		PolicyClaim: "plan", DefaultPolicy: "free",
		RequiredClaims: map[string]string{"tenant": "acme"},
		Policies: map[string]Policy{
			"free": {Models: []string{"gpt-realtime-mini"}},
			"pro":  {Providers: []string{"openai"}},
		}})
	if err != nil {
		tb.Fatal(err)
	}
	// Ed25519: a signature per input costs microseconds, RSA's a
	// millisecond, and minimizing an input signs many.
	key := fakeidp.EdKey("k1")
	k, err := parseJWK(mustJSON(fakeidp.JWK(key)))
	if err != nil {
		tb.Fatal(err)
	}
	now := time.Now()
	v.keys.set.Store(&keySet{keys: []jwk{k}, fetched: now, expires: now.Add(time.Hour)})
	v.keys.lastAttempt = now.Add(time.Hour) // no fetch during the run
	return v, key
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// FuzzTokenPath drives what is ours of a token's path: the extraction
// from the Authorization header or the cookie, the verification's key
// choice from the header, the claims (required claims, user, jti), and
// the policy choice and check. Whatever the input, it answers a 401 or a
// 403 as an *Error, or a principal with a user.
func FuzzTokenPath(f *testing.F) {
	v, key := fuzzVerifier(f)
	good := jwt.MapClaims{"iss": "https://idp.example", "aud": "api", "sub": "alice", "exp": time.Now().Add(time.Hour).Unix(),
		"tenant": "acme", "plan": []any{"x", "pro"}}
	f.Add("Bearer "+fakeidp.SignWith(key, good), "", []byte(`{"sub":"bob","tenant":["acme"],"plan":"pro","exp":1e12}`), "gpt-realtime")
	f.Add("", "tok="+fakeidp.SignWith(key, good), []byte(`{"sub":"","tenant":true}`), "")
	f.Add("bearer a.b.c", "tok=x; tok=y", []byte(`{"sub":1,"plan":{"a":[1,2]}}`), "openai/x")
	f.Add("Bearer eyJhbGciOiJub25lIiwia2lkIjoiazEifQ.e30.", "", []byte(`[]`), "*")
	f.Add("Bearer "+fakeidp.SignWith(fakeidp.Key{ID: "k1", Alg: "RS256", Signer: fakeidp.RSAKey()}, good), "", []byte(`{}`), "")
	f.Fuzz(func(t *testing.T, auth, cookie string, claimsJSON []byte, model string) {
		r := httptest.NewRequest(http.MethodPost, "/v1/realtime/client_secrets", nil)
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		if cookie != "" {
			r.Header.Set("Cookie", cookie)
		}
		in := realtimesecret.Intent{Provider: "openai", Model: model, Endpoint: contract.EndpointClientSecret}
		p, err := v.Authorize(r, in)
		check(t, p, err)

		var claims jwt.MapClaims
		if json.Unmarshal(claimsJSON, &claims) != nil {
			return
		}
		id, e := v.identify(claims)
		if e != nil {
			if e.Status != http.StatusUnauthorized {
				t.Fatalf("identify: status %d", e.Status)
			}
			return
		}
		if id.user == "" || len(id.user) > maxUserBytes || len(id.jti) > maxUserBytes {
			t.Fatalf("identify: user %q jti %q", id.user, id.jti)
		}
		if pol := v.policyOf(id); pol == nil {
			t.Fatalf("a default policy is configured, yet %q has none", id.policy)
		} else if e := allows(pol, id.user, in); e != nil && e.Status != http.StatusForbidden && e.Status != http.StatusBadRequest {
			t.Fatalf("allows: status %d", e.Status)
		}
		// A verified token of these claims goes the same way.
		claims["iss"], claims["aud"] = "https://idp.example", "api"
		if _, err := v.verify(context.Background(), fakeidp.SignWith(key, claims)); err != nil && err.Status != http.StatusUnauthorized {
			t.Fatalf("verify: status %d", err.Status)
		}
	})
}

func check(t *testing.T, p realtimesecret.Principal, err error) {
	t.Helper()
	if err == nil {
		if p.ID == "" {
			t.Fatal("a principal without a user")
		}
		return
	}
	var e *realtimesecret.Error
	if !errors.As(err, &e) {
		t.Fatalf("not an *Error: %T %v", err, err)
	}
	if e.Status != http.StatusUnauthorized && e.Status != http.StatusForbidden && e.Status != http.StatusBadRequest {
		t.Fatalf("status %d: %v", e.Status, e)
	}
}
