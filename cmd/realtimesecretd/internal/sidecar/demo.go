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

// demoVirtualKey is the published virtual key value of the demo configs
// (testdata/sidecar.yaml, container/config.yaml): anyone who has read the
// repository has it, so Config.validate refuses it where it would mint for
// real on a network address, and the demo page fills it in.
const demoVirtualKey = "vk-demo-not-secret"

// demoUpstream is the built-in fake OpenAI upstream the demo providers mint
// at: it answers like the real API with fresh "ek_" values that no real
// service accepts. It listens on a loopback port only.
type demoUpstream struct {
	srv  *http.Server
	fake *fakeupstream.Server
	url  string
}

// startDemo starts the fake upstream on 127.0.0.1 and a free port.
func startDemo(ctx context.Context, log *slog.Logger) (*demoUpstream, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	// Its sidebands report usage every second, for usage_metering.
	fake := fakeupstream.New(fakeupstream.Options{Keys: []string{demoKey.Reveal()}})
	d := &demoUpstream{
		srv:  &http.Server{Handler: fake, ReadHeaderTimeout: 10 * time.Second},
		fake: fake,
		url:  "http://" + ln.Addr().String(),
	}
	go func() {
		if err := d.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("demo upstream stopped", slog.String("error", err.Error()))
		}
	}()
	return d, nil
}

// close stops the fake upstream once the sidecar has drained: its open
// sidebands too, which http.Server.Shutdown does not track.
func (d *demoUpstream) close(ctx context.Context) error {
	d.fake.Close()
	return d.srv.Shutdown(ctx)
}
