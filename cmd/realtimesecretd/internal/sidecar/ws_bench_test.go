package sidecar_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/realtimesecret/realtimesecret/cmd/realtimesecretd/internal/sidecar"
	"github.com/realtimesecret/realtimesecret/internal/fakeupstream"
)

// BenchmarkWebSocketProxy is the upgrade path of make loadtest's WebSocket
// rounds in one process, to profile (-cpuprofile, -memprofile) what the
// sidecar adds to a bare httputil.ReverseProxy (the floor): "upgrade" opens
// and closes one session per op, redeeming a minted token through the
// sidecar; "message" echoes one 6,400-byte message per op on an open
// session. The upstream answers 101 and echoes raw bytes: both proxies copy
// bytes after the upgrade and never parse WebSocket frames.
func BenchmarkWebSocketProxy(b *testing.B) {
	echo := httptest.NewServer(http.HandlerFunc(rawEcho))
	b.Cleanup(echo.Close)
	fake := httptest.NewServer(fakeupstream.New(fakeupstream.Options{MaxRequests: -1}))
	b.Cleanup(fake.Close)
	vars := map[string]string{"LOADTEST_UPSTREAM": fake.URL, "LOADTEST_PROXY_UPSTREAM": echo.URL}
	cfg, err := sidecar.Load(filepath.Join("..", "..", "..", "..", "testdata", "sidecar.loadtest.yaml"),
		func(name string) (string, bool) { v, ok := vars[name]; return v, ok })
	if err != nil {
		b.Fatal(err)
	}
	s, err := sidecar.New(cfg, sidecar.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	side := httptest.NewServer(s.Handler())
	b.Cleanup(side.Close)
	token := mintToken(b, side.URL)

	target, _ := url.Parse(echo.URL)
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConns, transport.MaxIdleConnsPerHost = 256, 256
	floor := httptest.NewServer(&httputil.ReverseProxy{ // as internal/floorproxy
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.Header.Set("Authorization", "Bearer sk-test")
		},
		Transport: transport,
	})
	b.Cleanup(floor.Close)

	msg := []byte(strings.Repeat("ABCDEFGHIJKLMNOPQRSTUVWXYZ", 247)[:6400])
	for _, p := range []struct{ name, url, token string }{{"floor", floor.URL, ""}, {"sidecar", side.URL, token}} {
		b.Run(p.name+"/upgrade", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c, _ := openSession(b, p.url, p.token)
				_ = c.Close()
			}
		})
		b.Run(p.name+"/message", func(b *testing.B) {
			c, br := openSession(b, p.url, p.token)
			defer c.Close()
			buf := make([]byte, len(msg))
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Write(msg); err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(br, buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// rawEcho answers an upgrade with 101 and echoes every byte after it.
func rawEcho(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Upgrade") != "websocket" {
		http.Error(w, "upgrade required", http.StatusUpgradeRequired)
		return
	}
	c, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer c.Close()
	_, _ = c.Write([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"))
	_, _ = io.Copy(c, brw)
}

// openSession dials base and upgrades GET /v1/realtime, with the token as
// a bearer when there is one.
func openSession(b *testing.B, base, token string) (net.Conn, *bufio.Reader) {
	b.Helper()
	u, _ := url.Parse(base)
	c, err := net.Dial("tcp", u.Host)
	if err != nil {
		b.Fatal(err)
	}
	req := "GET /v1/realtime?model=gpt-realtime HTTP/1.1\r\nHost: " + u.Host +
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	if token != "" {
		req += "Authorization: Bearer " + token + "\r\n"
	}
	if _, err := c.Write([]byte(req + "\r\n")); err != nil {
		b.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		b.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		b.Fatalf("upgrade answered %d", resp.StatusCode)
	}
	return c, br
}

func mintToken(b *testing.B, base string) string {
	b.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, base+"/v1/realtime/client_secrets",
		strings.NewReader(`{"session":{"type":"realtime","model":"openai/gpt-realtime"}}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer vk-loadtest-not-secret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ Value string }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || !strings.HasPrefix(out.Value, "ek_") {
		b.Fatalf("mint: status %d, %v", resp.StatusCode, err)
	}
	return out.Value
}
