package sidecar

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/realtimesecret/realtimesecret/internal/fakeupstream"
)

// demoUpstream is the built-in fake OpenAI upstream the demo providers mint
// at: it answers like the real API with fresh "ek_" values that no real
// service accepts. It listens on a loopback port only.
type demoUpstream struct {
	srv *http.Server
	url string
}

// startDemo starts the fake upstream on 127.0.0.1 and a free port.
func startDemo(ctx context.Context, log *slog.Logger) (*demoUpstream, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	d := &demoUpstream{
		srv: &http.Server{
			Handler:           fakeupstream.New(fakeupstream.Options{Keys: []string{demoKey.Reveal()}}),
			ReadHeaderTimeout: 10 * time.Second,
		},
		url: "http://" + ln.Addr().String(),
	}
	go func() {
		if err := d.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("demo upstream stopped", slog.String("error", err.Error()))
		}
	}()
	return d, nil
}

// close stops the fake upstream once the sidecar has drained.
func (d *demoUpstream) close(ctx context.Context) error {
	return d.srv.Shutdown(ctx)
}
