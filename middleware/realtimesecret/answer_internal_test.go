package realtimesecret

import (
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

// sinkBool keeps results alive so the compiler cannot drop the calls.
var sinkBool bool
