package upstream_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/realtimesecret/realtimesecret/internal/upstream"
)

func TestHeader(t *testing.T) {
	fwd := http.Header{
		"Openai-Safety-Identifier": {"user-42"},
		"X-Request-Id":             {"abc"},
		"x-request-id":             {"def"}, // same name, not canonical: both kept
		// Not canonical on purpose: must still be dropped.
		"authorization":     {"Bearer sk-attacker"},
		"api-key":           {"attacker"},
		"x-goog-api-key":    {"attacker"},
		"Cookie":            {"s=1"},
		"Host":              {"evil.example"},
		"Content-Type":      {"text/plain"},
		"Content-Length":    {"9"},
		"Content-Encoding":  {"gzip"},
		"Transfer-Encoding": {"chunked"},
		"Connection":        {"close"},
		"Upgrade":           {"websocket"},
		"accept":            {"text/html"},
		"Accept-Encoding":   {"br"},
	}
	h := upstream.Header(fwd)
	assert.Equal(t, http.Header{
		"Openai-Safety-Identifier": {"user-42"},
		"X-Request-Id":             h["X-Request-Id"],
		"Content-Type":             {"application/json"},
		"Accept":                   {"application/json"},
	}, h)
	assert.ElementsMatch(t, []string{"abc", "def"}, h["X-Request-Id"])
	assert.Equal(t, []string{"abc"}, fwd["X-Request-Id"], "forwarded header not modified")
	assert.Equal(t, http.Header{"Content-Type": {"application/json"}, "Accept": {"application/json"}}, upstream.Header(nil))
}

func TestSessionHeader(t *testing.T) {
	fwd := http.Header{
		"X-Request-Id":  {"abc"},
		"Authorization": {"Bearer sk-attacker"},
		"Content-Type":  {"text/plain"},
		"Accept":        {"application/json"},
	}
	for _, tc := range []struct {
		name, contentType string
		want              http.Header
	}{
		{name: "multipart call", contentType: "multipart/form-data; boundary=x",
			want: http.Header{"X-Request-Id": {"abc"}, "Content-Type": {"multipart/form-data; boundary=x"}, "Accept": {"*/*"}}},
		{name: "live session", contentType: "application/json",
			want: http.Header{"X-Request-Id": {"abc"}, "Content-Type": {"application/json"}, "Accept": {"*/*"}}},
		{name: "hang-up without body", contentType: "",
			want: http.Header{"X-Request-Id": {"abc"}, "Accept": {"*/*"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, upstream.SessionHeader(fwd, tc.contentType))
		})
	}
	assert.Equal(t, []string{"text/plain"}, fwd["Content-Type"], "forwarded header not modified")
}
