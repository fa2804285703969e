package oidc_test

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/adapters/oidc"
	"github.com/realtimesecret/realtimesecret/internal/fakeidp"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
)

func TestValidTokenMints(t *testing.T) {
	for _, key := range []fakeidp.Key{fakeidp.ECKey("ec-1"), fakeidp.EdKey("ed-1"), {ID: "rsa-2", Alg: "RS256", Signer: fakeidp.RSAKey()}} {
		t.Run(key.Alg, func(t *testing.T) {
			e := newEnv(t, nil)
			e.idp.AddKey(key)
			w := e.mint(t, e.idp.Sign(e.claims("alice")), "openai/gpt-realtime")
			require.Equal(t, http.StatusOK, w.Code, w.Body.String())
			assert.EqualValues(t, 1, e.upstream.Load())
			require.Len(t, e.principals, 1)
			assert.Equal(t, "alice", e.principals[0].ID)
		})
	}
}

// Every bad token is a 401 in OpenAI's shape, and nothing reaches the
// provider.
func TestBadTokensAre401(t *testing.T) {
	e := newEnv(t, nil)
	good := e.claims("alice")
	with := func(k string, v any) jwt.MapClaims {
		c := jwt.MapClaims{}
		for k, v := range good {
			c[k] = v
		}
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	now := e.clock.Now()
	valid := e.idp.Sign(jwt.MapClaims(good))
	parts := strings.Split(valid, ".")

	pub := e.idp.SigningKey().Signer.Public().(*rsa.PublicKey)
	der, err := x509.MarshalPKIXPublicKey(pub)
	require.NoError(t, err)
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	hs := func(secret []byte) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims(good))
		tok.Header["kid"] = "rsa-1"
		s, err := tok.SignedString(secret)
		require.NoError(t, err)
		return s
	}
	none := func() string {
		tok := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims(good))
		tok.Header["kid"] = "rsa-1"
		s, err := tok.SignedString(jwt.UnsafeAllowNoneSignatureType)
		require.NoError(t, err)
		return s
	}
	header := func(h map[string]any) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims(good))
		for k, v := range h {
			tok.Header[k] = v
		}
		s, err := tok.SignedString(e.idp.SigningKey().Signer)
		require.NoError(t, err)
		return s
	}
	otherKey := fakeidp.Key{ID: "rsa-1", Alg: "RS256", Signer: fakeidp.RSAKey()}
	for otherKey.Signer.Public().(*rsa.PublicKey).Equal(pub) {
		otherKey.Signer = fakeidp.RSAKey()
	}

	cases := []struct {
		name  string
		token string
		auth  string // the whole Authorization header, when set
		msg   string
	}{
		{name: "missing", token: "", msg: "a bearer token is required"},
		{name: "basic auth", auth: "Basic YWxpY2U6cHc=", msg: "Bearer <token>"},
		{name: "expired", token: e.idp.Sign(with("exp", now.Add(-time.Hour).Unix())), msg: "expired"},
		{name: "not yet valid", token: e.idp.Sign(with("nbf", now.Add(time.Hour).Unix())), msg: "not valid yet"},
		{name: "issued in the future", token: e.idp.Sign(with("iat", now.Add(time.Hour).Unix())), msg: "not valid yet"},
		{name: "no expiry", token: e.idp.Sign(with("exp", nil)), msg: "lacks a required claim"},
		{name: "wrong issuer", token: e.idp.Sign(with("iss", "https://evil.example")), msg: "not issued for this service"},
		{name: "wrong audience", token: e.idp.Sign(with("aud", "another-api")), msg: "not issued for this service"},
		{name: "no audience", token: e.idp.Sign(with("aud", nil)), msg: "lacks a required claim"},
		{name: "no subject", token: e.idp.Sign(with("sub", nil)), msg: "does not name a user"},
		{name: "numeric subject", token: e.idp.Sign(with("sub", 42)), msg: "does not name a user"},
		{name: "alg none", token: none(), msg: "cannot be verified"},
		{name: "HS256 with the RSA public key as PEM", token: hs(pemKey), msg: "cannot be verified"},
		{name: "HS256 with the RSA modulus", token: hs(pub.N.Bytes()), msg: "cannot be verified"},
		{name: "unknown kid", token: fakeidp.SignWith(fakeidp.Key{ID: "nope", Alg: "RS256", Signer: otherKey.Signer}, jwt.MapClaims(good)), msg: "cannot be verified"},
		{name: "kid of another key type", token: fakeidp.SignWith(fakeidp.Key{ID: "rsa-1", Alg: "ES256", Signer: fakeidp.ECKey("x").Signer}, jwt.MapClaims(good)), msg: "cannot be verified"},
		{name: "signed by another key under our kid", token: fakeidp.SignWith(otherKey, jwt.MapClaims(good)), msg: "cannot be verified"},
		{name: "payload altered", token: parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"admin","iss":"`+e.idp.Issuer()+`","aud":"`+audience+`","exp":9999999999}`)) + "." + parts[2], msg: "cannot be verified"},
		{name: "signature cut", token: parts[0] + "." + parts[1] + "." + parts[2][:10], msg: "cannot be verified"},
		{name: "two segments", token: parts[0] + "." + parts[1], msg: "malformed"},
		{name: "four segments", token: valid + ".x", msg: "malformed"},
		{name: "bad base64", token: "!!!." + parts[1] + "." + parts[2], msg: "malformed"},
		{name: "header not JSON", token: base64.RawURLEncoding.EncodeToString([]byte("nope")) + "." + parts[1] + "." + parts[2], msg: "malformed"},
		{name: "over 8 KB", token: e.idp.Sign(with("pad", strings.Repeat("x", oidc.MaxTokenBytes))), msg: "larger than 8192 bytes"},
		{name: "critical header", token: header(map[string]any{"kid": "rsa-1", "crit": []string{"exp"}}), msg: "cannot be verified"},
		{name: "kid not a string", token: header(map[string]any{"kid": 7}), msg: "cannot be verified"},
		{name: "a virtual key", token: "vk-web", msg: "malformed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := e.upstream.Load()
			req := mintRequest("openai/gpt-realtime")
			switch {
			case tc.auth != "":
				req.Header.Set("Authorization", tc.auth)
			case tc.token != "":
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			w := e.serve(req)
			require.Equal(t, http.StatusUnauthorized, w.Code, w.Body.String())
			typ, _, msg := openAIError(t, w)
			assert.Equal(t, "authentication_error", typ)
			assert.Contains(t, msg, tc.msg)
			assert.NotEmpty(t, w.Header().Get("WWW-Authenticate"))
			if tc.token != "" && len(tc.token) > 20 {
				assert.NotContains(t, w.Body.String(), tc.token[len(tc.token)-20:], "the answer must not echo the token")
			}
			assert.Equal(t, before, e.upstream.Load(), "nothing upstream")
		})
	}
	// The valid token still works after all that.
	require.Equal(t, http.StatusOK, e.mint(t, valid, "openai/gpt-realtime").Code)
}

// The identity provider failing in every way is a 401, never a 5xx.
func TestIdPFailuresAre401(t *testing.T) {
	for _, mode := range []struct {
		name string
		mode fakeidp.Mode
	}{{"down", fakeidp.Down}, {"slow", fakeidp.Slow}, {"html", fakeidp.HTML}, {"garbage", fakeidp.Garbage}} {
		t.Run(mode.name, func(t *testing.T) {
			e := newEnv(t, func(c *oidc.Config) { c.FetchTimeout = 200 * time.Millisecond })
			e.idp.SetDelay(2 * time.Second)
			e.idp.SetMode(mode.mode)
			w := e.mint(t, e.idp.Sign(e.claims("alice")), "openai/gpt-realtime")
			require.Equal(t, http.StatusUnauthorized, w.Code, w.Body.String())
			_, code, msg := openAIError(t, w)
			assert.Equal(t, "invalid_token", code)
			assert.Contains(t, msg, "signing keys are not available")
			assert.Zero(t, e.upstream.Load())
		})
	}
}

func TestMalformedKeyBesideGoodOnes(t *testing.T) {
	e := newEnv(t, nil)
	e.idp.SetMode(fakeidp.MalformedKey)
	require.Equal(t, http.StatusOK, e.mint(t, e.idp.Sign(e.claims("alice")), "openai/gpt-realtime").Code)
	// A token that names the malformed key is refused.
	tok := fakeidp.SignWith(fakeidp.Key{ID: "broken", Alg: "RS256", Signer: fakeidp.RSAKey()}, jwt.MapClaims(e.claims("bob")))
	require.Equal(t, http.StatusUnauthorized, e.mint(t, tok, "openai/gpt-realtime").Code)
}

// Once fetched, the keys are kept while the provider is down or answers
// garbage, even past their lifetime.
func TestKeysKeptWhileIdPMisbehaves(t *testing.T) {
	e := newEnv(t, nil)
	require.Equal(t, http.StatusOK, e.mint(t, e.idp.Sign(e.claims("warm")), "openai/gpt-realtime").Code)
	for i, mode := range []fakeidp.Mode{fakeidp.Down, fakeidp.HTML, fakeidp.Garbage, fakeidp.Slow} {
		e.idp.SetMode(mode)
		e.idp.SetDelay(2 * time.Second)
		e.clock.Add(25 * time.Hour) // past any lifetime: every mint may refresh
		w := e.mint(t, e.idp.Sign(e.claims(fmt.Sprint("user-", i))), "openai/gpt-realtime")
		require.Equal(t, http.StatusOK, w.Code, "mode %d: %s", mode, w.Body.String())
	}
}

// A flood of tokens with random key ids costs the provider one fetch per
// MinRefreshInterval, not one per token.
func TestUnknownKidFloodIsRateLimited(t *testing.T) {
	e := newEnv(t, func(c *oidc.Config) { c.MinRefreshInterval = time.Minute })
	require.Equal(t, http.StatusOK, e.mint(t, e.idp.Sign(e.claims("warm")), "openai/gpt-realtime").Code)
	require.EqualValues(t, 1, e.idp.JWKSFetches())
	forger := fakeidp.RSAKey()
	e.clock.Add(2 * time.Minute) // the first refresh is allowed
	for i := range 1000 {
		tok := fakeidp.SignWith(fakeidp.Key{ID: fmt.Sprintf("random-%d", i), Alg: "RS256", Signer: forger}, jwt.MapClaims(e.claims("mallory")))
		w := e.mint(t, tok, "openai/gpt-realtime")
		require.Equal(t, http.StatusUnauthorized, w.Code)
		if i == 499 {
			e.clock.Add(time.Minute) // one more interval: one more fetch
		}
	}
	assert.EqualValues(t, 3, e.idp.JWKSFetches(), "one fetch at start, one per interval of the flood")
	assert.EqualValues(t, 1, e.idp.DiscoveryFetches(), "the discovery document is read once")
	assert.Zero(t, e.upstream.Load()-1)
}

// A new key is picked up without a restart: a token with its kid makes
// the set be fetched again. A withdrawn key stops verifying tokens,
// cached ones included.
func TestKeyRotation(t *testing.T) {
	e := newEnv(t, func(c *oidc.Config) { c.MinRefreshInterval = time.Minute })
	old := e.idp.Sign(e.claims("alice"))
	require.Equal(t, http.StatusOK, e.mint(t, old, "openai/gpt-realtime").Code)

	e.idp.Rotate("rsa-2")
	e.clock.Add(time.Minute)
	fresh := e.idp.Sign(e.claims("bob"))
	require.Equal(t, http.StatusOK, e.mint(t, fresh, "openai/gpt-realtime").Code)
	assert.EqualValues(t, 2, e.idp.JWKSFetches())

	// old was cached when verified; its key is gone now.
	w := e.mint(t, old, "openai/gpt-realtime")
	require.Equal(t, http.StatusUnauthorized, w.Code, w.Body.String())
}

// The key set's lifetime is its response's max-age, within bounds.
func TestKeySetLifetime(t *testing.T) {
	cases := []struct {
		name         string
		cacheControl string
		fresh, stale time.Duration
	}{
		{name: "max-age", cacheControl: "public, max-age=600", fresh: 9 * time.Minute, stale: 11 * time.Minute},
		{name: "none: an hour", cacheControl: "", fresh: 59 * time.Minute, stale: 61 * time.Minute},
		{name: "no-store: the least interval", cacheControl: "no-store", fresh: 20 * time.Second, stale: 31 * time.Second},
		{name: "a year: bounded", cacheControl: "max-age=31536000", fresh: 23 * time.Hour, stale: 25 * time.Hour},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			e.idp.SetCacheControl(tc.cacheControl)
			require.Equal(t, http.StatusOK, e.mint(t, e.idp.Sign(e.claims("a")), "openai/gpt-realtime").Code)
			e.clock.Add(tc.fresh)
			require.Equal(t, http.StatusOK, e.mint(t, e.idp.Sign(e.claims("b")), "openai/gpt-realtime").Code)
			assert.EqualValues(t, 1, e.idp.JWKSFetches(), "fresh")
			e.clock.Add(tc.stale - tc.fresh)
			require.Equal(t, http.StatusOK, e.mint(t, e.idp.Sign(e.claims("c")), "openai/gpt-realtime").Code)
			assert.EqualValues(t, 2, e.idp.JWKSFetches(), "stale")
		})
	}
}

func TestJWKSURLWithoutDiscovery(t *testing.T) {
	e := newEnv(t, func(c *oidc.Config) { c.JWKSURL = c.Issuer + "/jwks" })
	require.Equal(t, http.StatusOK, e.mint(t, e.idp.Sign(e.claims("alice")), "openai/gpt-realtime").Code)
	assert.Zero(t, e.idp.DiscoveryFetches())
}

func TestAlgorithmsAllowList(t *testing.T) {
	e := newEnv(t, func(c *oidc.Config) { c.Algorithms = []string{"ES256"} })
	e.idp.AddKey(fakeidp.ECKey("ec-1"))
	require.Equal(t, http.StatusOK, e.mint(t, e.idp.Sign(e.claims("alice")), "openai/gpt-realtime").Code)
	rs := fakeidp.SignWith(fakeidp.Key{ID: "rsa-1", Alg: "RS256", Signer: fakeidp.RSAKey()}, jwt.MapClaims(e.claims("bob")))
	require.Equal(t, http.StatusUnauthorized, e.mint(t, rs, "openai/gpt-realtime").Code)
}

func TestConfigRefusesUnsafeAlgorithms(t *testing.T) {
	for _, alg := range []string{"none", "HS256", "HS512", "rs256"} {
		_, err := oidc.New(oidc.Config{Issuer: "https://idp.example", Audiences: []string{"a"}, Algorithms: []string{alg}})
		require.ErrorIs(t, err, oidc.ErrInvalidConfig, alg)
	}
	cases := []oidc.Config{
		{Audiences: []string{"a"}},
		{Issuer: "http://idp.example", Audiences: []string{"a"}},
		{Issuer: "https://idp.example"},
		{Issuer: "https://idp.example", Audiences: []string{""}},
		{Issuer: "https://idp.example", Audiences: []string{"a"}, DefaultPolicy: "x"},
		{Issuer: "https://idp.example", Audiences: []string{"a"}, PolicyClaim: "role"},
		{Issuer: "https://idp.example", Audiences: []string{"a"}, Cookie: "bad name"},
		{Issuer: "https://idp.example", Audiences: []string{"a"}, Policies: map[string]oidc.Policy{"p": {RateLimit: realtimesecret.Rate{Requests: 1}}}},
	}
	for i, c := range cases {
		_, err := oidc.New(c)
		require.ErrorIs(t, err, oidc.ErrInvalidConfig, "case %d", i)
	}
}

func TestCookie(t *testing.T) {
	e := newEnv(t, func(c *oidc.Config) { c.Cookie = "id_token" })
	req := mintRequest("openai/gpt-realtime")
	req.AddCookie(&http.Cookie{Name: "id_token", Value: e.idp.Sign(e.claims("alice")), Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	require.Equal(t, http.StatusOK, e.serve(req).Code)

	// The header, when present, is the credential: a bad one is not
	// rescued by a good cookie.
	req = mintRequest("openai/gpt-realtime")
	req.AddCookie(&http.Cookie{Name: "id_token", Value: e.idp.Sign(e.claims("alice")), Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	req.Header.Set("Authorization", "Bearer nope")
	require.Equal(t, http.StatusUnauthorized, e.serve(req).Code)

	req = mintRequest("openai/gpt-realtime")
	req.AddCookie(&http.Cookie{Name: "other", Value: e.idp.Sign(e.claims("alice")), Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	w := e.serve(req)
	require.Equal(t, http.StatusUnauthorized, w.Code)
	_, code, msg := openAIError(t, w)
	assert.Equal(t, "missing_token", code)
	assert.Contains(t, msg, "id_token cookie")
}

func TestRequiredClaims(t *testing.T) {
	e := newEnv(t, func(c *oidc.Config) {
		c.RequiredClaims = map[string]string{"email_verified": "true", "tenant": "acme", "email": ""}
	})
	base := func() map[string]any {
		c := e.claims("alice")
		c["email_verified"], c["tenant"], c["email"] = true, []any{"other", "acme"}, "a@example.com"
		return c
	}
	require.Equal(t, http.StatusOK, e.mint(t, e.idp.Sign(base()), "openai/gpt-realtime").Code)
	for _, edit := range []func(map[string]any){
		func(c map[string]any) { c["email_verified"] = false },
		func(c map[string]any) { c["email_verified"] = "yes" },
		func(c map[string]any) { c["tenant"] = "other" },
		func(c map[string]any) { delete(c, "email") },
		func(c map[string]any) { c["email"] = "" },
	} {
		c := base()
		edit(c)
		w := e.mint(t, e.idp.Sign(c), "openai/gpt-realtime")
		require.Equal(t, http.StatusUnauthorized, w.Code)
		_, _, msg := openAIError(t, w)
		assert.Contains(t, msg, "required claim")
	}
}

func TestUserClaim(t *testing.T) {
	e := newEnv(t, func(c *oidc.Config) { c.UserClaim = "email" })
	c := e.claims("opaque-sub")
	c["email"] = "alice@example.com"
	require.Equal(t, http.StatusOK, e.mint(t, e.idp.Sign(c), "openai/gpt-realtime").Code)
	assert.Equal(t, "alice@example.com", e.principals[0].ID)
}

// A token from the cookie is refused on a cross-site request; from the
// header, it is not: no other site can make a browser send it.
func TestCookieCrossSite(t *testing.T) {
	e := newEnv(t, func(c *oidc.Config) { c.Cookie = "id_token" })
	token := e.idp.Sign(e.claims("alice"))
	req := mintRequest("openai/gpt-realtime")
	req.AddCookie(&http.Cookie{Name: "id_token", Value: token, Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	w := e.serve(req)
	require.Equal(t, http.StatusForbidden, w.Code, w.Body.String())
	_, code, _ := openAIError(t, w)
	assert.Equal(t, "cross_site_request", code)
	assert.Zero(t, e.upstream.Load())

	req = mintRequest("openai/gpt-realtime")
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	require.Equal(t, http.StatusOK, e.serve(req).Code)
}
