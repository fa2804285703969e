package upstream_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/internal/upstream"
)

func TestParseBaseURL(t *testing.T) {
	for _, tc := range []struct{ raw, want string }{
		{"https://api.openai.com", "https://api.openai.com"},
		{"https://api.openai.com/", "https://api.openai.com"},
		{"HTTP://Example.com:8080/x//", "http://Example.com:8080/x"},
		{"https://vendor.example/openai/v1", "https://vendor.example/openai/v1"},
		{"https://vendor.example/a%20b", "https://vendor.example/a%20b"},
	} {
		got, err := upstream.ParseBaseURL("BaseURL", tc.raw)
		require.NoError(t, err, tc.raw)
		assert.Equal(t, tc.want, got, tc.raw)
	}
	for _, raw := range []string{
		"api.openai.com",
		"/v1",
		"ftp://example.com",
		"https://",
		"https:opaque",
		"https://user:pa55word@example.com",
		"https://example.com/?x=1",
		"https://example.com/?",
		"https://example.com/#frag",
		"https://example.com/#",
		"https://exa mple.com\x7fpa55word",
	} {
		_, err := upstream.ParseBaseURL("BaseURL", raw)
		if assert.Error(t, err, raw) {
			assert.Contains(t, err.Error(), "BaseURL")
			assert.NotContains(t, err.Error(), "pa55word")
		}
	}
}
