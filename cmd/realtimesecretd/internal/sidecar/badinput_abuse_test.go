package sidecar_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests attack the sidecar as a server on loopback: spoofed
// attribution headers, oversized headers, slow clients and many
// connections. Each talks raw HTTP where a client library would tidy the
// request up.

// rawRequest is one request written byte for byte.
type rawRequest struct {
	method, target string
	header         [][2]string // in order, names as written
	body           []byte
	chunked        bool  // Transfer-Encoding: chunked
	length         int64 // declared Content-Length when not the body's; -1: none
}

// send writes r on a new connection to addr and reads the answer.
func (r rawRequest) send(t *testing.T, addr string) (*http.Response, []byte) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(20*time.Second)))

	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n", r.method, r.target, addr)
	for _, h := range r.header {
		fmt.Fprintf(&b, "%s: %s\r\n", h[0], h[1])
	}
	switch {
	case r.chunked:
		b.WriteString("Transfer-Encoding: chunked\r\n\r\n")
		cw := httputil.NewChunkedWriter(&b)
		_, _ = cw.Write(r.body)
		_ = cw.Close()
		b.WriteString("\r\n")
	case r.length >= 0:
		n := r.length
		if n == 0 {
			n = int64(len(r.body))
		}
		fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n", n)
		b.Write(r.body)
	default:
		b.WriteString("\r\n")
	}
	// The server may answer and close before it has read everything (413):
	// a write error then is not the test's concern, the answer is.
	_, _ = conn.Write(b.Bytes())
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: r.method})
	require.NoError(t, err, "no answer to %s %s", r.method, r.target)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

func hostOf(url string) string { return strings.TrimPrefix(url, "http://") }

// attributionLike reports whether a header name would reach an
// application as an attribution header: CGI, WSGI and many frameworks fold
// "_" and "-" together and ignore case.
func attributionLike(name string) bool {
	n := strings.ToLower(strings.ReplaceAll(name, "_", "-"))
	return strings.HasPrefix(n, "x-realtime-")
}

// TestBadInputSpoofedAttribution: whatever attribution headers a client
// sends, the existing proxy sees only the sidecar's, spelled any
// way, repeated, or listed in Connection to be stripped as hop-by-hop.
func TestBadInputSpoofedAttribution(t *testing.T) {
	h := start(t, options{})
	token := h.mint(t)
	spoofs := [][2]string{
		{"X-Realtime-Key-Id", "spoofed"},
		{"x-realtime-virtual-key-id", "spoofed"},
		{"X-REALTIME-PROVIDER", "spoofed"},
		{"X-Realtime-Model", "spoofed"},
		{"X-Realtime-Model", "spoofed-again"},
		{"X-Realtime-Anything", "spoofed"},
	}
	for _, tc := range []struct {
		name  string
		auth  string
		extra [][2]string
		want  map[string]string // attribution headers the proxy must see
	}{
		{name: "without a token"},
		{name: "with an unknown token", auth: "Bearer ek_unknown0123456789"},
		{name: "with a minted token", auth: "Bearer " + token, want: map[string]string{
			"X-Realtime-Key-Id": "primary", "X-Realtime-Virtual-Key-Id": "web",
			"X-Realtime-Provider": "openai", "X-Realtime-Model": "gpt-realtime",
		}},
		{name: "with a minted token and attribution named hop-by-hop", auth: "Bearer " + token,
			extra: [][2]string{{"Connection", "X-Realtime-Key-Id, X-Realtime-Model"}},
			want: map[string]string{
				"X-Realtime-Key-Id": "primary", "X-Realtime-Virtual-Key-Id": "web",
				"X-Realtime-Provider": "openai", "X-Realtime-Model": "gpt-realtime",
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			header := append(append([][2]string{}, spoofs...), tc.extra...)
			if tc.auth != "" {
				header = append(header, [2]string{"Authorization", tc.auth})
			}
			before := h.Proxy.count()
			resp, _ := rawRequest{method: "POST", target: "/v1/chat/completions", header: header, body: []byte("{}")}.send(t, hostOf(h.URL))
			require.Equal(t, http.StatusOK, resp.StatusCode)
			require.Equal(t, before+1, h.Proxy.count())

			want := map[string][]string{}
			for name, v := range tc.want {
				want[name] = []string{v}
			}
			assert.Equal(t, want, attributionLikeHeaders(h.Proxy.last(t).Header))
		})
	}

	// CGI, WSGI (HTTP_X_REALTIME_KEY_ID) and many frameworks read "_" as
	// "-": a client must not be able to spoof attribution that way either.
	t.Run("underscore spellings", func(t *testing.T) {
		header := [][2]string{{"X_Realtime_Key_Id", "spoofed"}, {"X-Realtime_Virtual_Key-Id", "spoofed"}, {"Authorization", "Bearer " + token}}
		resp, _ := rawRequest{method: "POST", target: "/v1/chat/completions", header: header, body: []byte("{}")}.send(t, hostOf(h.URL))
		require.Equal(t, http.StatusOK, resp.StatusCode)
		got := attributionLikeHeaders(h.Proxy.last(t).Header)
		assert.Equal(t, map[string][]string{
			"X-Realtime-Key-Id": {"primary"}, "X-Realtime-Virtual-Key-Id": {"web"},
			"X-Realtime-Provider": {"openai"}, "X-Realtime-Model": {"gpt-realtime"},
		}, got)
	})
}

