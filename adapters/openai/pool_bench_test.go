package openai_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/realtimesecret/realtimesecret/adapters/openai"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// BenchmarkMintPool reports the connections dialled per mint (dials/op) at
// a loopback upstream, with the Provider's own transport, which keeps 256
// idle connections, against a client with Go's default of 2 idle
// connections per host, in one run: "steady" mints from 64 goroutines
// without pause, "burst" mints 32 at once and waits for all, as a sidecar
// behind a bursty page load does. Every mint goes to the same host, so
// with the default pool a burst redials all but 2 connections, each a
// TCP (and, at OpenAI, TLS) handshake and a socket left in TIME_WAIT.
func BenchmarkMintPool(b *testing.B) {
	var dials atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, mintReply)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			dials.Add(1)
		}
	}
	srv.Start()
	b.Cleanup(srv.Close)
	body := `{"session":{"type":"realtime","model":"gpt-realtime"}}`
	ctx := context.Background()

	pools := []struct {
		name   string
		client func(b *testing.B) *http.Client
	}{
		{"own-transport", func(*testing.B) *http.Client { return nil }},
		{"default-2-idle", func(b *testing.B) *http.Client {
			t := http.DefaultTransport.(*http.Transport).Clone()
			t.MaxIdleConnsPerHost = 0 // http.DefaultMaxIdleConnsPerHost, 2
			b.Cleanup(t.CloseIdleConnections)
			return &http.Client{Transport: t}
		}},
	}
	for _, pool := range pools {
		b.Run("steady/"+pool.name, func(b *testing.B) {
			p := newProvider(b, openai.Config{BaseURL: srv.URL, Client: pool.client(b)})
			b.SetParallelism(32) // 64 goroutines on 2 CPUs
			b.ReportAllocs()
			start := dials.Load()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				req := mintReq(contract.EndpointClientSecret, body)
				for pb.Next() {
					if resp, err := p.Mint(ctx, req); err != nil || resp.StatusCode != http.StatusOK {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(dials.Load()-start)/float64(b.N), "dials/op")
		})
	}
	const burst = 32
	for _, pool := range pools {
		b.Run("burst/"+pool.name, func(b *testing.B) {
			p := newProvider(b, openai.Config{BaseURL: srv.URL, Client: pool.client(b)})
			b.ReportAllocs()
			start := dials.Load()
			for b.Loop() {
				var wg sync.WaitGroup
				for range burst {
					wg.Go(func() {
						req := mintReq(contract.EndpointClientSecret, body)
						if resp, err := p.Mint(ctx, req); err != nil || resp.StatusCode != http.StatusOK {
							b.Error(err)
						}
					})
				}
				wg.Wait()
			}
			b.ReportMetric(float64(dials.Load()-start)/float64(b.N*burst), "dials/op")
		})
	}
}
