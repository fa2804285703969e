package sidecar

import (
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/realtimesecret/realtimesecret/adapters/openai"
	"github.com/realtimesecret/realtimesecret/adapters/redisstore"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/memory"
)

// demoKey is the provider key a demo provider sends to the fake upstream.
const demoKey realtimesecret.Secret = "sk-demo-not-secret"

// built is a Config turned into the core's config, with the stores it
// uses.
type built struct {
	core   realtimesecret.Config
	stores *stores
}

// stores are what a reload keeps when the file's store section did not
// change, so that nothing a running session or a caller's budget depends
// on is lost: the token and session records, the rate limiter's state and
// the session registry (leases, caps). With Redis they are one client.
type stores struct {
	cfg      StoreConfig
	store    contract.Store       // metered by metrics
	limiter  contract.RateLimiter // metered by metrics
	registry contract.SessionRegistry
	// closers release what the store holds (connections), after the
	// server has drained.
	closers []io.Closer
}

// close releases the stores' connections.
func (st *stores) close(log *slog.Logger) {
	for _, c := range st.closers {
		if err := c.Close(); err != nil {
			log.Warn("store did not close cleanly", slog.String("error", err.Error()))
		}
	}
}

// sameStore reports whether a and b configure the same store, so that a
// reload keeps it. The in-process store ignores url, prefix and timeout.
func sameStore(a, b StoreConfig) bool {
	if a.Type != b.Type {
		return false
	}
	return a.Type == "memory" || (a.URL == b.URL && a.Prefix == b.Prefix && a.Timeout == b.Timeout)
}

// build turns cfg into the core's configuration. demoBaseURL is where the
// demo providers (cfg.DemoProviders) send their mints. The stores of prev
// are used when cfg configures the same store; otherwise new ones are
// made. m counts what the core reports.
func build(cfg *Config, demoBaseURL string, log *slog.Logger, m *metrics, prev *stores) (*built, error) {
	st := prev
	if st == nil || !sameStore(st.cfg, cfg.Store) {
		var err error
		if st, err = buildStores(cfg.Store, m); err != nil {
			return nil, err
		}
	}
	b := &built{stores: st}
	sealKeys, err := decodeSealKeys(cfg.SealKeys)
	if err != nil {
		b.discard(prev, log)
		return nil, err
	}
	b.core = realtimesecret.Config{
		PathPrefix:       cfg.PathPrefix,
		DefaultProvider:  cfg.DefaultProvider,
		VirtualKeyHeader: cfg.VirtualKeyHeader,
		MaxBodyBytes:     cfg.MaxBodyBytes,
		ForwardHeaders:   cfg.ForwardHeaders,
		Store:            st.store,
		RateLimiter:      st.limiter,
		StrictStore:      cfg.StrictStore,
		SessionLifetime:  time.Duration(cfg.SessionLifetime),
		SessionRegistry:  st.registry,
		OnMint:           m.OnMint,
		OnSession:        m.OnSession,
		OnRedeem:         m.OnRedeem,
		UsageMetering:    cfg.UsageMetering,
		OnUsage:          m.OnUsage,
		Prices:           cfg.corePrices(),
		// Budgets and session limits fail closed unless the file says.
		GovernanceFailOpen:    cfg.GovernanceFailOpen,
		SidebandAttachTimeout: time.Duration(cfg.SidebandAttachTimeout),
		AdoptAfter:            time.Duration(cfg.AdoptAfter),
		SealKeys:              sealKeys,
		Logger:                log,
	}
	for _, name := range cfg.providerOrder {
		pc, err := buildProvider(cfg, name, demoBaseURL)
		if err != nil {
			b.discard(prev, log)
			return nil, err
		}
		b.core.Providers = append(b.core.Providers, pc)
	}
	for _, vk := range cfg.VirtualKeys {
		b.core.VirtualKeys = append(b.core.VirtualKeys, realtimesecret.VirtualKey{
			ID:          vk.ID,
			Value:       vk.Value,
			Disabled:    vk.Active != nil && !*vk.Active,
			Providers:   vk.Providers,
			Models:      vk.Models,
			MaxTTL:      time.Duration(vk.MaxTTL),
			RateLimit:   realtimesecret.Rate{Requests: vk.RateLimit.Requests, Per: time.Duration(vk.RateLimit.Per)},
			MaxSession:  time.Duration(vk.MaxSession),
			MaxSessions: int(vk.MaxSessions),
			MaxUses:     int(vk.MaxUses),
			// The spend governance (spend.go).
			GovernanceFailOpen:  vk.GovernanceFailOpen,
			Budget:              vk.Budget.core(),
			AllowUnmeteredMints: vk.AllowUnmeteredMints,
			SingleUse:           vk.SingleUse,
		})
	}
	if err := b.buildAuth(cfg, log); err != nil { // auth.jwt (auth.go)
		b.discard(prev, log)
		return nil, err
	}
	return b, nil
}

