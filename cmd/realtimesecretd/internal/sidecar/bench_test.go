package sidecar_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/realtimesecret/realtimesecret/cmd/realtimesecretd/internal/sidecar"
	"github.com/realtimesecret/realtimesecret/internal/fakeupstream"
)

// BenchmarkSidecarMint is the load test in one process: GA mints over
// loopback HTTP from 64 concurrent clients, "direct" to the fake upstream
// and "sidecar" through realtimesecretd (testdata/sidecar.loadtest.yaml,
// info logs formatted as JSON and discarded) in front of it. The CPU of
// the clients and the fake upstream is in both, so the difference is the
// sidecar's cost per mint; profile "sidecar" with -cpuprofile to see it.
func BenchmarkSidecarMint(b *testing.B) {
	fake := httptest.NewServer(fakeupstream.New(fakeupstream.Options{MaxRequests: -1}))
	b.Cleanup(fake.Close)
	vars := map[string]string{"LOADTEST_UPSTREAM": fake.URL}
	cfg, err := sidecar.Load(filepath.Join("..", "..", "..", "..", "testdata", "sidecar.loadtest.yaml"),
		func(name string) (string, bool) { v, ok := vars[name]; return v, ok })
	if err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
	s, err := sidecar.New(cfg, sidecar.Options{Logger: log})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	b.Cleanup(srv.Close)

	const path = "/v1/realtime/client_secrets"
	targets := []struct{ name, url, auth, body string }{
		{"direct", fake.URL + path, "sk-loadtest-not-secret", `{"session":{"type":"realtime","model":"gpt-realtime"}}`},
		{"sidecar", srv.URL + path, "vk-loadtest-not-secret", `{"session":{"type":"realtime","model":"openai/gpt-realtime"}}`},
	}
	for _, tg := range targets {
		b.Run(tg.name, func(b *testing.B) {
			tr := http.DefaultTransport.(*http.Transport).Clone()
			tr.MaxIdleConnsPerHost = 64
			client := &http.Client{Transport: tr}
			b.Cleanup(tr.CloseIdleConnections)
			b.SetParallelism(32) // 64 clients on 2 CPUs, as the harness's wrk -c64
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, tg.url, strings.NewReader(tg.body))
					if err != nil {
						b.Error(err)
						return
					}
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("Authorization", "Bearer "+tg.auth)
					resp, err := client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					_ = resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						b.Errorf("status %d", resp.StatusCode)
						return
					}
				}
			})
		})
	}
}
