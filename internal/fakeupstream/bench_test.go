package fakeupstream_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/realtimesecret/realtimesecret/internal/fakeupstream"
)

// discardWriter is a ResponseWriter that keeps nothing but the headers.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(int)             {}

func BenchmarkMint(b *testing.B) {
	cases := []struct {
		name, path, fixture string
		opts                fakeupstream.Options
	}{
		{name: "GA", path: fakeupstream.PathClientSecrets, fixture: "ga_client_secret"},
		{name: "GA/no-log", path: fakeupstream.PathClientSecrets, fixture: "ga_client_secret",
			opts: fakeupstream.Options{MaxRequests: -1}},
		{name: "beta", path: fakeupstream.PathSessions, fixture: "beta_session"},
		{name: "transcription", path: fakeupstream.PathTranscriptionSessions, fixture: "beta_transcription_session"},
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			up := fakeupstream.New(bc.opts)
			body := []byte(fixture(b, bc.fixture))
			req := httptest.NewRequest(http.MethodPost, bc.path, nil)
			req.Header.Set("Authorization", "Bearer sk-test")
			req.Header.Set("Content-Type", "application/json")
			w := &discardWriter{h: http.Header{}}
			rd := bytes.NewReader(body)
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				rd.Reset(body)
				req.Body = io.NopCloser(rd)
				clear(w.h)
				up.ServeHTTP(w, req)
			}
		})
	}
}
