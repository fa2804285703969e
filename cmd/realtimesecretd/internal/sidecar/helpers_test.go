package sidecar_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/cmd/realtimesecretd/internal/sidecar"
	"github.com/realtimesecret/realtimesecret/internal/fakeupstream"
)

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// lines returns the JSON log lines whose msg is msg.
func (s *syncBuffer) lines(t *testing.T, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(s.String()))
	for sc.Scan() {
		var m map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &m), sc.Text())
		if m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

// await returns the JSON log lines whose msg is msg once there are n of
// them. A mint's line is written after its answer has been sent (the
// caller does not wait for it), so a test that has its answer may read the
// log before the line is there.
func (s *syncBuffer) await(t *testing.T, msg string, n int) []map[string]any {
	t.Helper()
	eventually(t, func() bool { return len(s.lines(t, msg)) >= n }, "waiting for log lines "+strconv.Quote(msg))
	lines := s.lines(t, msg)
	require.Len(t, lines, n, "log lines %q", msg)
	return lines
}

// seenRequest is what the fake existing proxy received.
type seenRequest struct {
	Method string
	Path   string
	Header http.Header
	Body   []byte
}

// fakeProxy stands for the existing LLM proxy: it records every request,
// echoes WebSocket messages on /v1/realtime, and answers anything else
// with a fixed body. Tests add routes to Mux.
type fakeProxy struct {
	*httptest.Server
	Mux  *http.ServeMux
	mu   sync.Mutex
	seen []seenRequest
}

const proxyAnswer = "answer-from-the-existing-proxy\x00\xff"

func newFakeProxy(t *testing.T) *fakeProxy {
	p := &fakeProxy{Mux: http.NewServeMux()}
	p.Mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-From", "proxy")
		_, _ = io.WriteString(w, proxyAnswer)
	})
	p.Mux.HandleFunc("GET /v1/realtime", func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{"realtime"}})
		if err != nil {
			return
		}
		defer func() { _ = c.CloseNow() }()
		for {
			typ, msg, err := c.Read(r.Context())
			if err != nil {
				return
			}
			if err := c.Write(r.Context(), typ, msg); err != nil {
				return
			}
		}
	})
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		p.mu.Lock()
		p.seen = append(p.seen, seenRequest{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body})
		p.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		p.Mux.ServeHTTP(w, r)
	}))
	t.Cleanup(p.Close)
	return p
}

// last returns the last request the proxy received.
func (p *fakeProxy) last(t *testing.T) seenRequest {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	require.NotEmpty(t, p.seen, "the existing proxy received nothing")
	return p.seen[len(p.seen)-1]
}

func (p *fakeProxy) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.seen)
}

// harness is a sidecar serving on a loopback port, in front of a fake
// existing proxy, minting at a fake upstream.
type harness struct {
	URL      string // http://127.0.0.1:port
	Admin    string // base URL of the admin listener, or URL
	Fake     *fakeupstream.Server
	Proxy    *fakeProxy
	Logs     *syncBuffer
	Server   *sidecar.Server
	Text     string            // the config it was started with
	vars     map[string]string // the variables Text reads
	cancel   context.CancelFunc
	stopped  chan struct{} // closed when Serve returned
	serveErr error         // what Serve returned, once stopped
}

type options struct {
	extra       string                                            // YAML appended to the base config
	fault       func(w http.ResponseWriter, r *http.Request) bool // fake upstream fault hook
	noUpstream  bool                                              // no existing proxy
	adminListen bool                                              // admin endpoints on their own listener
	env         map[string]string                                 // more variables
	virtualKeys map[string]string                                 // more virtual keys, id to value, beside web
	adminToken  string                                            // admin.token, from ADMIN_TOKEN
	webPolicy   string                                            // YAML lines under the web virtual key, indented 4
	sideband    fakeupstream.SidebandScript                       // what the fake upstream's sidebands emit
	fake        *fakeupstream.Server                              // a fake upstream shared with other sidecars, at fakeURL
	fakeURL     string
}

const harnessYAML = `
upstream: ${PROXY_URL:-}
providers:
  openai:
    base_url: ${FAKE_URL}
    timeout: ${PROVIDER_TIMEOUT:-5s}
    keys:
      - id: primary
        value: ${OPENAI_API_KEY}
virtual_keys:
  - id: web
    value: ${VK_WEB}
`

