package realtimesecret

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// TestNormalize checks the exact bytes forwarded: only model values (and
// the GA session move/type default, and the expiry) change.
func TestNormalize(t *testing.T) {
	cases := []struct {
		name     string
		endpoint Endpoint
		in       string
		model    string
		maxTTL   int
		want     string
	}{
		{name: "GA session.model keeps spacing and order", endpoint: contract.EndpointClientSecret,
			in:   "{ \"session\" : { \"type\":\"realtime\",\n \"model\" : \"openai/gpt-realtime\", \"z\":1 }, \"a\":[1,2] }",
			want: "{ \"session\" : { \"type\":\"realtime\",\n \"model\" : \"gpt-realtime\", \"z\":1 }, \"a\":[1,2] }"},
		{name: "GA top-level model only becomes session", endpoint: contract.EndpointClientSecret,
			in:   `{"model":"openai/gpt-realtime","expires_after":{"seconds":60}}`,
			want: `{"session":{"type":"realtime","model":"gpt-realtime"},"expires_after":{"seconds":60}}`},
		{name: "GA top-level model moves into session", endpoint: contract.EndpointClientSecret,
			in:   `{"session":{"instructions":"hi"},"model":"openai/gpt-realtime"}`,
			want: `{"session":{"type":"realtime","model":"gpt-realtime","instructions":"hi"}}`},
		{name: "GA top-level model first moves into empty session", endpoint: contract.EndpointClientSecret,
			in:   `{"model":"openai/gpt-realtime", "session":{}}`,
			want: `{"session":{"type":"realtime","model":"gpt-realtime"}}`},
		{name: "GA session.type defaults to realtime", endpoint: contract.EndpointClientSecret,
			in:   `{"session":{"model":"openai/gpt-realtime"}}`,
			want: `{"session":{"type":"realtime","model":"gpt-realtime"}}`},
		{name: "GA transcription model", endpoint: contract.EndpointClientSecret,
			in:   `{"session":{"type":"transcription","audio":{"input":{"transcription":{"model":"openai/gpt-4o-transcribe","language":"en"}}}}}`,
			want: `{"session":{"type":"transcription","audio":{"input":{"transcription":{"model":"gpt-4o-transcribe","language":"en"}}}}}`},
		{name: "translation", endpoint: contract.EndpointTranslation,
			in:   `{"session":{"model":"openai/gpt-realtime-translate","audio":{"output":{"language":"es"}}}}`,
			want: `{"session":{"model":"gpt-realtime-translate","audio":{"output":{"language":"es"}}}}`},
		{name: "beta session top-level model", endpoint: contract.EndpointSession,
			in:   `{"model":"openai/gpt-realtime","voice":"alloy"}`,
			want: `{"model":"gpt-realtime","voice":"alloy"}`},
		{name: "beta session model in session", endpoint: contract.EndpointSession,
			in:   `{"session":{"model":"openai/gpt-realtime"}}`,
			want: `{"session":{"model":"gpt-realtime"}}`},
		{name: "beta transcription", endpoint: contract.EndpointTranscriptionSession,
			in:   `{"input_audio_transcription":{"model":"openai/gpt-4o-transcribe"}}`,
			want: `{"input_audio_transcription":{"model":"gpt-4o-transcribe"}}`},
		{name: "model with escapes is re-encoded", endpoint: contract.EndpointSession, model: "a\"b",
			in:   `{"model":"openai/a\u0022b"}`,
			want: `{"model":"a\"b"}`},
		{name: "GA ttl clamped", endpoint: contract.EndpointClientSecret, maxTTL: 120,
			in:   `{"expires_after":{"anchor":"created_at","seconds":7200},"session":{"type":"realtime","model":"openai/m"}}`,
			want: `{"expires_after":{"anchor":"created_at","seconds":120},"session":{"type":"realtime","model":"m"}}`},
		{name: "GA ttl below max kept", endpoint: contract.EndpointClientSecret, maxTTL: 120,
			in:   `{"expires_after":{"anchor":"created_at","seconds":60.0},"session":{"type":"realtime","model":"openai/m"}}`,
			want: `{"expires_after":{"anchor":"created_at","seconds":60.0},"session":{"type":"realtime","model":"m"}}`},
		{name: "GA ttl injected", endpoint: contract.EndpointClientSecret, maxTTL: 120,
			in:   `{"session":{"type":"realtime","model":"openai/m"}}`,
			want: `{"expires_after":{"anchor":"created_at","seconds":120},"session":{"type":"realtime","model":"m"}}`},
		{name: "GA ttl injected with top-level model", endpoint: contract.EndpointClientSecret, maxTTL: 120,
			in:   `{"model":"openai/m"}`,
			want: `{"expires_after":{"anchor":"created_at","seconds":120},"session":{"type":"realtime","model":"m"}}`},
		{name: "GA ttl not injected at the provider default", endpoint: contract.EndpointClientSecret, maxTTL: 600,
			in:   `{"session":{"type":"realtime","model":"openai/m"}}`,
			want: `{"session":{"type":"realtime","model":"m"}}`},
		{name: "GA seconds added to expires_after", endpoint: contract.EndpointClientSecret, maxTTL: 30,
			in:   `{"expires_after":{"anchor":"created_at"},"session":{"type":"realtime","model":"openai/m"}}`,
			want: `{"expires_after":{"seconds":30,"anchor":"created_at"},"session":{"type":"realtime","model":"m"}}`},
		{name: "beta session ttl injected", endpoint: contract.EndpointSession, maxTTL: 60,
			in:   `{"model":"openai/m"}`,
			want: `{"client_secret":{"expires_after":{"anchor":"created_at","seconds":60}},"model":"m"}`},
		{name: "beta session ttl into client_secret", endpoint: contract.EndpointSession, maxTTL: 60,
			in:   `{"model":"openai/m","client_secret":{}}`,
			want: `{"model":"m","client_secret":{"expires_after":{"anchor":"created_at","seconds":60}}}`},
		{name: "beta session ttl null client_secret", endpoint: contract.EndpointSession, maxTTL: 60,
			in:   `{"model":"openai/m","client_secret":null}`,
			want: `{"model":"m","client_secret":{"expires_after":{"anchor":"created_at","seconds":60}}}`},
		{name: "beta session ttl clamped", endpoint: contract.EndpointSession, maxTTL: 60,
			in:   `{"model":"openai/m","client_secret":{"expires_after":{"anchor":"created_at","seconds":120}}}`,
			want: `{"model":"m","client_secret":{"expires_after":{"anchor":"created_at","seconds":60}}}`},
		{name: "beta transcription ttl clamped", endpoint: contract.EndpointTranscriptionSession, maxTTL: 60,
			in:   `{"input_audio_transcription":{"model":"openai/m"},"client_secret":{"expires_at":{"anchor":"created_at","seconds":300}}}`,
			want: `{"input_audio_transcription":{"model":"m"},"client_secret":{"expires_at":{"anchor":"created_at","seconds":60}}}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var b mintBody
			require.Nil(t, parseBody([]byte(c.in), c.endpoint, &b))
			model := c.model
			if model == "" {
				_, model, _ = cut(b.model)
			}
			got := string(b.normalize(model, c.maxTTL))
			assert.Equal(t, c.want, got)
			assert.True(t, json.Valid([]byte(got)))
		})
	}
}

func cut(s string) (string, string, bool) {
	for i := range len(s) {
		if s[i] == '/' {
			return s[:i], s[i+1:], true
		}
	}
	return "", s, false
}

func TestParseBodyModelLocation(t *testing.T) {
	cases := []struct {
		name     string
		endpoint Endpoint
		in       string
		model    string
		param    string
	}{
		{"GA session.model wins over top-level", contract.EndpointClientSecret, `{"model":"x/top","session":{"model":"x/s"}}`, "x/s", "session.model"},
		{"GA top-level when session has none", contract.EndpointClientSecret, `{"model":"x/top","session":{}}`, "x/top", "model"},
		{"GA transcription ignores session.model", contract.EndpointClientSecret, `{"session":{"type":"transcription","model":"x/s","audio":{"input":{"transcription":{"model":"x/t"}}}}}`, "x/t", "session.audio.input.transcription.model"},
		{"beta top-level wins over session", contract.EndpointSession, `{"model":"x/top","session":{"model":"x/s"}}`, "x/top", "model"},
		{"beta transcription", contract.EndpointTranscriptionSession, `{"input_audio_transcription":{"model":"x/t"}}`, "x/t", "input_audio_transcription.model"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var b mintBody
			require.Nil(t, parseBody([]byte(c.in), c.endpoint, &b))
			assert.Equal(t, c.model, b.model)
			assert.Equal(t, c.param, b.modelParam)
		})
	}
}

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
