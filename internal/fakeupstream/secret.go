package fakeupstream

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
)

// Minted secrets are verifiable without remembering them: the last half of
// the 32 hex characters is a keyed hash of the first half under a key of
// the server. So the calls route can accept a raw SDP offer with exactly the
// "ek_" values this server minted, as OpenAI does, without a table that
// grows with every mint of a benchmark.

const secretHalf = 8 // bytes: random, then tag

// appendSecret appends a fresh minted value as a JSON string.
func (s *Server) appendSecret(b []byte) []byte {
	var raw [2 * secretHalf]byte
	randomBytes(raw[:secretHalf])
	s.tag(raw[secretHalf:], raw[:secretHalf])
	b = append(b, '"')
	b = append(b, SecretPrefix...)
	b = hex.AppendEncode(b, raw[:])
	return append(b, '"')
}

// tag writes the keyed hash of nonce to dst. SHA-256 over key and a
// fixed-length nonce is a sound MAC here, and allocates nothing.
func (s *Server) tag(dst, nonce []byte) {
	var in [32 + secretHalf]byte
	copy(in[:32], s.secretKey[:])
	copy(in[32:], nonce)
	sum := sha256.Sum256(in[:])
	copy(dst, sum[:len(dst)])
}

// minted reports whether token is an "ek_" value this server minted.
func (s *Server) minted(token string) bool {
	if len(token) != len(SecretPrefix)+4*secretHalf || token[:len(SecretPrefix)] != SecretPrefix {
		return false
	}
	var raw [2 * secretHalf]byte
	if _, err := hex.Decode(raw[:], []byte(token[len(SecretPrefix):])); err != nil {
		return false
	}
	var want [secretHalf]byte
	s.tag(want[:], raw[:secretHalf])
	return subtle.ConstantTimeCompare(want[:], raw[secretHalf:]) == 1
}