// attributionLikeHeaders returns the headers of h that attributionLike.
func attributionLikeHeaders(h http.Header) map[string][]string {
	got := map[string][]string{}
	for name, values := range h {
		if attributionLike(name) {
			got[name] = values
		}
	}
	return got
}

// TestBadInputOversizedHeaders: headers over server.max_header_bytes are
// answered 431 and reach neither the mint nor the existing proxy.
func TestBadInputOversizedHeaders(t *testing.T) {
	h := start(t, options{extra: "server: {max_header_bytes: 8192}\n"})
	big := strings.Repeat("a", 16<<10)
	for _, tc := range []struct {
		name   string
		target string
		header [][2]string
	}{
		{"one huge header on a mint route", "/v1/realtime/client_secrets", [][2]string{{"X-Pad", big}}},
		{"huge Authorization on a mint route", "/v1/realtime/client_secrets", [][2]string{{"Authorization", "Bearer " + big}}},
		{"many headers on a proxied route", "/v1/models", manyHeaders(600)},
		{"huge subprotocol on a redemption", "/v1/realtime", [][2]string{{"Sec-WebSocket-Protocol", "openai-insecure-api-key.ek_" + big}}},
		{"huge request target", "/v1/models?q=" + big, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			proxied, minted := h.Proxy.count(), h.Fake.Count()
			header := append([][2]string{{"Content-Type", "application/json"}}, tc.header...)
			resp, _ := rawRequest{method: "POST", target: tc.target, header: header, body: []byte(mintBody)}.send(t, hostOf(h.URL))
			assert.Equal(t, http.StatusRequestHeaderFieldsTooLarge, resp.StatusCode)
			assert.Equal(t, proxied, h.Proxy.count(), "reached the existing proxy")
			assert.Equal(t, minted, h.Fake.Count(), "reached the upstream")
		})
	}
	// The server still works.
	assert.NotEmpty(t, h.mint(t))
}

func manyHeaders(n int) [][2]string {
	out := make([][2]string, n)
	for i := range out {
		out[i] = [2]string{fmt.Sprintf("X-Many-%d", i), "value-value-value"}
	}
	return out
}

// closedByServer reports whether the server closes conn within d, reading
// and discarding whatever it sends first.
func closedByServer(conn net.Conn, d time.Duration) error {
	if err := conn.SetReadDeadline(time.Now().Add(d)); err != nil {
		return err
	}
	_, err := io.Copy(io.Discard, conn)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("the connection is still open after %v", d)
	}
	return nil // EOF or reset: closed
}