func start(t *testing.T, o options) *harness {
	t.Helper()
	h := &harness{Logs: &syncBuffer{}, stopped: make(chan struct{})}
	vars := baseEnv()
	if o.fake != nil {
		h.Fake, vars["FAKE_URL"] = o.fake, o.fakeURL
	} else {
		h.Fake, vars["FAKE_URL"] = newFake(t, fakeupstream.Options{Fault: o.fault, Sideband: o.sideband})
	}
	if !o.noUpstream {
		h.Proxy = newFakeProxy(t)
		vars["PROXY_URL"] = h.Proxy.URL
	}
	for k, v := range o.env {
		vars[k] = v
	}
	text := harnessYAML + o.webPolicy
	for id, value := range o.virtualKeys { // the list harnessYAML ends with
		name := "VK_" + strings.ToUpper(id)
		vars[name] = value
		text += "  - id: " + id + "\n    value: ${" + name + "}\n"
	}
	text += o.extra
	var admin []string
	if o.adminListen {
		admin = append(admin, `listen: "127.0.0.1:1"`) // the test's listener is used
	}
	if o.adminToken != "" {
		vars["ADMIN_TOKEN"] = o.adminToken
		admin = append(admin, `token: "${ADMIN_TOKEN}"`)
	}
	if len(admin) > 0 {
		text += "admin: {" + strings.Join(admin, ", ") + "}\n"
	}
	cfg, err := sidecar.Parse([]byte(text), env(vars))
	require.NoError(t, err)
	logger := newJSONLogger(h.Logs)
	srv, err := sidecar.New(cfg, sidecar.Options{Logger: logger})
	require.NoError(t, err)
	h.Server, h.Text, h.vars = srv, text, vars

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	h.URL = "http://" + ln.Addr().String()
	h.Admin = h.URL
	var adminLn net.Listener
	if o.adminListen {
		adminLn, err = net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		h.Admin = "http://" + adminLn.Addr().String()
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() {
		defer close(h.stopped)
		h.serveErr = srv.Serve(ctx, ln, adminLn)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-h.stopped:
		case <-time.After(30 * time.Second):
			t.Error("the sidecar did not stop")
		}
	})
	return h
}

// reload parses text with the harness's variables and swaps it in, as
// SIGHUP does with the file read again.
func (h *harness) reload(t *testing.T, text string) error {
	t.Helper()
	cfg, err := sidecar.Parse([]byte(text), env(h.vars))
	if err != nil {
		return err
	}
	return h.Server.Reload(cfg)
}

// newFake starts a fake upstream that accepts upstreamKey, stopped when the
// test ends, and returns it with its URL.
func newFake(t *testing.T, o fakeupstream.Options) (*fakeupstream.Server, string) {
	t.Helper()
	o.Keys = []string{upstreamKey}
	fake := fakeupstream.New(o)
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	t.Cleanup(fake.Close) // its sidebands, before the server: httptest does not track them
	return fake, srv.URL
}

// isStopped reports whether Serve has returned.
func (h *harness) isStopped() bool {
	select {
	case <-h.stopped:
		return true
	default:
		return false
	}
}

// refusesConnections reports whether the main listener is closed.
func (h *harness) refusesConnections() bool {
	c, err := net.DialTimeout("tcp", strings.TrimPrefix(h.URL, "http://"), time.Second)
	if err != nil {
		return true
	}
	_ = c.Close()
	return false
}

// shutdown starts the graceful shutdown, as SIGTERM does.
func (h *harness) shutdown() { h.cancel() }

// reply is an answer whose body do has read and closed.
type reply struct {
	StatusCode int
	Header     http.Header
}

// do sends a request and returns the answer with its body read.
func do(t *testing.T, method, url string, header http.Header, body string) (reply, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	require.NoError(t, err)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return reply{StatusCode: resp.StatusCode, Header: resp.Header}, b
}

const mintBody = `{"session":{"type":"realtime","model":"openai/gpt-realtime"}}`

// mint mints with the harness's virtual key and returns the secret.
func (h *harness) mint(t *testing.T) string {
	t.Helper()
	resp, body := do(t, http.MethodPost, h.URL+"/v1/realtime/client_secrets", http.Header{
		"Authorization": {"Bearer " + virtualKey},
		"Content-Type":  {"application/json"},
	}, mintBody)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	var out struct {
		Value string `json:"value"`
	}
	require.NoError(t, json.Unmarshal(body, &out))
	require.True(t, strings.HasPrefix(out.Value, "ek_"), out.Value)
	return out.Value
}

// metrics returns the text of the metrics endpoint.
func (h *harness) metrics(t *testing.T) string {
	t.Helper()
	resp, body := do(t, http.MethodGet, h.Admin+"/metrics", nil, "")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	return string(body)
}

// assertMetric checks that the exposition has the sample line exactly.
// awaitMetrics returns the metrics text once it holds every sample. A
// mint's metrics are counted after its answer has been sent, so a test that
// has its answer may scrape before they are.
func (h *harness) awaitMetrics(t *testing.T, samples ...string) string {
	t.Helper()
	// Eventually runs has on another goroutine and, on a timeout, returns
	// without waiting for it: m is shared under mu.
	var (
		mu sync.Mutex
		m  string
	)
	has := func() bool {
		got := h.metrics(t)
		mu.Lock()
		m = got
		mu.Unlock()
		lines := strings.Split(got, "\n")
		for _, s := range samples {
			if !slices.Contains(lines, s) {
				return false
			}
		}
		return true
	}
	ok := assert.Eventually(t, has, 10*time.Second, 5*time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if !ok {
		for _, s := range samples {
			assertMetric(t, m, s) // names the missing ones
		}
	}
	return m
}

func assertMetric(t *testing.T, exposition, sample string) {
	t.Helper()
	assert.Contains(t, strings.Split(exposition, "\n"), sample, "metric sample %q", sample)
}

// eventually polls cond until it holds or 10 s pass.
func eventually(t *testing.T, cond func() bool, msg string) {
	t.Helper()
	require.Eventually(t, cond, 10*time.Second, 5*time.Millisecond, msg)
}

func newJSONLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
