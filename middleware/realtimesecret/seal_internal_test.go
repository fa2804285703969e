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
	for _, p := range [][]byte{nil, {sealFormat}, {2, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0}, append([]byte{sealFormat, 1, 0, 0, 0, 0, 0, 0, 0, 1}, 0xff, 0xff)} {
		_, _, ok := decodeSealed(p)
		if ok {
			t.Errorf("%x decoded", p)
		}
	}
}
