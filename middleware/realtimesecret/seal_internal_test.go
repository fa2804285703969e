package realtimesecret

import (
	"bytes"
	"testing"
	"time"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// FuzzOpenSealed checks that opening any token never panics, and that only
// a token sealed here opens, to the record it sealed (each fuzz worker
// seals its own seed with a fresh nonce, so identity cannot be compared).
func FuzzOpenSealed(f *testing.F) {
	s, err := newSealer([]SealKey{bytes.Repeat([]byte{7}, 32)})
	if err != nil {
		f.Fatal(err)
	}
	now := time.Unix(1_700_000_000, 0)
	rec := Record{KeyID: "k", VirtualKeyID: "vk", Provider: "openai", Model: "m", Endpoint: contract.EndpointSession, ExpiresAt: now.Add(time.Minute)}
	good, err := s.seal("ek_upstream", &rec)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add("ek_rs_")
	f.Add("ek_rs_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	f.Fuzz(func(t *testing.T, token string) {
		up, got, err := s.open(token, now)
		if err != nil {
			return
		}
		exp := got.ExpiresAt
		got.ExpiresAt = rec.ExpiresAt
		if up != "ek_upstream" || got != rec || !exp.Equal(rec.ExpiresAt) {
			t.Fatalf("%q opened to %q %+v", token, up, got)
		}
	})
}

func TestDecodeSealedRejectsBadLayouts(t *testing.T) {
	for _, p := range [][]byte{nil, {sealFormat}, {9, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0}, append([]byte{sealFormat, 1, 0, 0, 0, 0, 0, 0, 0, 1}, 0xff, 0xff)} {
		_, _, ok := decodeSealed(p)
		if ok {
			t.Errorf("%x decoded", p)
		}
	}
}

// Format 2 carries the principal's kind and session limits; a token
// sealed in format 1 still opens, without them.
func TestSealedPrincipalLimits(t *testing.T) {
	s, err := newSealer([]SealKey{bytes.Repeat([]byte{7}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_700_000_000, 0)
	rec := Record{KeyID: "k", VirtualKeyID: "alice", Provider: "openai", Model: "m", Endpoint: contract.EndpointClientSecret,
		ExpiresAt: now.Add(time.Minute), PrincipalKind: "user", MaxSessions: 3, MaxSession: 90 * time.Second, GovernanceFailOpen: true, SingleUse: true}
	sealed, err := s.seal("ek_upstream", &rec)
	if err != nil {
		t.Fatal(err)
	}
	up, got, err := s.open(sealed, now)
	if err != nil || up != "ek_upstream" || got.PrincipalKind != "user" || got.MaxSessions != 3 ||
		got.MaxSession != 90*time.Second || !got.GovernanceFailOpen || !got.SingleUse || got.VirtualKeyID != "alice" {
		t.Fatalf("opened to %q %+v, %v", up, got, err)
	}

	// Format 1, as a node of before wrote it.
	v1 := []byte{sealFormat1, byte(contract.EndpointClientSecret), 0, 0, 0, 0, 0x65, 0x53, 0xf1, 0x3c}
	for _, f := range []string{"ek_old", "k", "web", "openai", "m"} {
		v1 = append(append(v1, byte(len(f))), f...)
	}
	up, got, ok := decodeSealed(v1)
	if !ok || up != "ek_old" || got.VirtualKeyID != "web" || got.PrincipalKind != "" || got.MaxSessions != 0 {
		t.Fatalf("format 1 decoded to %q %+v %v", up, got, ok)
	}
	// An unknown flag is refused.
	plain := []byte{sealFormat, byte(contract.EndpointClientSecret), 0, 0, 0, 0, 0x65, 0x53, 0xf1, 0x3c}
	for _, f := range []string{"ek_x", "k", "u", "p", "m", "user"} {
		plain = append(append(plain, byte(len(f))), f...)
	}
	if _, _, ok := decodeSealed(append(plain, 1, 0, 0)); !ok {
		t.Fatal("format 2 without flags did not decode")
	}
	if _, _, ok := decodeSealed(append(plain, 1, 0, 0x80)); ok {
		t.Fatal("an unknown flag decoded")
	}
}
