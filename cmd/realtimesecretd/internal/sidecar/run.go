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
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/realtimesecret/realtimesecret/adapters/redisstore"
)

// Exit codes of Run.
const (
	exitOK    = 0
	exitError = 1 // bad config, or the server failed
	exitUsage = 2 // bad flags, as the flag package does
)

// Run is the realtimesecretd command: it parses args (without the program
// name), loads the config with env, and serves until ctx is done. It
// returns the process exit code. stdout gets the answers of -check and
// -version, stderr the JSON log and errors.
func Run(ctx context.Context, args []string, env LookupEnv, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("realtimesecretd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "path of the YAML config `file` (required)")
	check := fs.Bool("check", false, "validate the config, print the result and exit: 0 valid, 1 not")
	version := fs.Bool("version", false, "print the version and exit")
	requireStore := fs.Bool("require-store", false, "with -check: fail (exit 1) when the store (Redis) cannot be reached, instead of warning")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: realtimesecretd -config FILE [-check [-require-store]]\n\n"+
			"Mints OpenAI Realtime client secrets and proxies everything else to an existing LLM proxy.\n\n")
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
	cfg, err := Load(*configPath, env)
	if err != nil {
		fmt.Fprintln(stderr, "realtimesecretd:", err)
		return exitError
	}
	if *check {
		return runCheck(cfg, *configPath, *requireStore, stdout, stderr)
	}
	level, _ := slogLevel(cfg.LogLevel) // validated by Load
	log, closeLog := newLogger(stderr, level, time.Duration(*cfg.LogFlushInterval))
	// Deferred, so that every return writes out the buffered lines.
	defer func() {
		if err := closeLog(); err != nil {
			fmt.Fprintln(stderr, "realtimesecretd: writing the log:", err)
		}
	}()
	if err := serve(ctx, cfg, log); err != nil {
		log.Error("realtimesecretd failed", slog.String("error", err.Error()))
		return exitError
	}
	return exitOK
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
	if demo := cfg.DemoProviders(); len(demo) > 0 {
		fmt.Fprintf(stdout, "demo mode: %s would mint at the built-in fake upstream (no key set)\n", strings.Join(demo, ", "))
	}
	return exitOK
}

func serve(ctx context.Context, cfg *Config, log *slog.Logger) error {
	// go-redis prints its own notices (pool, reconnects) as plain text on
	// stderr; they go into the JSON log instead. Process-wide, so set here
	// and not in New, which tests call many times.
	redis.SetLogger(redisstore.SlogLogger{Logger: log, Level: slog.LevelWarn})
	s, err := New(cfg, Options{Logger: log})
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
	return s.Serve(ctx, ln, adminLn)
}

// logStart logs what the sidecar serves, and warns about the modes that
// must not go unnoticed.
func (s *Server) logStart(ln, adminLn net.Listener) {
	cfg := s.cfg
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

// checkStoreTimeout bounds the store ping of -check.
const checkStoreTimeout = 3 * time.Second

// pingStore reports whether a shared store answers; the in-process store
// always does. The error names the store, never its URL.
func (s *Server) pingStore(ctx context.Context) error {
	if s.cfg.Store.Type == "memory" {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, checkStoreTimeout)
	defer cancel()
	if err := pingerOf(s.built.store).Ping(ctx); err != nil {
		return fmt.Errorf("store (%s) is not reachable: %w", s.cfg.Store.Type, err)
	}
	return nil
}

// storeDownEffect says what mints do while the store is down.
func storeDownEffect(cfg *Config) string {
	if cfg.StrictStore {
		return "strict_store is true: mints would fail with 503 until it answers"
	}
	return "mints would go on unattributed and virtual key rate limits would not be enforced until it answers"
}
