package realtimesecret

import "strings"

// route is one mint path and what it serves.
type route struct {
	endpoint Endpoint
	// provider is the route's default provider: nil on /v1/... routes,
	// where the model must be written "provider/model".
	provider *provider
}

// buildRoutes returns every mint path: the four endpoints under prefix and
// under prefix/{name} for every provider. Paths are matched exactly.
func buildRoutes(prefix string, providers []*provider) map[string]route {
	routes := make(map[string]route, 4*(len(providers)+1))
	for _, ep := range Endpoints() {
		routes[prefix+ep.Path()] = route{endpoint: ep}
		for _, p := range providers {
			routes[prefix+"/"+p.name+ep.Path()] = route{endpoint: ep, provider: p}
		}
	}
	return routes
}

// splitModel resolves "provider/model". The prefix counts only when it
// names a configured provider; otherwise the whole string is the model
// ("ft:gpt-4o:org/x", or an OpenAI-compatible vendor's "org/model") and the
// route's provider applies, or on /v1/... routes Config.DefaultProvider.
func (h *Handler) splitModel(rt route, raw, param string) (*provider, string, *Error) {
	def := rt.provider
	if def == nil {
		def = h.defaultProvider
	}
	if name, model, ok := strings.Cut(raw, "/"); ok {
		if p := h.providers[name]; p != nil {
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
			quote(h.exampleProvider+"/gpt-realtime"), param, "missing_provider")
	}
	return def, raw, nil
}
