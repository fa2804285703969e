// Package fakeidp is an OpenID Connect identity provider for tests: an
// httptest server that serves a discovery document and a JWKS, signs
// tokens with its current keys, rotates them, and misbehaves on demand
// (down, slow, HTML, garbage, a malformed key beside the good ones).
//
// Dex or Keycloak would be the real thing, but neither can be built or
// fetched on the machines these tests run on (no network beyond the
// package registries), so the tests use this instead.
package fakeidp

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Mode is how the provider answers.
type Mode int

// The modes of a provider.
const (
	Normal       Mode = iota // discovery and JWKS as they should be
	Down                     // 503 to every request
	HTML                     // a 200 HTML page where the JWKS should be
	Garbage                  // a 200 JSON body that is not a JWKS
	MalformedKey             // the JWKS with a malformed key before the good ones
	Slow                     // waits Delay before answering
)

// Key is a signing key of the provider.
type Key struct {
	ID     string
	Alg    string
	Signer crypto.Signer
}

// IDP is a running fake provider. Its methods are safe for concurrent use.
type IDP struct {
	srv *httptest.Server

	mu           sync.Mutex
	keys         []Key // published; the first signs
	mode         Mode
	delay        time.Duration
	cacheControl string

	jwksFetches      atomic.Int64
	discoveryFetches atomic.Int64
}

// rsaKeys are generated once per process: 2048-bit generation is slow.
var (
	rsaOnce sync.Once
	rsaPool []*rsa.PrivateKey
	rsaNext atomic.Int64
)

// RSAKey returns a 2048-bit RSA key, from a small pool generated once.
func RSAKey() *rsa.PrivateKey {
	rsaOnce.Do(func() {
		for range 4 {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			rsaPool = append(rsaPool, k)
		}
	})
	return rsaPool[int(rsaNext.Add(1))%len(rsaPool)]
}

// New starts a provider with one RS256 key. Close it when done.
func New() *IDP {
	p := &IDP{}
	p.keys = []Key{{ID: "rsa-1", Alg: "RS256", Signer: RSAKey()}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", p.discovery)
	mux.HandleFunc("GET /jwks", p.jwks)
	p.srv = httptest.NewServer(mux)
	return p
}

// Close shuts the server down.
func (p *IDP) Close() { p.srv.Close() }

// Issuer is the provider's issuer URL.
func (p *IDP) Issuer() string { return p.srv.URL }

// JWKSURL is where its key set is.
func (p *IDP) JWKSURL() string { return p.srv.URL + "/jwks" }

// JWKSFetches is how many times the key set was asked for.
func (p *IDP) JWKSFetches() int64 { return p.jwksFetches.Load() }

// DiscoveryFetches is how many times the discovery document was asked for.
func (p *IDP) DiscoveryFetches() int64 { return p.discoveryFetches.Load() }

// SetMode changes how the provider answers.
func (p *IDP) SetMode(m Mode) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mode = m
}

// SetDelay sets how long Slow waits.
func (p *IDP) SetDelay(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.delay = d
}

// SetCacheControl sets the JWKS response's Cache-Control ("" for none).
func (p *IDP) SetCacheControl(v string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cacheControl = v
}

// AddKey publishes k first: it signs from now on; the others stay
// published.
func (p *IDP) AddKey(k Key) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.keys = append([]Key{k}, p.keys...)
}

// Rotate publishes a new RS256 key with id, which signs from now on, and
// withdraws every other key.
func (p *IDP) Rotate(id string) Key {
	k := Key{ID: id, Alg: "RS256", Signer: RSAKey()}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.keys = []Key{k}
	return k
}

// SigningKey returns the key that signs.
func (p *IDP) SigningKey() Key {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.keys[0]
}

// Claims returns valid claims for sub with audience aud, expiring in an
// hour, to change before signing.
func (p *IDP) Claims(sub, aud string) jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{"iss": p.Issuer(), "aud": aud, "sub": sub, "iat": now.Unix(), "nbf": now.Unix(),
		"exp": now.Add(time.Hour).Unix(), "jti": "jti-" + strconv.FormatInt(now.UnixNano(), 36)}
}

// Sign signs claims with the current key.
func (p *IDP) Sign(claims jwt.MapClaims) string { return SignWith(p.SigningKey(), claims) }

// SignWith signs claims with k, its id in the header.
func SignWith(k Key, claims jwt.MapClaims) string {
	t := jwt.NewWithClaims(jwt.GetSigningMethod(k.Alg), claims)
	if k.ID != "" {
		t.Header["kid"] = k.ID
	}
	s, err := t.SignedString(k.Signer)
	if err != nil {
		panic(err)
	}
	return s
}

// ECKey returns a new ES256 key.
func ECKey(id string) Key {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return Key{ID: id, Alg: "ES256", Signer: k}
}

// EdKey returns a new EdDSA key.
func EdKey(id string) Key {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	return Key{ID: id, Alg: "EdDSA", Signer: k}
}

func (p *IDP) state() (Mode, time.Duration, string, []Key) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mode, p.delay, p.cacheControl, append([]Key(nil), p.keys...)
}

// misbehave answers for the modes that fail every request; it reports
// whether it did.
func misbehave(w http.ResponseWriter, r *http.Request, mode Mode, delay time.Duration) bool {
	switch mode {
	case Down:
		http.Error(w, "down", http.StatusServiceUnavailable)
		return true
	case Slow:
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return true
		}
	}
	return false
}

func (p *IDP) discovery(w http.ResponseWriter, r *http.Request) {
	p.discoveryFetches.Add(1)
	mode, delay, _, _ := p.state()
	if misbehave(w, r, mode, delay) {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{"issuer": p.Issuer(), "jwks_uri": p.JWKSURL()})
}

func (p *IDP) jwks(w http.ResponseWriter, r *http.Request) {
	p.jwksFetches.Add(1)
	mode, delay, cc, keys := p.state()
	if misbehave(w, r, mode, delay) {
		return
	}
	switch mode {
	case HTML:
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<html><body>Sign in</body></html>"))
		return
	case Garbage:
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"keys":"not a list"}`))
		return
	}
	var out []map[string]any
	if mode == MalformedKey {
		out = append(out, map[string]any{"kty": "RSA", "kid": "broken", "n": "!!!", "e": "AQAB"},
			map[string]any{"kty": "EC", "kid": "off-curve", "crv": "P-256", "x": b64(make([]byte, 32)), "y": b64(make([]byte, 32))})
	}
	for _, k := range keys {
		out = append(out, JWK(k))
	}
	if cc != "" {
		w.Header().Set("Cache-Control", cc)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"keys": out})
}

// JWK is the public JWK of k.
func JWK(k Key) map[string]any {
	m := map[string]any{"kid": k.ID, "alg": k.Alg, "use": "sig"}
	switch pub := k.Signer.Public().(type) {
	case *rsa.PublicKey:
		m["kty"], m["n"], m["e"] = "RSA", b64(pub.N.Bytes()), b64(big.NewInt(int64(pub.E)).Bytes())
	case *ecdsa.PublicKey:
		raw, err := pub.Bytes()
		if err != nil {
			panic(err)
		}
		m["kty"], m["crv"], m["x"], m["y"] = "EC", "P-256", b64(raw[1:33]), b64(raw[33:])
	case ed25519.PublicKey:
		m["kty"], m["crv"], m["x"] = "OKP", "Ed25519", b64(pub)
	}
	return m
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
