package oidc_test

import (
	"context"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/realtimesecret/realtimesecret/adapters/oidc"
	"github.com/realtimesecret/realtimesecret/internal/fakeidp"
)

func benchVerifier(b *testing.B, cached int) (*oidc.Verifier, string) {
	b.Helper()
	idp := fakeidp.New()
	b.Cleanup(idp.Close)
	v, err := oidc.New(oidc.Config{Issuer: idp.Issuer(), Audiences: []string{audience}, MaxCachedTokens: cached})
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	token := idp.Sign(jwt.MapClaims{"iss": idp.Issuer(), "aud": audience, "sub": "alice", "iat": now.Unix(),
		"exp": now.Add(time.Hour).Unix(), "jti": "j1"})
	if _, err := v.Verify(context.Background(), token); err != nil { // the keys are fetched here
		b.Fatal(err)
	}
	return v, token
}

// BenchmarkVerifyRS256First is a token's first verification: the RS256
// signature and the claims, the keys already held (the cache is off, so
// every iteration verifies).
func BenchmarkVerifyRS256First(b *testing.B) {
	v, token := benchVerifier(b, -1)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, token); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyCached is a repeated token: its hash and a map lookup.
func BenchmarkVerifyCached(b *testing.B) {
	v, token := benchVerifier(b, 0)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, token); err != nil {
			b.Fatal(err)
		}
	}
}
