package realtimesecret

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
)

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
