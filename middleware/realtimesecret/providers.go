package realtimesecret

import (
	"slices"
	"strings"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// provider is a configured provider with its keys, and what its adapter
// can do beyond minting, found by type assertion.
type provider struct {
	name    string
	adapter contract.Provider
	broker  contract.SessionBroker  // adapter, when it brokers sessions; nil otherwise
	watcher contract.SessionWatcher // adapter, when it attaches sidebands; nil otherwise
	metered bool                    // its brokered sessions are metered (watcher is set)
	keys    []Key
	// forwardBeta sends beta mints to the provider as they are
	// (ProviderConfig.Beta); otherwise they are translated onto GA.
	forwardBeta bool
	// own are the endpoints of the provider's own API (ProviderEndpoints),
	// routed under its scope only; nil for most.
	own []Endpoint
	// renderer writes the errors of its own endpoints; nil: OpenAI's shape.
	renderer contract.ErrorRenderer
	// format is how its client secrets are presented; nil: OpenAI's only.
	format *contract.SecretFormat
}

// serves reports whether ep is one of the provider's own endpoints.
func (p *provider) serves(ep Endpoint) bool {
	for _, e := range p.own {
		if e == ep {
			return true
		}
	}
	return false
}

// key returns the provider's key with id, or nil.
func (p *provider) key(id string) *Key {
	for i := range p.keys {
		if p.keys[i].ID == id {
			return &p.keys[i]
		}
	}
	return nil
}

// providers are the configured providers by name.
type providers struct {
	byName map[string]*provider
	list   []*provider // in Config order
	// def is Config.DefaultProvider; nil without one.
	def *provider
}

func newProviders(cfg *Config) *providers {
	ps := &providers{byName: make(map[string]*provider, len(cfg.Providers))}
	for i := range cfg.Providers {
		pc := &cfg.Providers[i]
		p := &provider{name: pc.Name, adapter: pc.Provider, keys: cloneKeys(pc.Keys, pc.Aliases)}
		p.broker, _ = pc.Provider.(contract.SessionBroker)
		p.watcher, _ = pc.Provider.(contract.SessionWatcher)
		p.metered = p.watcher != nil && pc.metered(cfg)
		p.forwardBeta = pc.forwardsBeta()
		if pe, ok := pc.Provider.(contract.ProviderEndpoints); ok {
			p.own = ownEndpoints(pe.ProviderEndpoints())
		}
		p.renderer, _ = pc.Provider.(contract.ErrorRenderer)
		if sf, ok := pc.Provider.(contract.SecretFormatter); ok {
			f := sf.SecretFormat()
			p.format = &f
		}
		ps.byName[p.name] = p
		ps.list = append(ps.list, p)
	}
	ps.def = ps.byName[cfg.DefaultProvider] // nil for ""
	return ps
}

// ownEndpoints keeps the endpoints a provider may serve under its scope:
// those that are not already routed for every provider (the OpenAI mints
// and sessions) and have a path.
func ownEndpoints(list []Endpoint) []Endpoint {
	var out []Endpoint
	for _, e := range list {
		if e.Path() != "" && !e.IsSession() && !slices.Contains(contract.Endpoints(), e) && !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	return out
}

// anyMetered reports whether some provider's sessions are metered.
func (ps *providers) anyMetered() bool {
	for _, p := range ps.list {
		if p.metered {
			return true
		}
	}
	return false
}

// splitModel resolves "provider/model". The prefix counts only when it
// names a configured provider; otherwise the whole string is the model
// ("ft:gpt-4o:org/x", or an OpenAI-compatible vendor's "org/model") and the
// provider the route is scoped to applies, or on /v1/... routes
// Config.DefaultProvider.
func (ps *providers) splitModel(scoped *provider, raw, param string) (*provider, string, *Error) {
	def := scoped
	if def == nil {
		def = ps.def
	}
	if name, model, ok := strings.Cut(raw, "/"); ok {
		if p := ps.byName[name]; p != nil {
			if model == "" {
				return nil, "", badRequest(param+" names provider "+quote(name)+" but no model", param, "missing_model")
			}
			return p, model, nil
		}
		if def == nil {
			return nil, "", badRequest("provider "+quote(name)+" in "+param+" is not configured", param, "unknown_provider")
		}
	}
	if def == nil {
		return nil, "", badRequest(param+" must be written provider/model on this route, for example "+
			quote(ps.list[0].name+"/gpt-realtime"), param, "missing_provider")
	}
	return def, raw, nil
}
