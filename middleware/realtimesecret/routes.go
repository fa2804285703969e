package realtimesecret

import (
	"strings"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// route is one mint or broker path and what it serves.
type route struct {
	endpoint Endpoint
	// provider is the route's default provider: nil on /v1/... routes,
	// where the model must be written "provider/model".
	provider *provider
	// scope is the path before the endpoint's own (the prefix, and
	// "/{provider}" on a provider-scoped route), for the Location of a
	// brokered call.
	scope string
}

// routeEndpoints are the endpoints with a fixed path; the hang-ups are
// matched below their creation's path (hangupRoute).
var routeEndpoints = append(contract.Endpoints(), contract.EndpointCall, contract.EndpointLiveSession)

// buildRoutes returns every fixed path: the mint and broker endpoints under
// prefix and under prefix/{name} for every provider. Paths are matched
// exactly.
func buildRoutes(prefix string, providers []*provider) map[string]route {
	routes := make(map[string]route, len(routeEndpoints)*(len(providers)+1))
	for _, ep := range routeEndpoints {
		routes[prefix+ep.Path()] = route{endpoint: ep, scope: prefix}
		for _, p := range providers {
			scope := prefix + "/" + p.name
			routes[scope+ep.Path()] = route{endpoint: ep, provider: p, scope: scope}
		}
	}
	return routes
}

const (
	hangupSuffix = "/hangup"
	attachSuffix = "/attach"
)

// sessionPath splits ".../v1/realtime/calls/{id}<suffix>" (or the Live
// form) into the creation route and the id, for the hang-up and attach
// paths. ok is false unless the rest is a creation route and the id a
// valid session id.
func (h *Handler) sessionPath(path, suffix string) (rt route, id string, ok bool) {
	rest, found := strings.CutSuffix(path, suffix)
	if !found {
		return route{}, "", false
	}
	i := strings.LastIndexByte(rest, '/')
	if i < 0 {
		return route{}, "", false
	}
	rest, id = rest[:i], rest[i+1:]
	rt, ok = h.routes[rest]
	if !ok || (rt.endpoint != contract.EndpointCall && rt.endpoint != contract.EndpointLiveSession) || !validSessionID(id) {
		return route{}, "", false
	}
	return rt, id, true
}

// hangupRoute returns the hang-up route at path and the session id it
// names.
func (h *Handler) hangupRoute(path string) (route, string, bool) {
	rt, id, ok := h.sessionPath(path, hangupSuffix)
	if !ok {
		return route{}, "", false
	}
	rt.endpoint = rt.endpoint.Hangup()
	return rt, id, true
}

// validSessionID reports whether id can be a call or session id: 1 to 128
// letters, digits, '-', '_' or '.'. Ids are written into paths and logs;
// anything else is not an id the provider gave.
func validSessionID(id string) bool {
	if id == "" || len(id) > 128 || id == "." || id == ".." {
		return false
	}
	return validName(id)
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
