package faultupstream

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// Reply is what Answer sends to every request: a reply the client must
// refuse (too large, corrupt, in an unknown encoding) or must decode.
type Reply struct {
	// Header is added to the reply. A Content-Encoding is sent as given:
	// Body is not encoded by the server.
	Header http.Header
	// Body is the reply body.
	Body []byte
	// Chunked sends Body in two writes with a flush between, so that the
	// reply has no Content-Length and its size is known only by reading.
	Chunked bool
}

// chunkAt is where a Chunked body is split.
const chunkAt = 10

// Answer returns the URL of an upstream that reads the request and
// answers 200 with reply.
func Answer(t testing.TB, reply Reply) string {
	t.Helper()
	return serve(t, func(w http.ResponseWriter, r *http.Request) {
		drain(r)
		for k, v := range reply.Header {
			w.Header()[k] = slices.Clone(v) // shared by every request
		}
		body := reply.Body
		if reply.Chunked && len(body) > chunkAt {
			_, _ = w.Write(body[:chunkAt])
			w.(http.Flusher).Flush()
			body = body[chunkAt:]
		}
		_, _ = w.Write(body)
	})
}

// Gzip returns s gzip-encoded, for a Reply's Body.
func Gzip(t testing.TB, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	_, err := io.WriteString(zw, s)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return b.Bytes()
}

// GzipHeader is the header of a gzip-encoded Reply.
func GzipHeader() http.Header { return http.Header{"Content-Encoding": {"gzip"}} }

// CorruptGzip returns, by name, bodies that a reply sent with GzipHeader
// cannot be decoded from: s not encoded at all, s with a wrong CRC-32
// trailer, and s cut in half.
func CorruptGzip(t testing.TB, s string) map[string][]byte {
	t.Helper()
	good := Gzip(t, s)
	bad := slices.Clone(good)
	bad[len(bad)-5] ^= 0xff // in the CRC-32 of the 8-byte trailer
	return map[string][]byte{
		"not gzip":  []byte(s),
		"checksum":  bad,
		"truncated": good[:len(good)/2],
	}
}
