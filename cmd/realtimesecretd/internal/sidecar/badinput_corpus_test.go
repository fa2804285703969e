package sidecar_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// corpusDir is testdata/badrequests at the repository root; its README
// documents cases.json. The middleware's TestBadInput runs the same corpus
// in process; this test runs it over the wire through the whole sidecar.
var corpusDir = filepath.Join("..", "..", "..", "..", "testdata", "badrequests")

type corpusCase struct {
	Name          string             `json:"name"`
	Method        string             `json:"method"`
	Path          string             `json:"path"`
	Headers       map[string]*string `json:"headers"`
	HeaderGen     map[string]string  `json:"header_gen"`
	Body          *string            `json:"body"`
	BodyFile      string             `json:"body_file"`
	BodyGen       string             `json:"body_gen"`
	Chunked       bool               `json:"chunked"`
	ContentLength int64              `json:"content_length"`
	Seal          bool               `json:"seal"`
	Status        int                `json:"status"`
	Code          string             `json:"code"`
	Param         string             `json:"param"`
	Next          bool               `json:"next"`
}

type corpus struct {
	Comment    string `json:"comment"`
	VirtualKey string `json:"virtual_key"`
	Defaults   struct {
		Method  string            `json:"method"`
		Path    string            `json:"path"`
		Headers map[string]string `json:"headers"`
	} `json:"defaults"`
	Cases []corpusCase `json:"cases"`
}

func loadCorpus(t *testing.T) corpus {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(corpusDir, "cases.json"))
	require.NoError(t, err)
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var c corpus
	require.NoError(t, dec.Decode(&c))
	return c
}

// corpusGenerate builds generated bodies and header values, as
// middleware/realtimesecret/badinput_test.go does; the README lists them.
func corpusGenerate(t *testing.T, spec string) []byte {
	t.Helper()
	f := strings.Fields(spec)
	require.NotEmpty(t, f)
	n, err := strconv.Atoi(f[len(f)-1])
	require.NoError(t, err, spec)
	const session = `{"session":{"type":"realtime","model":"openai/gpt-realtime"},`
	switch f[0] {
	case "size":
		head, tail := session+`"pad":"`, `"}`
		return []byte(head + strings.Repeat("x", n-len(head)-len(tail)) + tail)
	case "nest":
		return []byte(session + `"x":` + strings.Repeat("[", n) + strings.Repeat("]", n) + "}")
	case "nest_objects":
		return []byte(strings.Repeat(`{"a":`, n-1) + "{}" + strings.Repeat("}", n-1))
	case "nest_sessions":
		return []byte(strings.Repeat(`{"session":`, n-1) + "{}" + strings.Repeat("}", n-1))
	case "open_arrays":
		return []byte(strings.Repeat("[", n))
	case "repeat":
		require.Len(t, f, 3)
		return bytes.Repeat([]byte(f[1]), n)
	}
	t.Fatalf("unknown generator %q", spec)
	return nil
}

// raw turns a case into the bytes a client would send.
func (tc *corpusCase) raw(t *testing.T, c *corpus) rawRequest {
	t.Helper()
	r := rawRequest{method: c.Defaults.Method, target: c.Defaults.Path, chunked: tc.Chunked, length: tc.ContentLength}
	if tc.Method != "" {
		r.method = tc.Method
	}
	if tc.Path != "" {
		r.target = tc.Path
	}
	header := http.Header{}
	for k, v := range c.Defaults.Headers {
		header.Set(k, v)
	}
	for k, v := range tc.Headers {
		if v == nil {
			header.Del(k)
		} else {
			header.Set(k, *v)
		}
	}
	for k, spec := range tc.HeaderGen {
		header.Set(k, string(corpusGenerate(t, spec)))
	}
	for k, vs := range header {
		for _, v := range vs {
			r.header = append(r.header, [2]string{k, v})
		}
	}
	switch {
	case tc.BodyFile != "":
		b, err := os.ReadFile(filepath.Join(corpusDir, filepath.FromSlash(tc.BodyFile)))
		require.NoError(t, err)
		r.body = b
	case tc.BodyGen != "":
		r.body = corpusGenerate(t, tc.BodyGen)
	case tc.Body != nil:
		r.body = []byte(*tc.Body)
	}
	if len(r.body) == 0 && !tc.Chunked && tc.ContentLength == 0 && (r.method == "GET" || r.method == "HEAD" || r.method == "OPTIONS") {
		r.length = -1 // no body, no Content-Length, as clients send these
	}
	return r
}

// TestBadInputThroughSidecar sends the bad request corpus over loopback to
// a sidecar in front of a fake existing proxy: each case gets its status
// and error code, or reaches the existing proxy; none gets a 5xx or reaches
// the upstream. Cases that need seal keys are left to the middleware's
// TestBadInput.
func TestBadInputThroughSidecar(t *testing.T) {
	c := loadCorpus(t)
	h := start(t, options{env: map[string]string{"VK_WEB": c.VirtualKey}})
	addr := hostOf(h.URL)
	for _, tc := range c.Cases {
		if tc.Seal {
			continue
		}
		t.Run(tc.Name, func(t *testing.T) {
			minted, proxied := h.Fake.Count(), h.Proxy.count()
			resp, body := tc.raw(t, &c).send(t, addr)

			assert.Less(t, resp.StatusCode, 500, "body: %s", body)
			assert.Equal(t, minted, h.Fake.Count(), "a bad request reached the upstream")
			if tc.Next {
				assert.Equal(t, proxied+1, h.Proxy.count(), "did not reach the existing proxy: %d %s", resp.StatusCode, body)
				return
			}
			assert.Equal(t, proxied, h.Proxy.count(), "reached the existing proxy")
			require.Equal(t, tc.Status, resp.StatusCode, "body: %s", body)
			if tc.Method == http.MethodHead {
				return // no body to read the error from
			}
			var e struct {
				Error struct {
					Code *string `json:"code"`
				} `json:"error"`
			}
			require.NoError(t, json.Unmarshal(body, &e), "body: %s", body)
			if tc.Code != "" && assert.NotNil(t, e.Error.Code, "body: %s", body) {
				assert.Equal(t, tc.Code, *e.Error.Code)
			}
			assert.NotContains(t, string(body), c.VirtualKey)
		})
	}
}
