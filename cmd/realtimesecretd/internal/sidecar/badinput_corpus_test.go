package sidecar_test

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/internal/badrequests"
)

// corpusDir is testdata/badrequests at the repository root; its README
// documents cases.json. The middleware's TestBadInput runs the same corpus
// in process; this test runs it over the wire through the whole sidecar.
var corpusDir = filepath.Join("..", "..", "..", "..", "testdata", "badrequests")

// loadCorpus loads the corpus; internal/badrequests holds the schema and
// resolves each case, this file only turns it into bytes on the wire.
func loadCorpus(t *testing.T) *badrequests.Corpus {
	t.Helper()
	c, err := badrequests.Load(corpusDir)
	require.NoError(t, err)
	return c
}

// rawCase turns a case into the bytes a client would send.
func rawCase(t *testing.T, c *badrequests.Corpus, tc *badrequests.Case) rawRequest {
	t.Helper()
	req, err := c.Resolve(tc)
	require.NoError(t, err)
	r := rawRequest{method: req.Method, target: req.Target, body: req.Body, chunked: tc.Chunked, length: tc.ContentLength}
	for k, vs := range req.Header {
		for _, v := range vs {
			r.header = append(r.header, [2]string{k, v})
		}
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
			resp, body := rawCase(t, c, &tc).send(t, addr)

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
