package realtimesecret_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
)

// badRequestsDir holds the bad request corpus shared by the middleware and
// the sidecar tests.
var badRequestsDir = filepath.Join("..", "..", "testdata", "badrequests")

// badRequestCase is one request of testdata/badrequests/cases.json; its
// README documents the fields.
type badRequestCase struct {
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

type badRequestManifest struct {
	Comment    string `json:"comment"`
	VirtualKey string `json:"virtual_key"`
	Defaults   struct {
		Method  string            `json:"method"`
		Path    string            `json:"path"`
		Headers map[string]string `json:"headers"`
	} `json:"defaults"`
	Cases []badRequestCase `json:"cases"`
}

func loadBadRequests(t *testing.T) badRequestManifest {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(badRequestsDir, "cases.json"))
	require.NoError(t, err)
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields() // a typo in a field must not silently drop a check
	var m badRequestManifest
	require.NoError(t, dec.Decode(&m))
	require.NotEmpty(t, m.VirtualKey)
	return m
}

// build returns the request a case describes.
func (tc *badRequestCase) build(t *testing.T, m *badRequestManifest) (*http.Request, []byte) {
	t.Helper()
	method, path := cmp(tc.Method, m.Defaults.Method), cmp(tc.Path, m.Defaults.Path)
	body := tc.body(t)
	r := httptest.NewRequest(method, path, bytes.NewReader(body))
	for k, v := range m.Defaults.Headers {
		r.Header.Set(k, v)
	}
	for k, v := range tc.Headers {
		if v == nil {
			r.Header.Del(k)
		} else {
			r.Header.Set(k, *v)
		}
	}
	for k, spec := range tc.HeaderGen {
		r.Header.Set(k, string(generate(t, spec)))
	}
	switch {
	case tc.Chunked:
		r.ContentLength = -1
		r.Body = io.NopCloser(struct{ io.Reader }{bytes.NewReader(body)}) // no length to see
	case tc.ContentLength != 0:
		r.ContentLength = tc.ContentLength
	}
	return r, body
}

func cmp(v, def string) string {
	if v != "" {
		return v
	}
	return def
}

func (tc *badRequestCase) body(t *testing.T) []byte {
	t.Helper()
	switch {
	case tc.BodyFile != "":
		b, err := os.ReadFile(filepath.Join(badRequestsDir, filepath.FromSlash(tc.BodyFile)))
		require.NoError(t, err)
		return b
	case tc.BodyGen != "":
		return generate(t, tc.BodyGen)
	case tc.Body != nil:
		return []byte(*tc.Body)
	}
	return nil
}

// generate builds the bodies and header values too large or too regular to
// write out in the manifest. spec is "<kind> <n>".
func generate(t *testing.T, spec string) []byte {
	t.Helper()
	f := strings.Fields(spec)
	require.NotEmpty(t, f, "generator %q", spec)
	n, err := strconv.Atoi(f[len(f)-1])
	require.NoError(t, err, "generator %q", spec)
	const session = `{"session":{"type":"realtime","model":"openai/gpt-realtime"},`
	switch f[0] {
	case "size": // a valid mint body of exactly n bytes
		head, tail := session+`"pad":"`, `"}`
		require.Greater(t, n, len(head)+len(tail))
		return []byte(head + strings.Repeat("x", n-len(head)-len(tail)) + tail)
	case "nest": // n nested arrays in a member the middleware does not read
		return []byte(session + `"x":` + strings.Repeat("[", n) + strings.Repeat("]", n) + "}")
	case "nest_objects": // objects n deep, no model
		return []byte(strings.Repeat(`{"a":`, n-1) + "{}" + strings.Repeat("}", n-1))
	case "nest_sessions": // sessions n deep, no model
		return []byte(strings.Repeat(`{"session":`, n-1) + "{}" + strings.Repeat("}", n-1))
	case "open_arrays":
		return []byte(strings.Repeat("[", n))
	case "repeat": // "repeat <text> <n>"
		require.Len(t, f, 3)
		return bytes.Repeat([]byte(f[1]), n)
	}
	t.Fatalf("unknown generator %q", spec)
	return nil
}

// countingProvider answers every mint like OpenAI and counts the calls: a
// bad request must never cost an upstream call.
type countingProvider struct{ calls atomic.Int64 }

func (p *countingProvider) Mint(context.Context, *realtimesecret.MintRequest) (*realtimesecret.MintResponse, error) {
	n := p.calls.Add(1)
	body := fmt.Sprintf(`{"value":"ek_counting%d","expires_at":4102444800,"session":{"type":"realtime"}}`, n)
	return &realtimesecret.MintResponse{StatusCode: http.StatusOK, Body: []byte(body)}, nil
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
// middleware: each gets the expected status and SPEC 5 error (or reaches
// next untouched), none gets a 5xx or panics, and none reaches the upstream.
func TestBadInput(t *testing.T) {
	m := loadBadRequests(t)
	require.GreaterOrEqual(t, len(m.Cases), 60)

	provider := &countingProvider{}
	cfg := baseConfig(provider)
	cfg.VirtualKeys = []realtimesecret.VirtualKey{{ID: "badinput", Value: realtimesecret.Secret(m.VirtualKey)}}
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
			r, sent := tc.build(t, &m)
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
		})
	}
}
