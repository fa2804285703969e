package sidecar

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/realtimesecret/realtimesecret/adapters/redisstore"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
)

// Exit codes of Run.
const (
	exitOK    = 0
	exitError = 1 // bad config, or the server failed
	exitUsage = 2 // bad flags, as the flag package does
)

// Run is the realtimesecretd command: it parses args (without the program
// name), loads the config with env, and serves until ctx is done,
// reloading the config on SIGHUP. It returns the process exit code. stdout
// gets the answers of -check and -version, stderr the JSON log and errors.
func Run(ctx context.Context, args []string, env LookupEnv, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("realtimesecretd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "path of the YAML config `file` (required)")
	listen := fs.String("listen", "", "serve on `host:port` instead of the config file's listen (also after a reload)")
	check := fs.Bool("check", false, "validate the config, print the result and exit: 0 valid, 1 not")
	version := fs.Bool("version", false, "print the version and exit")
	requireStore := fs.Bool("require-store", false, "with -check: fail (exit 1) when the store (Redis) cannot be reached, instead of warning")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: realtimesecretd -config FILE [-listen HOST:PORT] [-check [-require-store]]\n\n"+
			"Mints OpenAI Realtime client secrets and proxies everything else to an existing LLM proxy.\n"+
			"SIGHUP reloads FILE; SIGTERM and SIGINT drain and stop.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "realtimesecretd: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return exitUsage
	}
	if *version {
		fmt.Fprintln(stdout, "realtimesecretd", versionString())
		return exitOK
	}
	if *configPath == "" {
		fmt.Fprintln(stderr, "realtimesecretd: -config is required")
		fs.Usage()
		return exitUsage
	}
	if *listen != "" {
		if err := validAddr("-listen", *listen); err != nil {
			fmt.Fprintln(stderr, "realtimesecretd:", err)
			return exitUsage
		}
	}
	loadConfig := func() (*Config, error) { return load(*configPath, env, overrideListen(*listen)) }
	cfg, err := loadConfig()
	if err != nil {
		fmt.Fprintln(stderr, "realtimesecretd:", err)
		return exitError
	}
	if *check {
		return runCheck(cfg, *configPath, *requireStore, stdout, stderr)
	}
	level := new(slog.LevelVar)
	l, _ := slogLevel(cfg.LogLevel) // validated by Load
	level.Set(l)
	log, closeLog := newLogger(stderr, level, time.Duration(*cfg.LogFlushInterval))
	// Deferred, so that every return writes out the buffered lines.
	defer func() {
		if err := closeLog(); err != nil {
			fmt.Fprintln(stderr, "realtimesecretd: writing the log:", err)
		}
	}()
	if err := serve(ctx, cfg, log, level, loadConfig); err != nil {
		log.Error("realtimesecretd failed", slog.String("error", err.Error()))
		return exitError
	}
	return exitOK
}

// overrideListen returns what load applies for -listen: the address, in
// place of the file's listen; nil without the flag.
func overrideListen(addr string) func(*Config) {
	if addr == "" {
		return nil
	}
	return func(c *Config) {
		c.Listen = addr
		c.ix.forget("listen") // an error about it is about the flag, not the file's line
	}
}

// runCheck builds everything a start would, except what listens, so that
// -check fails exactly when a start would. A shared store (Redis) is pinged:
// a start does not need it (mints go on unattributed, see strict_store), so
// an unreachable one is a warning, or with requireStore an error.
func runCheck(cfg *Config, path string, requireStore bool, stdout, stderr io.Writer) int {
	s, err := New(cfg, Options{DemoBaseURL: "http://127.0.0.1"})
	if err != nil {
		fmt.Fprintf(stderr, "realtimesecretd: %s: %v\n", path, err)
		return exitError
	}
	// The ping's failure is reported below, in one line; go-redis's own
	// retry notices would repeat it in another format.
	redis.SetLogger(redisstore.SlogLogger{})
	storeErr := s.pingStore(context.Background())
	s.release(context.Background())
	if storeErr != nil {
		if requireStore {
			fmt.Fprintf(stderr, "realtimesecretd: %s: %v\n", path, storeErr)
			return exitError
		}
		fmt.Fprintf(stderr, "realtimesecretd: %s: warning: %v (%s; -require-store makes this an error)\n",
			path, storeErr, storeDownEffect(cfg))
	}
	for _, w := range cfg.warnings() {
		fmt.Fprintf(stderr, "realtimesecretd: %s: warning: %s\n", path, w)
	}
	fmt.Fprintf(stdout, "%s: OK\n", path)
	printRoutes(stdout, cfg)
	if demo := cfg.DemoProviders(); len(demo) > 0 {
		fmt.Fprintf(stdout, "demo mode: %s would mint at the built-in fake upstream (no key set)\n", strings.Join(demo, ", "))
	}
	return exitOK
}

