package sidecar

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
)

// Options are what a Server needs beyond the config file.
type Options struct {
	// Logger receives the sidecar's log lines and the core's one line per
	// mint. Nil discards them.
	Logger *slog.Logger
	// DemoBaseURL is where the config's demo providers mint. Empty means
	// New starts the built-in fake upstream on a loopback port when there
	// are demo providers.
	DemoBaseURL string
}

// Server is the sidecar: the core middleware in front of a reverse proxy to
// the existing proxy, plus the admin endpoints.
type Server struct {
	cfg      *Config
	log      *slog.Logger
	built    *built
	core     *realtimesecret.Handler // nil until assembled
	main     http.Handler
	admin    http.Handler // nil when the admin paths are served on main
	draining atomic.Bool
	conns    tracker
	demo     *demoUpstream
}

// New builds a Server from a loaded Config. It starts nothing but, in demo
// mode, the fake upstream; Serve starts serving.
func New(cfg *Config, opts Options) (*Server, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, log: log}
	demoURL := opts.DemoBaseURL
	if len(cfg.DemoProviders()) > 0 && demoURL == "" {
		d, err := startDemo(context.Background(), log)
		if err != nil {
			return nil, fmt.Errorf("demo upstream: %w", err)
		}
		s.demo, demoURL = d, d.url
	}
	if err := s.assemble(demoURL); err != nil {
		s.release(context.Background())
		return nil, err
	}
	return s, nil
}

func (s *Server) assemble(demoURL string) error {
	b, err := build(s.cfg, demoURL, s.log)
	if err != nil {
		return err
	}
	s.built = b
	core, err := realtimesecret.New(b.core)
	if err != nil {
		return err
	}
	s.core = core
	var target *url.URL
	if s.cfg.Upstream != "" {
		if target, err = parseUpstream(s.cfg.Upstream); err != nil {
			return err
		}
	}
	h := &health{store: pingerOf(b.store), draining: &s.draining, log: s.log}
	routes := map[string]http.HandlerFunc{
		s.cfg.Admin.HealthPath:  h.live,
		s.cfg.Admin.ReadyPath:   h.ready,
		s.cfg.Admin.MetricsPath: b.metrics.handler().ServeHTTP,
	}
	app := core.Wrap(newProxy(target, time.Duration(s.cfg.Server.ProxyTimeout), &s.conns, s.log))
	app = withCORS(s.cfg, app, s.log)
	if len(s.cfg.DemoProviders()) > 0 {
		page, err := newDemoPage(s.cfg)
		if err != nil {
			return err
		}
		app = withDemoPage(page, app)
	}
	var api http.Handler
	if s.cfg.Admin.Token != "" {
		api = newAdminAPI(s.cfg.Admin.Token, s.cfg, core.EndSessions, s.log)
	}
	if s.cfg.Admin.Listen == "" {
		s.main = &adminMux{routes: routes, api: api, next: app}
	} else {
		s.main = app
		s.admin = &adminMux{routes: routes, api: api}
	}
	return nil
}

// Handler returns the handler served on the config's listen address.
func (s *Server) Handler() http.Handler { return s.main }

// AdminHandler returns the handler for admin.listen, or nil when the admin
// paths are served by Handler.
func (s *Server) AdminHandler() http.Handler { return s.admin }

// Serve serves ln (and adminLn, required when admin.listen is set) until ctx
// is done, then shuts down gracefully: readiness turns 503, the listeners
// close, and in-flight requests and WebSocket connections get
// server.shutdown_timeout to finish before they are closed. It returns nil
// after a shutdown caused by ctx, or the error that stopped a listener.
func (s *Server) Serve(ctx context.Context, ln, adminLn net.Listener) error {
	if (s.admin != nil) != (adminLn != nil) {
		return errors.New("sidecar: an admin listener is required exactly when admin.listen is set")
	}
	// Requests' contexts live until the drain ends, not until ctx does:
	// in-flight mints must be able to finish.
	base, cancelBase := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelBase()
	errc := make(chan error, 2)
	srv := s.httpServer(base, s.main)
	go func() { errc <- srv.Serve(ln) }()
	var adminSrv *http.Server
	if adminLn != nil {
		adminSrv = s.httpServer(base, s.admin)
		go func() { errc <- adminSrv.Serve(adminLn) }()
	}

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	s.draining.Store(true)
	limit := time.Duration(s.cfg.Server.ShutdownTimeout)
	s.log.Info("shutting down: draining in-flight requests", slog.String("limit", limit.String()))
	drainCtx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	err := srv.Shutdown(drainCtx)
	if err == nil {
		err = s.conns.wait(drainCtx)
	}
	if err != nil {
		s.log.Warn("drain limit reached: closing the remaining connections",
			slog.Int("websockets", s.conns.count()))
		_ = srv.Close()
	}
	// Ends the WebSocket connections still open: the reverse proxy closes
	// an upgraded connection when its request's context ends.
	cancelBase()
	if adminSrv != nil {
		// The admin endpoints served readiness 503 during the drain.
		_ = adminSrv.Close()
	}
	s.release(drainCtx)
	s.log.Info("stopped")
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return serveErr
	}
	return nil
}

// release stops the core's session governance (the goroutine that enforces
// caps, and metering), then the demo upstream, and closes the store. Serve
// calls it after the drain, on every return.
func (s *Server) release(ctx context.Context) {
	if s.core != nil {
		// Caps not yet due stay in a shared registry, where another node
		// enforces them.
		if err := s.core.Close(); err != nil {
			s.log.Warn("session governance did not stop cleanly", slog.String("error", err.Error()))
		}
	}
	if s.demo != nil {
		if err := s.demo.close(ctx); err != nil {
			s.log.Warn("demo upstream did not stop cleanly", slog.String("error", err.Error()))
		}
	}
	if s.built != nil {
		for _, c := range s.built.closers {
			if err := c.Close(); err != nil {
				s.log.Warn("store did not close cleanly", slog.String("error", err.Error()))
			}
		}
	}
}

func (s *Server) httpServer(base context.Context, h http.Handler) *http.Server {
	sc := s.cfg.Server
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: time.Duration(sc.ReadHeaderTimeout),
		ReadTimeout:       time.Duration(sc.ReadTimeout),
		WriteTimeout:      time.Duration(sc.WriteTimeout),
		IdleTimeout:       time.Duration(sc.IdleTimeout),
		MaxHeaderBytes:    sc.MaxHeaderBytes,
		BaseContext:       func(net.Listener) context.Context { return base },
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
}

// tracker counts the upgraded (WebSocket) connections in flight, which
// http.Server.Shutdown does not wait for.
type tracker struct {
	mu   sync.Mutex
	n    int
	idle chan struct{} // closed when n drops to 0
}

func (t *tracker) add() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.n == 0 {
		t.idle = make(chan struct{})
	}
	t.n++
}

func (t *tracker) done() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.n--
	if t.n == 0 {
		close(t.idle)
	}
}

func (t *tracker) count() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.n
}

// wait returns nil once no connection is in flight, or ctx's error.
func (t *tracker) wait(ctx context.Context) error {
	t.mu.Lock()
	if t.n == 0 {
		t.mu.Unlock()
		return nil
	}
	idle := t.idle
	t.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