// TestBadInputBigBodyWithoutAKey: a 10 MB body without a key is 401, not
// 413, and so is one of exactly the body limit (1 MiB), answered from the
// headers: the answer comes before a byte of the body is sent, and the
// server closes the connection instead of reading the body (issue 21,
// finding 7; internal/stallrss measures the memory such callers cost).
func TestBadInputBigBodyWithoutAKey(t *testing.T) {
	h := start(t, options{})
	addr := hostOf(h.URL)
	for _, rt := range []struct{ path, contentType string }{
		{"/v1/live/sessions", "application/json"},
		{"/v1/realtime/calls", "multipart/form-data; boundary=x"},
		{"/v1/realtime/client_secrets", "application/json"},
	} {
		for _, length := range []int{10 << 20, 1 << 20} {
			t.Run(rt.path+"/"+strconv.Itoa(length), func(t *testing.T) {
				conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
				require.NoError(t, err)
				defer conn.Close()
				require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
				_, err = fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n",
					rt.path, rt.contentType, length)
				require.NoError(t, err)
				br := bufio.NewReader(conn)
				resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodPost})
				require.NoError(t, err, "no answer before the body")
				body, err := io.ReadAll(resp.Body)
				require.NoError(t, err)
				require.NoError(t, resp.Body.Close())
				assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, string(body))
				assert.Contains(t, string(body), `"code":"missing_api_key"`)
				assert.True(t, resp.Close, "the answer announces that the body will not be read")
				require.NoError(t, closedByServer(conn, 10*time.Second), "the server does not wait for the body")
			})
		}
	}
}

// TestBadInputSlowLoris: a client that sends its headers, or its mint
// body, a few bytes at a time is cut off by the server's timeouts, and the
// server keeps serving others meanwhile.
func TestBadInputSlowLoris(t *testing.T) {
	h := start(t, options{extra: "server: {read_header_timeout: 300ms, read_timeout: 600ms, idle_timeout: 600ms}\n"})
	addr := hostOf(h.URL)

	trickle := func(t *testing.T, conn net.Conn, prefix string, stop <-chan struct{}) {
		t.Helper()
		_, err := io.WriteString(conn, prefix)
		require.NoError(t, err)
		go func() {
			tick := time.NewTicker(50 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
					if _, err := io.WriteString(conn, "a"); err != nil {
						return // closed by the server
					}
				}
			}
		}()
	}

	t.Run("headers", func(t *testing.T) {
		conn, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		defer conn.Close()
		stop := make(chan struct{})
		defer close(stop)
		trickle(t, conn, "POST /v1/realtime/client_secrets HTTP/1.1\r\nHost: x\r\nX-Slow: ", stop)
		assert.NotEmpty(t, h.mint(t), "the server stopped serving others")
		require.NoError(t, closedByServer(conn, 10*time.Second))
	})

	t.Run("mint body", func(t *testing.T) {
		conn, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		defer conn.Close()
		stop := make(chan struct{})
		defer close(stop)
		trickle(t, conn, "POST /v1/realtime/client_secrets HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"+
			"Authorization: Bearer "+virtualKey+"\r\nContent-Length: 100000\r\n\r\n{\"pad\":\"", stop)
		minted := h.Fake.Count()
		assert.NotEmpty(t, h.mint(t), "the server stopped serving others")
		require.NoError(t, closedByServer(conn, 10*time.Second))
		assert.Equal(t, minted+1, h.Fake.Count(), "the slow mint reached the upstream")
	})

	t.Run("idle keep-alive", func(t *testing.T) {
		conn, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		defer conn.Close()
		_, err = io.WriteString(conn, "GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n")
		require.NoError(t, err)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		require.NoError(t, closedByServer(conn, 10*time.Second))
	})
}

