package realtimesecret

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
)

// safeUpstreamHeaderLower is the allocating definition safeUpstreamHeader
// must agree with, except that a non-ASCII byte never stands for an ASCII
// letter: header names are ASCII tokens (RFC 9110), and "X-Request-\u0130d"
// is not x-request-id even though strings.ToLower makes it so.
func safeUpstreamHeaderLower(name string) bool {
	ascii := []byte(name)
	for i, c := range ascii {
		if c >= utf8.RuneSelf {
			ascii[i] = '?'
		}
	}
	n := strings.ToLower(string(ascii))
	return n == "x-request-id" || n == "apim-request-id" ||
		strings.HasPrefix(n, "openai-") || strings.HasPrefix(n, "x-ratelimit-")
}

var headerNameCases = []string{
	"", "X-Request-Id", "x-request-id", "X-REQUEST-ID", "X-Request-Id2", "X-Request-I",
	"Apim-Request-Id", "apim-request-id", "Openai-Processing-Ms", "OPENAI-VERSION", "openai-",
	"Openai", "X-Ratelimit-Remaining-Requests", "x-ratelimit-", "X-Ratelimit", "Set-Cookie",
	"Authorization", "Content-Type", "Connection",
	"X-Request-\u0130d",    // dotted capital I lowers to i + combining dot
	"\u212a-Request-Id",    // Kelvin sign lowers to k
	"X-Reque\u017ft-Id",    // long s folds to s but does not lower to it
	"OpenAI\u2010Version",  // a hyphen that is not '-'
	"x-ratelimit-\xff\xfe", // invalid UTF-8 after a valid prefix
}

func TestSafeUpstreamHeaderAgreesWithToLower(t *testing.T) {
	for _, name := range headerNameCases {
		assert.Equal(t, safeUpstreamHeaderLower(name), safeUpstreamHeader(name), "%q", name)
	}
}

func FuzzSafeUpstreamHeader(f *testing.F) {
	for _, name := range headerNameCases {
		f.Add(name)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if got, want := safeUpstreamHeader(name), safeUpstreamHeaderLower(name); got != want {
			t.Fatalf("safeUpstreamHeader(%q) = %v, want %v", name, got, want)
		}
	})
}

func TestSafeUpstreamHeaderAllocatesNothing(t *testing.T) {
	allocs := testing.AllocsPerRun(100, func() {
		for _, name := range headerNameCases {
			sinkBool = safeUpstreamHeader(name)
		}
	})
	assert.Zero(t, allocs)
}

// legacyMintedToken is the encoding/json reading that mintedToken replaced.
func legacyMintedToken(body []byte) (string, int64, bool) {
	var s struct {
		Value        *string `json:"value"`
		ExpiresAt    int64   `json:"expires_at"`
		ClientSecret *struct {
			Value     *string `json:"value"`
			ExpiresAt int64   `json:"expires_at"`
		} `json:"client_secret"`
	}
	if json.Unmarshal(body, &s) != nil {
		return "", 0, false
	}
	if s.Value != nil && *s.Value != "" && s.ExpiresAt > 0 {
		return *s.Value, s.ExpiresAt, true
	}
	if c := s.ClientSecret; c != nil && c.Value != nil && *c.Value != "" && c.ExpiresAt > 0 {
		return *c.Value, c.ExpiresAt, true
	}
	return "", 0, false
}

// ambiguousReplyKeys reports whether the top-level object of doc, or an
// object under a client_secret-like key, has a key that encoding/json
// matches to a reply key in another case, or a reply key twice: there
// mintedToken deliberately differs from legacyMintedToken.
func ambiguousReplyKeys(doc []byte) bool {
	var visit func(raw []byte, names []string) bool
	visit = func(raw []byte, names []string) bool {
		dec := json.NewDecoder(bytes.NewReader(raw))
		if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
			return false
		}
		seen := map[string]int{}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return false
			}
			key := tok.(string)
			var value json.RawMessage
			if dec.Decode(&value) != nil {
				return false
			}
			for _, name := range names {
				if !strings.EqualFold(key, name) {
					continue
				}
				if seen[name]++; seen[name] > 1 || key != name {
					return true
				}
				if name == "client_secret" && visit(value, names[:2]) {
					return true
				}
			}
		}
		return false
	}
	return visit(doc, replyKeys)
}

