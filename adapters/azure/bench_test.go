package azure_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/realtimesecret/realtimesecret/adapters/azure"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// BenchmarkMint is one GA mint over loopback, comparable with
// adapters/openai's BenchmarkMint; "error" is a 404 whose body is rewritten.
func BenchmarkMint(b *testing.B) {
	for _, tc := range []struct {
		name   string
		status int
		reply  string
	}{
		{"ok", http.StatusOK, `{"value":"ek_abc","expires_at":1756310470,"session":{"type":"realtime","model":"dep"}}`},
		{"error", http.StatusNotFound, `{"error":{"code":"DeploymentNotFound","message":"The API deployment for this resource does not exist."}}`},
	} {
		b.Run(tc.name, func(b *testing.B) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.reply)
			}))
			b.Cleanup(srv.Close)
			p := newProvider(b, azure.Config{Endpoint: srv.URL})
			req := mintReq(contract.EndpointClientSecret, `{"session":{"type":"realtime","model":"dep"}}`)
			req.Header = http.Header{"X-Request-Id": {"abc"}}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				resp, err := p.Mint(ctx, req)
				if err != nil || resp.StatusCode != tc.status {
					b.Fatal(err)
				}
			}
		})
	}
}
