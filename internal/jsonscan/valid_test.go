package jsonscan_test

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"

	"github.com/realtimesecret/realtimesecret/internal/jsonscan"
)

// validRef is the definition Valid must agree with.
func validRef(doc []byte) bool { return utf8.Valid(doc) && json.Valid(doc) }

var validCases = []string{
	``, ` `, `{}`, `[]`, ` { } `, `[ ]`, `{"a":1}`, `{"a":1,}`, `{"a" 1}`, `{"a":}`, `{,}`, `{"a":1 "b":2}`,
	`{1:2}`, `{"a":1}}`, `[1,2,3]`, `[1,,2]`, `[1,]`, `[,1]`, `[1 2]`, `[[[]]]`, `[[[]]`, `[]]`, `{]`, `[}`,
	`"x"`, `"`, `"\"`, `"\\"`, `"\/\b\f\n\r\t"`, `"\x"`, `"\u00e9"`, `"\u00G9"`, `"\u00e"`, `"\ud800"`,
	"\"\x1f\"", "\"\x7f\"", "\"\u00e9\u2028\U0001F600\"", "\"\xff\"", "\"\xed\xa0\x80\"", "\"\xc3\"", "\xef\xbb\xbf{}",
	`0`, `-0`, `00`, `01`, `-`, `-a`, `1.`, `1.5`, `.5`, `1e5`, `1E+5`, `1e-5`, `1e`, `1e+`, `-1.5e10`, `+1`,
	`1.5.5`, `0x10`, `Infinity`, `NaN`, `true`, `false`, `null`, `tru`, `nul`, `truex`, `true false`, `nullnull`,
	"\t\n\r {\"a\" : [ 1 , { \"b\" : null } ] }\r\n", "{\"a\":1}\x00", "\x00", "[1]\v",
	`{"session":{"type":"realtime","model":"openai/gpt-realtime","audio":{"output":{"voice":"marin"}}}}`,
}

func TestValidAgreesWithEncodingJSON(t *testing.T) {
	for _, doc := range validCases {
		assert.Equal(t, validRef([]byte(doc)), jsonscan.Valid([]byte(doc)), "%q", doc)
	}
}

func TestValidNestingLimit(t *testing.T) {
	for _, depth := range []int{255, 256, 257, 1000, 9998, 9999, 10000, 10001, 20000} {
		for _, open := range []string{"[", `{"a":`} {
			end := "]"
			if open != "[" {
				end = "}"
			}
			for _, inner := range []string{"1", "[]", "{}", "[ ]"} {
				doc := []byte(strings.Repeat(open, depth) + inner + strings.Repeat(end, depth))
				assert.Equal(t, validRef(doc), jsonscan.Valid(doc), "depth %d of %s around %s", depth, open, inner)
			}
		}
	}
}

func TestValidAllocatesNothing(t *testing.T) {
	doc := []byte(validCases[len(validCases)-1])
	assert.Zero(t, testing.AllocsPerRun(100, func() { jsonscan.Valid(doc) }))
}

func FuzzValid(f *testing.F) {
	for _, doc := range validCases {
		f.Add([]byte(doc))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		if got, want := jsonscan.Valid(doc), validRef(doc); got != want {
			t.Fatalf("Valid(%q) = %v, want %v", doc, got, want)
		}
	})
}
