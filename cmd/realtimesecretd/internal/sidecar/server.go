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
	// Level, when set, is the level of Logger's handler: Reload sets it to
	// the new log_level.
	Level *slog.LevelVar
	// DemoBaseURL is where the config's demo providers mint. Empty means
	// New starts the built-in fake upstream on a loopback port when there
	// are demo providers.
	DemoBaseURL string
}

// Server is the sidecar: the core middleware in front of a reverse proxy to
// the existing proxy, plus the admin endpoints. Its config can be replaced
// while it serves (Reload): each config is a generation, and requests go to
// the current one.
type Server struct {
	log  *slog.Logger
	opts Options
	// boot is the config the listeners and HTTP servers were made for:
	// listen, admin.listen and server.* keep its values across reloads.
	boot    *Config
	metrics *metrics
	// authFailures counts and rate-limits the log of refused admin API
	// requests, across reloads.
	authFailures *authFailures
	cur          atomic.Pointer[generation]
	main         http.Handler
	admin        http.Handler // nil when the admin paths are served on main
	draining     atomic.Bool
	conns        tracker

	mu sync.Mutex // serializes Reload and release; guards the fields below
	// retired are the generations a reload replaced. Each keeps metering
	// and capping the sessions it created; they are closed on shutdown
	// (or, with a shared registry, once idle: see prune).
	retired []*generation
	// oldStores are stores a reload replaced (store: changed); the retired
	// generations still use them, so they are closed on shutdown.
	oldStores []*stores
	demo      *demoUpstream
	released  bool
}

// generation is one config, built: the core Handler for it and the
// handlers served on the listeners.
type generation struct {
	cfg    *Config
	stores *stores
	core   *realtimesecret.Handler
	main   http.Handler
	admin  http.Handler // nil when the admin paths are served on main
	// retiredAt is when a reload replaced it.
	retiredAt time.Time
}

// New builds a Server from a loaded Config. It starts nothing but, in demo
// mode, the fake upstream; Serve starts serving.
func New(cfg *Config, opts Options) (*Server, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{log: log, opts: opts, boot: cfg, metrics: newMetrics()}
	s.authFailures = newAuthFailures(s.metrics.adminAuthFailures, log, time.Now)
	s.metrics.governance = s.governance
	g, err := s.assemble(cfg, nil)
	if err != nil {
		s.release(context.Background())
		return nil, err
	}
	s.cur.Store(g)
	s.main = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.cur.Load().main.ServeHTTP(w, r) })
	if cfg.Admin.Listen != "" {
		s.admin = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.cur.Load().admin.ServeHTTP(w, r) })
	}
	return s, nil
}

// demoURL returns where cfg's demo providers mint, starting the built-in
// fake upstream the first time a config has demo providers.
func (s *Server) demoURL(cfg *Config) (string, error) {
	if s.opts.DemoBaseURL != "" || len(cfg.DemoProviders()) == 0 {
		return s.opts.DemoBaseURL, nil
	}
	if s.demo == nil {
		d, err := startDemo(context.Background(), s.log)
		if err != nil {
			return "", fmt.Errorf("demo upstream: %w", err)
		}
		s.demo = d
	}
	return s.demo.url, nil
}

// assemble builds a generation for cfg, with the stores of prev when cfg
// configures the same store. The admin paths go where s.boot put them.
func (s *Server) assemble(cfg *Config, prev *stores) (*generation, error) {
	demoURL, err := s.demoURL(cfg)
	if err != nil {
		return nil, err
	}
	b, err := build(cfg, demoURL, s.log, s.metrics, prev)
	if err != nil {
		return nil, err
	}
	g := &generation{cfg: cfg, stores: b.stores}
	fail := func(err error) (*generation, error) {
		if g.core != nil {
			_ = g.core.Close()
		}
		b.discard(prev, s.log)
		return nil, err
	}
	if g.core, err = realtimesecret.New(b.core); err != nil {
		return fail(err)
	}
	var target *url.URL
	if cfg.Upstream != "" {
		if target, err = parseUpstream(cfg.Upstream); err != nil {
			return fail(err)
		}
	}
	h := &health{store: pingerOf(b.stores.store), draining: &s.draining, governance: s.governance, log: s.log}
	routes := map[string]http.HandlerFunc{
		cfg.Admin.HealthPath:  h.live,
		cfg.Admin.ReadyPath:   h.ready,
		cfg.Admin.MetricsPath: s.metrics.handler().ServeHTTP,
	}
	app := g.core.Wrap(newProxy(target, time.Duration(cfg.Server.ProxyTimeout), &s.conns, s.log))
	app = withCORS(cfg, app, s.log)
	if len(cfg.DemoProviders()) > 0 {
		page, err := newDemoPage(cfg)
		if err != nil {
			return fail(err)
		}
		app = withDemoPage(page, app)
	}
	var api http.Handler
	if cfg.Admin.Token != "" {
		a := newAdminAPI(cfg.Admin.Token, cfg, g.core.EndSessions, s.authFailures, s.log)
		a.usage = newUsageReport(cfg, b.stores.registry)
		api = a
	}
	if s.boot.Admin.Listen == "" {
		g.main = &adminMux{routes: routes, api: api, next: app}
	} else {
		g.main = app
		g.admin = &adminMux{routes: routes, api: api}
	}
	b.label(cfg, s.metrics)
	return g, nil
}

// config returns the config in use.
func (s *Server) config() *Config { return s.cur.Load().cfg }

// governance returns the governance fail mode of the config in use, or
// the default (fail closed) before there is one.
func (s *Server) governance() governanceMode {
	if g := s.cur.Load(); g != nil {
		return governanceOf(g.cfg)
	}
	return governanceMode{}
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
	limit := time.Duration(s.boot.Server.ShutdownTimeout)
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

// release stops the session governance of every generation (the
// goroutines that enforce caps, and metering), then the demo upstream, and
// closes the stores. Serve calls it after the drain, on every return.
func (s *Server) release(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.released {
		return
	}
	s.released = true
	gens := s.retired
	if g := s.cur.Load(); g != nil {
		gens = append(gens, g)
	}
	for _, g := range gens {
		// Caps not yet due stay in a shared registry, where another node
		// enforces them.
		if err := g.core.Close(); err != nil {
			s.log.Warn("session governance did not stop cleanly", slog.String("error", err.Error()))
		}
	}
	if s.demo != nil {
		if err := s.demo.close(ctx); err != nil {
			s.log.Warn("demo upstream did not stop cleanly", slog.String("error", err.Error()))
		}
	}
	for _, st := range s.oldStores {
		st.close(s.log)
	}
	if g := s.cur.Load(); g != nil {
		g.stores.close(s.log)
	}
}

func (s *Server) httpServer(base context.Context, h http.Handler) *http.Server {
	sc := s.boot.Server
	return &http.Server{
		Handler:           withHeaderLimit(sc.MaxHeaderBytes, h),
		ReadHeaderTimeout: time.Duration(sc.ReadHeaderTimeout),
		ReadTimeout:       time.Duration(sc.ReadTimeout),
		WriteTimeout:      time.Duration(sc.WriteTimeout),
		IdleTimeout:       time.Duration(sc.IdleTimeout),
		MaxHeaderBytes:    headerReadLimit(sc.MaxHeaderBytes),
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
