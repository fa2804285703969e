package sidecar

import (
	"errors"
	"log/slog"
	"reflect"
	"strings"
	"time"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/memory"
)

// errReleased is Reload's error once the Server has shut down.
var errReleased = errors.New("the server has shut down")

// Reload replaces the running config with cfg, atomically: requests that
// arrive after it returns use cfg's providers, virtual keys and limits;
// requests in flight finish with the config they started with. A cfg that
// cannot be built leaves the running config in place and is the error.
//
// What sessions depend on survives: the store, the rate limiter and the
// session registry are kept when cfg's store section is the same, so
// records, rate budgets, leases and caps go on. The core Handler that
// created a session keeps metering it and enforcing its cap until it ends:
// a replaced Handler is not closed until shutdown (see prune). Hang-ups and
// revocations go through the new Handler, which ends a session with the
// key that created it, looked up by provider and key id in cfg.
//
// The listeners and the HTTP servers keep the values they started with:
// listen, admin.listen, server.* and log_flush_interval changed in cfg are
// logged as needing a restart, and cfg is applied with the running values.
// Run calls Reload on SIGHUP with the file read again.
func (s *Server) Reload(cfg *Config) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.released {
		return errReleased
	}
	restart := s.keepStartValues(cfg)
	if err := cfg.validate(); err != nil {
		return err
	}
	old := s.cur.Load()
	g, err := s.assemble(cfg, old.stores)
	if err != nil {
		return err
	}
	s.cur.Store(g)
	old.retiredAt = time.Now()
	s.retired = append(s.retired, old)
	if g.stores != old.stores {
		// The retired Handlers still read and write the old store.
		s.oldStores = append(s.oldStores, old.stores)
	}
	s.prune(time.Now())
	if s.opts.Level != nil {
		level, _ := slogLevel(cfg.LogLevel) // validated
		s.opts.Level.Set(level)
	}
	s.log.Info("config reloaded",
		slog.Any("providers", cfg.providerOrder),
		slog.Int("virtual_keys", len(cfg.VirtualKeys)),
		slog.String("store", cfg.Store.Type),
		slog.Bool("store_kept", g.stores == old.stores),
		slog.Bool("admin_api", cfg.Admin.Token != ""),
		slog.Int("retired_handlers", len(s.retired)),
	)
	if g.stores != old.stores {
		s.log.Warn("config reloaded with another store: tokens minted and sessions created before the reload are not in it, " +
			"so they are no longer attributed or hung up through this sidecar; their leases stay in the old store")
	}
	if len(restart) > 0 {
		s.log.Warn("config reloaded, but "+strings.Join(restart, ", ")+" changed: these apply only after a restart; the running values stay",
			slog.Any("keys", restart))
	}
	for _, w := range cfg.warnings() {
		s.log.Warn(w)
	}
	return nil
}

// keepStartValues sets in cfg the values of the keys a running server
// cannot change (its listeners, its HTTP servers' limits, the log's
// buffering) to those it started with, and returns the keys whose values
// differed.
func (s *Server) keepStartValues(cfg *Config) []string {
	var changed []string
	if cfg.Listen != s.boot.Listen {
		changed = append(changed, "listen")
		cfg.Listen = s.boot.Listen
	}
	if cfg.Admin.Listen != s.boot.Admin.Listen {
		changed = append(changed, "admin.listen")
		cfg.Admin.Listen = s.boot.Admin.Listen
	}
	if cfg.Server != s.boot.Server {
		changed = append(changed, "server")
		cfg.Server = s.boot.Server
	}
	if !reflect.DeepEqual(cfg.LogFlushInterval, s.boot.LogFlushInterval) {
		changed = append(changed, "log_flush_interval")
		cfg.LogFlushInterval = s.boot.LogFlushInterval
	}
	return changed
}

// prune closes the retired generations that can no longer matter: with a
// shared session registry (Redis) the current Handler's cap loop enforces
// every cap in it, so a retired Handler that meters no session and can
// have no creation in flight (it was replaced longer ago than a request
// may take) is closed, stopping its cap loop, which polls the registry.
// With the in-process registry a Handler runs no goroutine once its
// sessions are done, and its pending caps are its own to enforce: it is
// kept until shutdown.
func (s *Server) prune(now time.Time) {
	inFlight := time.Duration(s.boot.Server.ReadTimeout) + time.Duration(s.boot.Server.WriteTimeout)
	kept := s.retired[:0]
	for _, g := range s.retired {
		_, local := g.stores.registry.(*memory.SessionRegistry)
		if local || g.core.MeteredSessions() > 0 || now.Sub(g.retiredAt) < inFlight {
			kept = append(kept, g)
			continue
		}
		_ = g.core.Close()
	}
	clear(s.retired[len(kept):])
	s.retired = kept
}
