package oidc

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"slices"
)

// RSA moduli outside these bounds are refused: below is breakable, above
// costs a verification more than a caller should be able to make us pay.
const (
	minRSABits = 2048
	maxRSABits = 8192
)

// jwk is one usable verification key of a key set.
type jwk struct {
	kid string
	alg string // the JWK's own "alg"; "" when it names none
	key crypto.PublicKey
}

// rawJWK is the part of a JSON Web Key (RFC 7517, RFC 7518, RFC 8037) a
// verification key needs.
type rawJWK struct {
	Kty    string   `json:"kty"`
	Kid    string   `json:"kid"`
	Use    string   `json:"use"`
	Alg    string   `json:"alg"`
	KeyOps []string `json:"key_ops"`
	Crv    string   `json:"crv"`
	N      string   `json:"n"`
	E      string   `json:"e"`
	X      string   `json:"x"`
	Y      string   `json:"y"`
	D      string   `json:"d"`
}

var (
	errKeyUnusable = errors.New("not a public signature verification key")
	errKeyBad      = errors.New("malformed key")
)

// parseJWK parses one key of a set. A key the set may hold but that does
// not verify signatures (an encryption key, a symmetric key, an unknown
// type) is errKeyUnusable; a key that claims to verify but is malformed
// (bad base64, a point off its curve, a short modulus) is errKeyBad.
func parseJWK(data []byte) (jwk, error) {
	var r rawJWK
	if err := json.Unmarshal(data, &r); err != nil {
		return jwk{}, errKeyBad
	}
	switch {
	case r.Use != "" && r.Use != "sig":
		return jwk{}, errKeyUnusable
	case len(r.KeyOps) > 0 && !slices.Contains(r.KeyOps, "verify"):
		return jwk{}, errKeyUnusable
	case r.D != "":
		// A private key published by mistake: whoever read the set can
		// sign with it.
		return jwk{}, errKeyBad
	}
	k := jwk{kid: r.Kid, alg: r.Alg}
	var err error
	switch r.Kty {
	case "RSA":
		k.key, err = rsaKey(r.N, r.E)
	case "EC":
		k.key, err = ecKey(r.Crv, r.X, r.Y)
	case "OKP":
		k.key, err = edKey(r.Crv, r.X)
	default: // "oct" among them: a shared secret is never a verification key here
		return jwk{}, errKeyUnusable
	}
	if err != nil {
		return jwk{}, err
	}
	if k.alg != "" && !fits(k.alg, k.key) {
		return jwk{}, errKeyBad
	}
	return k, nil
}

func b64(s string) ([]byte, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) == 0 {
		return nil, errKeyBad
	}
	return b, nil
}

func rsaKey(n64, e64 string) (crypto.PublicKey, error) {
	n, err := b64(n64)
	if err != nil {
		return nil, err
	}
	e, err := b64(e64)
	if err != nil || len(e) > 4 {
		return nil, errKeyBad
	}
	var exp int
	for _, b := range e {
		exp = exp<<8 | int(b)
	}
	key := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: exp}
	if bits := key.N.BitLen(); bits < minRSABits || bits > maxRSABits || exp < 3 || exp%2 == 0 {
		return nil, errKeyBad
	}
	return key, nil
}

func ecKey(crv, x64, y64 string) (crypto.PublicKey, error) {
	var curve elliptic.Curve
	var size int
	switch crv {
	case "P-256":
		curve, size = elliptic.P256(), 32
	case "P-384":
		curve, size = elliptic.P384(), 48
	case "P-521":
		curve, size = elliptic.P521(), 66
	default:
		return nil, errKeyBad
	}
	x, err := b64(x64)
	if err != nil {
		return nil, err
	}
	y, err := b64(y64)
	if err != nil || len(x) != size || len(y) != size {
		return nil, errKeyBad
	}
	point := make([]byte, 0, 1+2*size)
	point = append(append(append(point, 4), x...), y...)
	key, err := ecdsa.ParseUncompressedPublicKey(curve, point) // refuses a point off the curve
	if err != nil {
		return nil, errKeyBad
	}
	return key, nil
}

func edKey(crv, x64 string) (crypto.PublicKey, error) {
	if crv != "Ed25519" {
		return nil, errKeyUnusable // X25519 is for key agreement; Ed448 is not supported
	}
	x, err := b64(x64)
	if err != nil || len(x) != ed25519.PublicKeySize {
		return nil, errKeyBad
	}
	return ed25519.PublicKey(x), nil
}

// fits reports whether key can verify a signature of alg: the key type
// and, for ECDSA, the curve the algorithm names. This is what keeps a
// token's header from choosing how our key is used (an RSA public key as
// an HMAC secret, a P-384 key for ES256).
func fits(alg string, key crypto.PublicKey) bool {
	switch k := key.(type) {
	case *rsa.PublicKey:
		switch alg {
		case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
			return true
		}
	case *ecdsa.PublicKey:
		switch alg {
		case "ES256":
			return k.Curve == elliptic.P256()
		case "ES384":
			return k.Curve == elliptic.P384()
		case "ES512":
			return k.Curve == elliptic.P521()
		}
	case ed25519.PublicKey:
		return alg == "EdDSA"
	}
	return false
}
