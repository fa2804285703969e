package realtimesecret

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// FuzzParseBody checks that parsing and normalizing any body never panics,
// that the output is valid JSON, and that it differs from the input only in
// the model value.
func FuzzParseBody(f *testing.F) {
	for _, s := range []string{
		`{"session":{"type":"realtime","model":"openai/gpt-realtime"}}`,
		`{"model":"openai/gpt-realtime"}`,
		`{"model":"openai/x","session":{}}`,
		`{"session":{"type":"transcription","audio":{"input":{"transcription":{"model":"openai/t"}}}}}`,
		`{"input_audio_transcription":{"model":"openai/t"},"client_secret":{"expires_at":{"seconds":9}}}`,
		`{"model":"openai/m","client_secret":null}`,
		`{"session":{"model":"a","mod\u0065l":"b"}}`,
		`[]`, `{`, `{"session":"x"}`,
	} {
		for ep := contract.EndpointClientSecret; ep <= contract.EndpointTranslation; ep++ {
			f.Add([]byte(s), uint8(ep), uint16(0))
			f.Add([]byte(s), uint8(ep), uint16(60))
		}
	}
	f.Fuzz(func(t *testing.T, doc []byte, epByte uint8, maxTTL uint16) {
		ep := Endpoint(epByte%4 + 1)
		var b mintBody
		if e := parseBody(doc, ep, &b); e != nil {
			if e.Status != http.StatusBadRequest {
				t.Fatalf("status %d", e.Status)
			}
			return
		}
		const model = "fuzz-model"
		out := b.normalize(model, int(maxTTL))
		if !json.Valid(out) {
			t.Fatalf("invalid JSON out of %q: %q", doc, out)
		}
		var again mintBody
		if e := parseBody(out, ep, &again); e != nil {
			t.Fatalf("normalized body does not parse: %q: %v", out, e)
		}
		if b.modelAt.Found() && again.model != model {
			t.Fatalf("model %q after normalize, want %q (out %q)", again.model, model, out)
		}
		if maxTTL == 0 && !b.topModel && b.modelAt.Found() && ep != contract.EndpointClientSecret {
			// Only the model bytes differ.
			v := b.modelAt.Value
			want := string(doc[:v.Start]) + `"` + model + `"` + string(doc[v.End:])
			if string(out) != want {
				t.Fatalf("bytes other than the model changed:\n in %q\nout %q", doc, out)
			}
		}
	})
}

// FuzzEphemeralToken checks token extraction from any header values.
func FuzzEphemeralToken(f *testing.F) {
	f.Add("Bearer ek_abc", "")
	f.Add("", "realtime, openai-insecure-api-key.ek_abc, openai-beta.realtime-v1")
	f.Add("bearer   ek_", "openai-insecure-api-key.")
	f.Fuzz(func(t *testing.T, auth, proto string) {
		h := http.Header{}
		if auth != "" {
			h["Authorization"] = []string{auth}
		}
		if proto != "" {
			h["Sec-Websocket-Protocol"] = []string{proto}
		}
		tok := ephemeralToken(http.MethodGet, h)
		if proto != "" && auth == "" && ephemeralToken(http.MethodPost, h) != "" {
			t.Fatal("a subprotocol token was read from a request that cannot open a WebSocket")
		}
		if tok == "" {
			return
		}
		if !strings.HasPrefix(tok, "ek_") {
			t.Fatalf("token %q without ek_", tok)
		}
		if !strings.Contains(auth, tok) && !strings.Contains(proto, tok) {
			t.Fatalf("token %q not in the input", tok)
		}
		if strings.ContainsAny(tok, ", ") && !bytes.Contains([]byte(auth), []byte(tok)) {
			t.Fatalf("subprotocol token %q holds a separator", tok)
		}
	})
}

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
