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

// built is a Config turned into the core's config and the pieces the
// sidecar serves beside it.
type built struct {
	core    realtimesecret.Config
	store   contract.Store // metered by metrics
	metrics *metrics
	// closers release what the store holds (connections), after the
	// server has drained.
	closers []io.Closer
}

// build turns cfg into the core's configuration. demoBaseURL is where the
// demo providers (cfg.DemoProviders) send their mints.
func build(cfg *Config, demoBaseURL string, log *slog.Logger) (*built, error) {
	b := &built{}
	store, limiter, err := buildStore(cfg)
	if err != nil {
		return nil, err
	}
	if c, ok := store.(io.Closer); ok {
		b.closers = append(b.closers, c)
	}
	b.metrics = newMetrics()
	b.store = b.metrics.Store(store)
	if limiter != nil {
		limiter = b.metrics.RateLimiter(limiter)
	}
	sealKeys, err := decodeSealKeys(cfg.SealKeys)
	if err != nil {
		return nil, err
	}
	// The registry is the store's when it is one (Redis), so that leases,
	// caps and revocation hold across sidecars; the sessions-in-flight
	// gauge reads it too.
	registry, ok := store.(contract.SessionRegistry)
	if !ok {
		registry = memory.NewSessionRegistry()
	}
	b.core = realtimesecret.Config{
		PathPrefix:         cfg.PathPrefix,
		DefaultProvider:    cfg.DefaultProvider,
		VirtualKeyHeader:   cfg.VirtualKeyHeader,
		MaxBodyBytes:       cfg.MaxBodyBytes,
		ForwardHeaders:     cfg.ForwardHeaders,
		Store:              b.store,
		RateLimiter:        limiter,
		StrictStore:        cfg.StrictStore,
		GovernanceFailOpen: cfg.GovernanceFailOpen,
		SessionLifetime:    time.Duration(cfg.SessionLifetime),
		SessionRegistry:    registry,
		OnMint:             b.metrics.OnMint,
		OnSession:          b.metrics.OnSession,
		OnRedeem:           b.metrics.OnRedeem,
		UsageMetering:      cfg.UsageMetering,
		OnUsage:            b.metrics.OnUsage,
		SealKeys:           sealKeys,
		Logger:             log,
	}
	for _, name := range cfg.providerOrder {
		pc, err := buildProvider(cfg, name, demoBaseURL)
		if err != nil {
			return nil, err
		}
		b.core.Providers = append(b.core.Providers, pc)
	}
	// The virtual keys are the principals: their ids label the usage and
	// in-flight metrics.
	var principals []string
	for _, vk := range cfg.VirtualKeys {
		principals = append(principals, vk.ID)
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

			GovernanceFailOpen: vk.GovernanceFailOpen,
		})
	}
	if len(principals) == 0 {
		principals = []string{""} // allow_anonymous: one principal without an id
	}
	b.metrics.LabelVirtualKeys(principals...)
	b.metrics.SessionsInFlight(registry, principals...)
	return b, nil
}

func buildProvider(cfg *Config, name, demoBaseURL string) (realtimesecret.ProviderConfig, error) {
	p := cfg.Providers[name]
	demo := cfg.isDemo(p)
	pc := realtimesecret.ProviderConfig{Name: name, Aliases: p.Aliases, UsageMetering: p.UsageMetering}
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

// buildStore returns the token store and, for shared stores, the rate
// limiter that goes with it (nil: the core's in-process one).
func buildStore(cfg *Config) (contract.Store, contract.RateLimiter, error) {
	switch cfg.Store.Type {
	case "memory":
		return memory.NewStore(), nil, nil
	case "redis":
		// One Store is both: the rate limits then live beside the records,
		// shared by every sidecar on the same Redis and prefix.
		s, err := redisstore.NewFromURL(cfg.Store.URL.Reveal(), redisstore.Options{
			Prefix:  cfg.Store.Prefix,
			Timeout: time.Duration(cfg.Store.Timeout),
		})
		if err != nil {
			return nil, nil, fmt.Errorf("store.url: %w", err)
		}
		return s, s, nil
	default:
		return nil, nil, fmt.Errorf("store.type %q: want memory or redis", cfg.Store.Type)
	}
}