// TestBadInputManyConnections: hundreds of connections that send nothing
// do not stop the sidecar serving concurrent clients, and each is closed
// by the server's header timeout.
func TestBadInputManyConnections(t *testing.T) {
	h := start(t, options{extra: "server: {read_header_timeout: 500ms}\n"})
	addr := hostOf(h.URL)
	const idle, clients, each = 200, 32, 5

	conns := make([]net.Conn, 0, idle)
	t.Cleanup(func() {
		for _, c := range conns {
			_ = c.Close()
		}
	})
	for range idle {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		require.NoError(t, err)
		conns = append(conns, c)
	}

	var wg sync.WaitGroup
	errs := make(chan error, clients*each)
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: 20 * time.Second}
			for range each {
				req, err := http.NewRequest(http.MethodPost, h.URL+"/v1/realtime/client_secrets", strings.NewReader(mintBody))
				if err != nil {
					errs <- err
					return
				}
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+virtualKey)
				resp, err := client.Do(req)
				if err != nil {
					errs <- err
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					errs <- fmt.Errorf("mint: status %d", resp.StatusCode)
				}
			}
			client.CloseIdleConnections()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	for i, c := range conns {
		require.NoError(t, closedByServer(c, 10*time.Second), "idle connection %d", i)
	}
}

// sendRaw writes text on a new connection and reads one answer.
func sendRaw(t *testing.T, addr, text string) *http.Response {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(20*time.Second)))
	_, _ = io.WriteString(conn, text)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// TestBadInputSmuggling: framings that a proxy behind the sidecar could
// read differently from it (request smuggling) are either refused before
// they reach the mint or the existing proxy, or reach the proxy in one
// unambiguous form (RFC 9112: Transfer-Encoding wins over Content-Length,
// an obsolete line fold becomes a space).
func TestBadInputSmuggling(t *testing.T) {
	h := start(t, options{})
	const body = `{"session":{"type":"realtime","model":"openai/gpt-realtime"}}`
	n := strconv.Itoa(len(body))
	var chunked bytes.Buffer
	cw := httputil.NewChunkedWriter(&chunked)
	_, _ = io.WriteString(cw, body)
	_ = cw.Close()
	chunked.WriteString("\r\n")

	for _, tc := range []struct {
		name, target, framing, body string
		status                      int // 0: forwarded, checked by proxied
		proxied                     func(t *testing.T, r seenRequest)
	}{
		{name: "Content-Length and Transfer-Encoding", target: "/v1/chat/completions",
			framing: "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", body: chunked.String(),
			proxied: func(t *testing.T, r seenRequest) {
				assert.Equal(t, body, string(r.Body), "the chunked framing must win")
			}},
		{name: "two different Content-Lengths", target: "/v1/chat/completions",
			framing: "Content-Length: " + n + "\r\nContent-Length: 5\r\n", body: body, status: http.StatusBadRequest},
		{name: "Content-Length list", target: "/v1/realtime/client_secrets",
			framing: "Content-Length: " + n + ", 5\r\n", body: body, status: http.StatusBadRequest},
		{name: "negative Content-Length", target: "/v1/realtime/client_secrets",
			framing: "Content-Length: -1\r\n", body: body, status: http.StatusBadRequest},
		{name: "space before the colon", target: "/v1/chat/completions",
			framing: "Content-Length : " + n + "\r\n", body: body, status: http.StatusBadRequest},
		{name: "Transfer-Encoding other than chunked", target: "/v1/chat/completions",
			framing: "Transfer-Encoding: gzip, chunked\r\n", body: chunked.String(), status: http.StatusNotImplemented},
		{name: "obsolete line folding", target: "/v1/chat/completions",
			framing: "Content-Length: " + n + "\r\nX-Folded: a\r\n b\r\n", body: body,
			proxied: func(t *testing.T, r seenRequest) { assert.Equal(t, []string{"a b"}, r.Header["X-Folded"]) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			proxied, minted := h.Proxy.count(), h.Fake.Count()
			resp := sendRaw(t, hostOf(h.URL), "POST "+tc.target+" HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"+
				"Authorization: Bearer "+virtualKey+"\r\n"+tc.framing+"\r\n"+tc.body)
			assert.Equal(t, minted, h.Fake.Count(), "reached the upstream")
			if tc.status != 0 {
				assert.Equal(t, tc.status, resp.StatusCode)
				assert.Equal(t, proxied, h.Proxy.count(), "reached the existing proxy")
				return
			}
			assert.Equal(t, http.StatusOK, resp.StatusCode)
			require.Equal(t, proxied+1, h.Proxy.count())
			tc.proxied(t, h.Proxy.last(t))
		})
	}
}
