package realtimesecret

import (
	"bytes"
	"encoding/binary"
	"math"
	"testing"
	"time"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// FuzzOpenSealed checks that opening any token never panics, and that only
// a token sealed here opens, to the record it sealed (each fuzz worker
// seals its own seeds with a fresh nonce, so identity cannot be compared):
// one without, one with a principal's limits and budget.
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
	budgeted := Record{KeyID: "k", VirtualKeyID: "alice", Provider: "openai", Model: "m", Endpoint: contract.EndpointClientSecret,
		ExpiresAt: now.Add(time.Minute), PrincipalKind: "user", MaxSessions: 2, SingleUse: true,
		Budget: contract.Budget{USD: 2.5, Per: time.Hour}}
	good, err = s.seal("ek_upstream", &budgeted)
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
		if up != "ek_upstream" || got != rec && got != budgeted || !exp.Equal(rec.ExpiresAt) {
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

// A budget is sealed after the flags byte (sealFlagBudget): USD as its
// IEEE-754 bits, Per in milliseconds. A format 2 token sealed before
// budgets were (no such flag) still opens, without one; a budget flagged
// but cut short, not a positive finite USD, or a Per past what a
// Duration holds does not decode.
func TestSealedBudget(t *testing.T) {
	s, err := newSealer([]SealKey{bytes.Repeat([]byte{7}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_700_000_000, 0)
	rec := Record{KeyID: "k", VirtualKeyID: "alice", Provider: "openai", Model: "m", Endpoint: contract.EndpointClientSecret,
		ExpiresAt: now.Add(time.Minute), PrincipalKind: "user", MaxSessions: 3, Budget: contract.Budget{USD: 0.1 + 0.2, Per: 24 * time.Hour}}
	sealed, err := s.seal("ek_upstream", &rec)
	if err != nil {
		t.Fatal(err)
	}
	up, got, err := s.open(sealed, now)
	got.ExpiresAt = rec.ExpiresAt
	if err != nil || up != "ek_upstream" || got != rec {
		t.Fatalf("opened to %q %+v, %v", up, got, err)
	}

	plain := []byte{sealFormat, byte(contract.EndpointClientSecret), 0, 0, 0, 0, 0x65, 0x53, 0xf1, 0x3c}
	for _, f := range []string{"ek_x", "k", "alice", "p", "m", "user"} {
		plain = append(append(plain, byte(len(f))), f...)
	}
	before := append(append([]byte(nil), plain...), 2, 0, sealFlagSingleUse) // as a node of before budgets sealed it
	_, got, ok := decodeSealed(before)
	if !ok || got.Budget != (contract.Budget{}) || got.MaxSessions != 2 || !got.SingleUse {
		t.Fatalf("a token of before budgets decoded to %+v %v", got, ok)
	}
	flagged := append(append([]byte(nil), plain...), 2, 0, sealFlagSingleUse|sealFlagBudget)
	usd := func(f float64) []byte { return binary.BigEndian.AppendUint64(nil, math.Float64bits(f)) }
	withBudget := append(append(append([]byte(nil), flagged...), usd(2.5)...), 0x80, 0xdd, 0xdb, 0x01) // 3600000 ms
	_, got, ok = decodeSealed(withBudget)
	if !ok || got.Budget != (contract.Budget{USD: 2.5, Per: time.Hour}) || !got.SingleUse {
		t.Fatalf("a budget decoded to %+v %v", got, ok)
	}
	for name, tail := range map[string][]byte{
		"flagged, no budget":   nil,
		"cut in the USD":       usd(2.5)[:5],
		"no Per":               usd(2.5),
		"zero USD":             append(usd(0), 1),
		"negative USD":         append(usd(-2.5), 1),
		"NaN":                  append(usd(math.NaN()), 1),
		"infinite USD":         append(usd(math.Inf(1)), 1),
		"Per past a Duration":  append(usd(2.5), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f),
		"trailing after a Per": append(usd(2.5), 1, 0),
	} {
		if _, _, ok := decodeSealed(append(append([]byte(nil), flagged...), tail...)); ok {
			t.Errorf("%s decoded", name)
		}
	}
	// A budget that sets no limit is not sealed.
	rec.Budget = contract.Budget{USD: -1, Per: time.Hour}
	if sealed, err = s.seal("ek_upstream", &rec); err != nil {
		t.Fatal(err)
	}
	if _, got, err = s.open(sealed, now); err != nil || got.Budget != (contract.Budget{}) {
		t.Fatalf("opened to %+v, %v", got, err)
	}
}