// serve runs the sidecar for cfg until ctx is done. On SIGHUP it reloads
// the config with reload (the file read again) and swaps it in; a config
// that does not load or build is logged in one line and the running one
// stays.
func serve(ctx context.Context, cfg *Config, log *slog.Logger, level *slog.LevelVar, reload func() (*Config, error)) error {
	// Registered first: once the sidecar has said it listens, SIGHUP
	// reloads it; without a handler it would kill the process, losing the
	// buffered log and every request in flight.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	// go-redis prints its own notices (pool, reconnects) as plain text on
	// stderr; they go into the JSON log instead. Process-wide, so set here
	// and not in New, which tests call many times.
	redis.SetLogger(redisstore.SlogLogger{Logger: log, Level: slog.LevelWarn})
	s, err := New(cfg, Options{Logger: log, Level: level})
	if err != nil {
		return err
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", cfg.Listen)
	if err != nil {
		s.release(ctx)
		return err
	}
	var adminLn net.Listener
	if cfg.Admin.Listen != "" {
		if adminLn, err = lc.Listen(ctx, "tcp", cfg.Admin.Listen); err != nil {
			_ = ln.Close()
			s.release(ctx)
			return err
		}
	}
	s.logStart(ln, adminLn)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { s.warnStoreDown(stop) })
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			case <-hup:
				s.reloadWith(reload)
			}
		}
	})
	err = s.Serve(ctx, ln, adminLn)
	// Nothing may log after Run has closed the log.
	close(stop)
	wg.Wait()
	return err
}

// reloadWith loads a config with load and swaps it in (Reload); when
// either fails, one WARN line says why and the running config stays.
func (s *Server) reloadWith(load func() (*Config, error)) {
	s.log.Info("SIGHUP: reloading the config")
	cfg, err := load()
	if err == nil {
		err = s.Reload(cfg)
	}
	if err != nil {
		// Load's and build's errors name keys, lines and variables,
		// never a value.
		s.log.Warn("config not reloaded: the running config stays", slog.String("error", err.Error()))
	}
}

// warnStoreDown pings a shared store once at start and warns when it does
// not answer: the sidecar serves without it (see strict_store), but
// attribution and shared limits wait for it. It gives up when stop closes.
func (s *Server) warnStoreDown(stop <-chan struct{}) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	if err := s.pingStore(ctx); err != nil && ctx.Err() == nil {
		s.log.Warn("store unreachable at start: "+err.Error(), slog.String("effect", storeDownEffect(s.config())))
	}
}

// logStart logs what the sidecar serves, and warns about the modes that
// must not go unnoticed.
func (s *Server) logStart(ln, adminLn net.Listener) {
	cfg := s.config()
	upstream := "none (404 for every other path)"
	if u, err := url.Parse(cfg.Upstream); err == nil && cfg.Upstream != "" {
		upstream = u.Redacted()
	}
	admin := ln.Addr().String()
	if adminLn != nil {
		admin = adminLn.Addr().String()
	}
	s.log.Info("realtimesecretd listening",
		slog.String("addr", ln.Addr().String()),
		slog.String("admin_addr", admin),
		slog.String("version", versionString()),
		slog.String("upstream", upstream),
		slog.String("path_prefix", cfg.PathPrefix),
		slog.Any("providers", cfg.providerOrder),
		slog.Int("virtual_keys", len(cfg.VirtualKeys)),
		slog.String("store", cfg.Store.Type),
		slog.Bool("sealed_tokens", len(cfg.SealKeys) > 0),
		slog.Bool("usage_metering", cfg.UsageMetering),
		slog.Bool("admin_api", cfg.Admin.Token != ""),
	)
	logRoutes(s.log, cfg)
	for _, w := range cfg.warnings() {
		s.log.Warn(w)
	}
	if cfg.AllowAnonymous {
		s.log.Warn("minting is open: allow_anonymous is true and there are no virtual keys, so anyone who reaches " +
			ln.Addr().String() + " can mint with the provider keys; put authentication in front")
	}
	if s.demo != nil {
		s.log.Warn("demo mode: the providers below have no key and mint at the built-in fake upstream; "+
			"their ek_ values work nowhere. Set the provider key variable to mint for real",
			slog.Any("providers", cfg.DemoProviders()), slog.String("fake_upstream", s.demo.url))
	}
}

func slogLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("log_level %q: want debug, info, warn or error", s)
}

// checkStoreTimeout bounds the store ping of -check and of the start.
const checkStoreTimeout = 3 * time.Second

// pingStore reports whether a shared store answers; the in-process store
// always does. The error names the store's host and port, never its URL,
// which may hold a password: "redis at 10.0.0.5:6379 did not answer within
// 250ms".
func (s *Server) pingStore(ctx context.Context) error {
	g := s.cur.Load()
	sc := g.cfg.Store
	if sc.Type == "memory" {
		return nil
	}
	// The store bounds each call, the ping too, by its own timeout.
	limit := time.Duration(sc.Timeout)
	if limit <= 0 {
		limit = redisstore.DefaultTimeout
	}
	limit = min(limit, checkStoreTimeout)
	ctx, cancel := context.WithTimeout(ctx, checkStoreTimeout)
	defer cancel()
	err := pingerOf(g.stores.store).Ping(ctx)
	if err == nil {
		return nil
	}
	where := sc.Type + " at " + redisAddress(sc.URL)
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return fmt.Errorf("%s did not answer within %s", where, limit)
	}
	return fmt.Errorf("%s is not reachable: %s", where, strings.TrimPrefix(err.Error(), "redisstore: ping: "))
}

// redisAddress returns where a Redis URL points, without its user,
// password or database: "host:port", or the socket's path.
func redisAddress(u realtimesecret.Secret) string {
	parsed, err := url.Parse(u.Reveal())
	switch {
	case err != nil:
		return "the configured address"
	case parsed.Scheme == "unix":
		return parsed.Path
	case parsed.Port() == "":
		return parsed.Hostname() + ":6379"
	}
	return parsed.Host
}

// storeDownEffect says what mints do while the store is down.
func storeDownEffect(cfg *Config) string {
	if cfg.StrictStore {
		return "strict_store is true: mints would fail with 503 until it answers"
	}
	return "mints would go on unattributed and virtual key rate limits would not be enforced until it answers"
}