var replyCases = []struct {
	name  string
	body  string
	token string
	at    int64
}{
	{name: "GA", body: `{"value":"ek_1","expires_at":100,"session":{"expires_at":0}}`, token: "ek_1", at: 100},
	{name: "beta", body: `{"id":"s","client_secret":{"value":"ek_2","expires_at":200}}`, token: "ek_2", at: 200},
	{name: "top wins", body: `{"value":"ek_1","expires_at":100,"client_secret":{"value":"ek_2","expires_at":200}}`, token: "ek_1", at: 100},
	{name: "empty top value", body: `{"value":"","expires_at":100,"client_secret":{"value":"ek_2","expires_at":200}}`, token: "ek_2", at: 200},
	{name: "zero top expiry", body: `{"value":"ek_1","expires_at":0,"client_secret":{"value":"ek_2","expires_at":200}}`, token: "ek_2", at: 200},
	{name: "escaped token", body: `{"value":"ek_\u0041","expires_at":100}`, token: "ek_A", at: 100},
	{name: "spaces", body: " {\n \"value\" : \"ek_1\" ,\t\"expires_at\" : 100 } ", token: "ek_1", at: 100},
	{name: "null client_secret", body: `{"value":"ek_1","expires_at":100,"client_secret":null}`, token: "ek_1", at: 100},
	{name: "null value", body: `{"value":null,"expires_at":100}`},
	{name: "null expiry", body: `{"value":"ek_1","expires_at":null}`},
	{name: "negative expiry", body: `{"value":"ek_1","expires_at":-5}`},
	{name: "fraction", body: `{"value":"ek_1","expires_at":100.5}`},
	{name: "exponent", body: `{"value":"ek_1","expires_at":1e2}`},
	{name: "string expiry", body: `{"value":"ek_1","expires_at":"100"}`},
	{name: "overflow", body: `{"value":"ek_1","expires_at":99999999999999999999}`},
	{name: "number value", body: `{"value":5,"expires_at":100}`},
	{name: "bad top, good inner", body: `{"value":5,"client_secret":{"value":"ek_2","expires_at":200}}`},
	{name: "bad inner, good top", body: `{"value":"ek_1","expires_at":100,"client_secret":{"value":true}}`},
	{name: "client_secret string", body: `{"value":"ek_1","expires_at":100,"client_secret":"x"}`},
	{name: "array", body: `[{"value":"ek_1","expires_at":100}]`},
	{name: "null", body: `null`},
	{name: "trailing data", body: `{"value":"ek_1","expires_at":100}x`},
	{name: "empty", body: ``},
	{name: "no token", body: `{"id":"s"}`},
	// Where mintedToken differs from encoding/json on purpose:
	{name: "other case", body: `{"Value":"ek_1","expires_at":100}`},
	{name: "repeated value", body: `{"value":"ek_1","value":"ek_3","expires_at":100}`},
	{name: "repeated inner", body: `{"client_secret":{"value":"ek_2","expires_at":1,"expires_at":200}}`},
	{name: "invalid UTF-8", body: "{\"value\":\"ek_\xff\",\"expires_at\":100}"},
}

func TestMintedToken(t *testing.T) {
	for _, tc := range replyCases {
		t.Run(tc.name, func(t *testing.T) {
			token, at, ok := mintedToken([]byte(tc.body))
			assert.Equal(t, tc.token != "", ok)
			assert.Equal(t, tc.token, token)
			assert.Equal(t, tc.at, at)
		})
	}
}

func FuzzMintedToken(f *testing.F) {
	for _, tc := range replyCases {
		f.Add([]byte(tc.body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		token, at, ok := mintedToken(body)
		if ok && (token == "" || at <= 0) {
			t.Fatalf("mintedToken(%q) = %q, %d, true", body, token, at)
		}
		if !utf8.Valid(body) {
			if ok {
				t.Fatalf("mintedToken(%q) accepted invalid UTF-8", body)
			}
			return
		}
		if ambiguousReplyKeys(body) {
			return // read differently on purpose
		}
		wantToken, wantAt, wantOK := legacyMintedToken(body)
		if token != wantToken || at != wantAt || ok != wantOK {
			t.Fatalf("mintedToken(%q) = %q, %d, %v; encoding/json reads %q, %d, %v",
				body, token, at, ok, wantToken, wantAt, wantOK)
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

// sinkBool keeps results alive so the compiler cannot drop the calls.
var sinkBool bool
