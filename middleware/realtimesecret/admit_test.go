package realtimesecret_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/internal/badrequests"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// badRequestsDir holds the bad request corpus shared by the middleware and
// the sidecar tests.
var badRequestsDir = filepath.Join("..", "..", "testdata", "badrequests")

// loadBadRequests loads the corpus; internal/badrequests holds the schema
// and resolves each case, this file only turns it into an httptest request.
func loadBadRequests(t *testing.T) *badrequests.Corpus {
	t.Helper()
	c, err := badrequests.Load(badRequestsDir)
	require.NoError(t, err)
	return c
}

// buildBadRequest returns the request a case describes, and the body sent.
func buildBadRequest(t *testing.T, c *badrequests.Corpus, tc *badrequests.Case, sessionID string) (*http.Request, []byte) {
	t.Helper()
	req, err := c.ResolveSession(tc, sessionID)
	require.NoError(t, err)
	r := httptest.NewRequest(req.Method, req.Target, bytes.NewReader(req.Body))
	maps.Copy(r.Header, req.Header)
	switch {
	case tc.Chunked:
		r.ContentLength = -1
		r.Body = io.NopCloser(struct{ io.Reader }{bytes.NewReader(req.Body)}) // no length to see
	case tc.ContentLength != 0:
		r.ContentLength = tc.ContentLength
	}
	return r, req.Body
}

// countingProvider answers every mint and brokered session like OpenAI and
// counts the calls: a bad request must never cost an upstream call.
type countingProvider struct{ calls atomic.Int64 }

var _ contract.SessionBroker = (*countingProvider)(nil)

func (p *countingProvider) Mint(context.Context, *contract.MintRequest) (*contract.Reply, error) {
	n := p.calls.Add(1)
	body := fmt.Sprintf(`{"value":"ek_counting%d","expires_at":4102444800,"session":{"type":"realtime"}}`, n)
	return &contract.Reply{StatusCode: http.StatusOK, Body: []byte(body)}, nil
}

// Session creates a call (an SDP answer and its Location) or a Live
// session (its id), or hangs one up.
func (p *countingProvider) Session(_ context.Context, req *contract.SessionRequest) (*contract.Reply, error) {
	n := p.calls.Add(1)
	switch req.Endpoint {
	case contract.EndpointCall:
		return &contract.Reply{StatusCode: http.StatusCreated, Header: http.Header{
			"Content-Type": {"application/sdp"},
			"Location":     {fmt.Sprintf("/v1/realtime/calls/rtc_counting%d", n)},
		}, Body: []byte("v=0\r\n")}, nil
	case contract.EndpointLiveSession:
		body := fmt.Sprintf(`{"session":{"id":"sess_counting%d"},"transport":{"type":"webrtc","sdp":"v=0\r\n"}}`, n)
		return &contract.Reply{StatusCode: http.StatusCreated, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(body)}, nil
	default:
		return &contract.Reply{StatusCode: http.StatusOK, Body: []byte("{}")}, nil
	}
}

// createSession sends a session_by case's setup request and returns the id
// of the session it created, or "" when the case needs none.
func createSession(t *testing.T, h http.Handler, c *badrequests.Corpus, tc *badrequests.Case) string {
	t.Helper()
	setup, err := c.SessionSetup(tc)
	require.NoError(t, err)
	if setup == nil {
		return ""
	}
	r := httptest.NewRequest(setup.Method, setup.Target, bytes.NewReader(setup.Body))
	maps.Copy(r.Header, setup.Header)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	id, err := badrequests.CreatedID(setup, w.Code, w.Header(), w.Body.Bytes())
	require.NoError(t, err)
	return id
}

// bodyRecorder is next: it answers nextStatus and keeps the body it read.
type bodyRecorder struct {
	mu     sync.Mutex
	calls  int
	bodies [][]byte
}

func (n *bodyRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	n.mu.Lock()
	n.calls++
	n.bodies = append(n.bodies, b)
	n.mu.Unlock()
	w.WriteHeader(nextStatus)
}

func (n *bodyRecorder) snapshot() (int, []byte) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.calls == 0 {
		return 0, nil
	}
	return n.calls, n.bodies[len(n.bodies)-1]
}

// serveRecovering serves r and returns the panic value, if any.
func serveRecovering(h http.Handler, w http.ResponseWriter, r *http.Request) (p any) {
	defer func() { p = recover() }()
	h.ServeHTTP(w, r)
	return nil
}

// TestBadInput runs every request of testdata/badrequests through the
// middleware: each gets the expected status and OpenAI-shaped error (or reaches
// next untouched), none gets a 5xx or panics, and none reaches the upstream.
func TestBadInput(t *testing.T) {
	m := loadBadRequests(t)
	require.GreaterOrEqual(t, len(m.Cases), 60)

	provider := &countingProvider{}
	cfg := baseConfig(provider)
	cfg.VirtualKeys = []realtimesecret.VirtualKey{{ID: "badinput", Value: realtimesecret.Secret(m.VirtualKey)}}
	for id, value := range m.OtherVirtualKeys {
		cfg.VirtualKeys = append(cfg.VirtualKeys, realtimesecret.VirtualKey{ID: id, Value: realtimesecret.Secret(value)})
	}
	plain, err := realtimesecret.New(cfg)
	require.NoError(t, err)
	cfg.SealKeys = []realtimesecret.SealKey{bytes.Repeat([]byte{0x42}, 32)}
	sealed, err := realtimesecret.New(cfg)
	require.NoError(t, err)

	for _, tc := range m.Cases {
		t.Run(tc.Name, func(t *testing.T) {
			require.NotEqual(t, tc.Next, tc.Status != 0, "a case expects either next or a status")
			next := &bodyRecorder{}
			h := plain.Wrap(next)
			if tc.Seal {
				h = sealed.Wrap(next)
			}
			sessionID := createSession(t, h, m, &tc)
			r, sent := buildBadRequest(t, m, &tc, sessionID)
			w := httptest.NewRecorder()
			before := provider.calls.Load()

			require.Nil(t, serveRecovering(h, w, r), "the middleware panicked")

			assert.Equal(t, before, provider.calls.Load(), "a bad request reached the upstream")
			assert.Less(t, w.Code, 500, "body: %s", w.Body.String())
			calls, seen := next.snapshot()
			if tc.Next {
				require.Equal(t, 1, calls, "next was not called; got %d %s", w.Code, w.Body.String())
				assert.Equal(t, nextStatus, w.Code)
				assert.Equal(t, string(sent), string(seen), "next must read the body as it was sent")
				return
			}
			assert.Zero(t, calls, "next was called")
			e := requireAPIError(t, w, tc.Status)
			if tc.Code != "" {
				require.NotNil(t, e.Error.Code)
				assert.Equal(t, tc.Code, *e.Error.Code, "message: %s", e.Error.Message)
			}
			if tc.Param != "" {
				require.NotNil(t, e.Error.Param, "message: %s", e.Error.Message)
				assert.Equal(t, tc.Param, *e.Error.Param)
			}
			if tc.Status == http.StatusMethodNotAllowed {
				assert.Equal(t, http.MethodPost, w.Header().Get("Allow"))
			}
			assert.NotContains(t, w.Body.String(), m.VirtualKey)
			for _, other := range m.OtherVirtualKeys {
				assert.NotContains(t, w.Body.String(), other)
			}
		})
	}
}