// discard closes the stores build made for a config that failed after
// them; those of prev are still in use.
func (b *built) discard(prev *stores, log *slog.Logger) {
	if b.stores != prev {
		b.stores.close(log)
	}
}

// label points the metrics at b: its virtual key ids (the principals)
// label the usage and in-flight metrics, read from its registry.
func (b *built) label(cfg *Config, m *metrics) {
	var principals []string
	for _, vk := range cfg.VirtualKeys {
		principals = append(principals, vk.ID)
	}
	if len(principals) == 0 {
		principals = []string{""} // allow_anonymous: one principal without an id
	}
	m.LabelVirtualKeys(principals...)
	m.SessionsInFlight(b.stores.registry, principals...)
}

func buildProvider(cfg *Config, name, demoBaseURL string) (realtimesecret.ProviderConfig, error) {
	p := cfg.Providers[name]
	demo := cfg.isDemo(p)
	pc := realtimesecret.ProviderConfig{Name: name, Aliases: p.Aliases, UsageMetering: p.UsageMetering, Beta: p.Beta}
	switch p.Type {
	case "openai":
		base := p.BaseURL
		if demo {
			base = demoBaseURL
		}
		adapter, err := openai.New(openai.Config{
			BaseURL:          base,
			Timeout:          time.Duration(p.Timeout),
			MaxResponseBytes: p.MaxResponseBytes,
		})
		if err != nil {
			return pc, fmt.Errorf("providers.%s: %w", name, err)
		}
		pc.Provider = adapter
	case "azure":
		adapter, err := buildAzure(p)
		if err != nil {
			return pc, fmt.Errorf("providers.%s: %w", name, err)
		}
		pc.Provider = adapter
	case "xai", "gemini":
		adapter, err := buildVoice(p)
		if err != nil {
			return pc, fmt.Errorf("providers.%s: %w", name, err)
		}
		pc.Provider = adapter
	default:
		return pc, fmt.Errorf("providers.%s: unknown type %q", name, p.Type)
	}
	for _, k := range p.Keys {
		key := realtimesecret.Key{
			ID:            k.ID,
			Value:         k.Value,
			Models:        k.Models,
			BlockedModels: k.BlockedModels,
			Disabled:      k.Enabled != nil && !*k.Enabled,
			Aliases:       k.Aliases,
		}
		if k.Weight != nil {
			key.Weight = *k.Weight
		}
		if k.BearerToken != "" { // azure; buildAzure sends it as a bearer token
			key.Value = k.BearerToken
		}
		if demo {
			key.Value = demoKey
		}
		pc.Keys = append(pc.Keys, key)
	}
	return pc, nil
}

// buildStores makes the store, the rate limiter and the session registry
// for sc, metered by m. The in-process ones are made here, not left to the
// core, so that a reload can keep them.
func buildStores(sc StoreConfig, m *metrics) (*stores, error) {
	st := &stores{cfg: sc}
	switch sc.Type {
	case "memory":
		st.store = m.Store(memory.NewStore())
		st.limiter = m.RateLimiter(memory.NewRateLimiter(nil))
		// Unwrapped: the core runs the cap loop only while a cap is
		// pending when it recognises the in-process registry.
		st.registry = memory.NewSessionRegistry()
	case "redis":
		// One Store is all three: the rate limits, leases and caps then
		// live beside the records, shared by every sidecar on the same
		// Redis and prefix.
		s, err := redisstore.NewFromURL(sc.URL.Reveal(), redisstore.Options{
			Prefix:  sc.Prefix,
			Timeout: time.Duration(sc.Timeout),
		})
		if err != nil {
			return nil, fmt.Errorf("store.url: %w", err)
		}
		st.store, st.limiter, st.registry = m.Store(s), m.RateLimiter(s), s
		st.closers = append(st.closers, s)
	default:
		return nil, fmt.Errorf("store.type %q: want memory or redis", sc.Type)
	}
	return st, nil
}
