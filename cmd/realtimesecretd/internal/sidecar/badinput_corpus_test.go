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

// rawCase turns a case into the bytes a client would send; sessionID
// replaces {session_id} in the path of a session_by case.
func rawCase(t *testing.T, c *badrequests.Corpus, tc *badrequests.Case, sessionID string) rawRequest {
	t.Helper()
	req, err := c.ResolveSession(tc, sessionID)
	require.NoError(t, err)
	r := rawFrom(req)
	r.chunked, r.length = tc.Chunked, tc.ContentLength
	if len(r.body) == 0 && !tc.Chunked && tc.ContentLength == 0 && (r.method == "GET" || r.method == "HEAD" || r.method == "OPTIONS") {
		r.length = -1 // no body, no Content-Length, as clients send these
	}
	return r
}

func rawFrom(req *badrequests.Request) rawRequest {
	r := rawRequest{method: req.Method, target: req.Target, body: req.Body}
	for k, vs := range req.Header {
		for _, v := range vs {
			r.header = append(r.header, [2]string{k, v})
		}
	}
	return r
}

// createSession creates, through the sidecar and at the fake upstream, the
// session a session_by case hangs up, and returns its id ("" when the case
// needs none).
func createSession(t *testing.T, c *badrequests.Corpus, tc *badrequests.Case, addr string) string {
	t.Helper()
	setup, err := c.SessionSetup(tc)
	require.NoError(t, err)
	if setup == nil {
		return ""
	}
	resp, body := rawFrom(setup).send(t, addr)
	id, err := badrequests.CreatedID(setup, resp.StatusCode, resp.Header, body)
	require.NoError(t, err)
	return id
}

// TestBadInputThroughSidecar sends the bad request corpus over loopback to
// a sidecar in front of a fake existing proxy: each case gets its status
// and error code, or reaches the existing proxy; none gets a 5xx or reaches
// the upstream (the fake upstream, which brokers sessions: a session_by
// case's own session is created there before the case is sent). Cases that need seal keys are left to the middleware's
// TestBadInput.
func TestBadInputThroughSidecar(t *testing.T) {
	c := loadCorpus(t)
	h := start(t, options{env: map[string]string{"VK_WEB": c.VirtualKey}, virtualKeys: c.OtherVirtualKeys})
	addr := hostOf(h.URL)
	for _, tc := range c.Cases {
		if tc.Seal {
			continue
		}
		t.Run(tc.Name, func(t *testing.T) {
			sessionID := createSession(t, c, &tc, addr)
			minted, proxied := h.Fake.Count(), h.Proxy.count()
			resp, body := rawCase(t, c, &tc, sessionID).send(t, addr)

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
			for _, other := range c.OtherVirtualKeys {
				assert.NotContains(t, string(body), other)
			}
			if tc.Status == http.StatusMethodNotAllowed {
				assert.Equal(t, http.MethodPost, resp.Header.Get("Allow"))
			}
		})
	}
}
