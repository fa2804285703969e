package realtimesecret

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

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

var authorizationCases = []string{
	"", "Bearer", "Bearer ", "Bearer e", "Bearer ek_", "Bearer ek_abc", "bearer ek_abc", "BEARER ek_abc",
	"Bearer  ek_abc", "Bearer \tek_abc", "Bearer \u00a0ek_abc", "Bearer \u2003ek_abc", "Bearer \u0085ek_abc",
	"Bearer sk-proj-0123", "Bearer ekx", "Basic ek_abc", "Basic  ek_abc", "Bearer\tek_abc", "Bearer ek_ ",
	"Bearer \xffek_", "Bearer \vek_a", "Bearer \fek_a",
}

// TestMayBeEphemeral checks the pre-filter never drops a value that
// bearer reads as an ephemeral token.
func TestMayBeEphemeral(t *testing.T) {
	for _, v := range authorizationCases {
		tok, ok := bearer(v)
		if ok && strings.HasPrefix(tok, ephemeralPrefix) {
			assert.True(t, mayBeEphemeral(v), "%q", v)
		}
	}
	assert.False(t, mayBeEphemeral("Bearer sk-proj-0123"))
}

func FuzzMayBeEphemeral(f *testing.F) {
	for _, v := range authorizationCases {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if tok, ok := bearer(v); ok && strings.HasPrefix(tok, ephemeralPrefix) && !mayBeEphemeral(v) {
			t.Fatalf("mayBeEphemeral(%q) = false, but bearer reads %q", v, tok)
		}
	})
}
