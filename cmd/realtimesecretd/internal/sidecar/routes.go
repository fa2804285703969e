package sidecar

import (
	"strings"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// routeEndpoints are the endpoints the core answers on a fixed path: the
// four mints and the two brokered session creations. The hang-ups are
// below a creation's path, with the session id in it (isHangupPath).
func routeEndpoints() []realtimesecret.Endpoint {
	return append(contract.Endpoints(), contract.EndpointCall, contract.EndpointLiveSession)
}

// fixedRoutes returns every fixed path the core answers for cfg, as it
// matches them: exactly, under the prefix and under prefix/{provider}, and
// a gemini provider's auth tokens under its name.
func fixedRoutes(cfg *Config) map[string]bool {
	prefix := strings.TrimSuffix(cfg.PathPrefix, "/")
	paths := map[string]bool{}
	for _, e := range routeEndpoints() {
		paths[prefix+e.Path()] = true
		for name := range cfg.Providers {
			paths[prefix+"/"+name+e.Path()] = true
		}
	}
	for name, p := range cfg.Providers {
		if p.Type == "gemini" { // Google's own route, under its scope only
			paths[prefix+"/"+name+contract.EndpointAuthToken.Path()] = true
		}
	}
	return paths
}

// isHangupPath reports whether path is a hang-up route of the session
// creation routes in fixed: {creation}/{id}/hangup, with an id the core
// accepts (1 to 128 letters, digits, '-', '_' or '.').
func isHangupPath(fixed map[string]bool, path string) bool {
	rest, ok := strings.CutSuffix(path, "/hangup")
	if !ok {
		return false
	}
	i := strings.LastIndexByte(rest, '/')
	if i < 0 {
		return false
	}
	collection, id := rest[:i], rest[i+1:]
	if !validSessionID(id) || !fixed[collection] {
		return false
	}
	return strings.HasSuffix(collection, contract.EndpointCall.Path()) ||
		strings.HasSuffix(collection, contract.EndpointLiveSession.Path())
}

// validSessionID is the core's rule for a call or session id.
func validSessionID(id string) bool {
	if id == "" || len(id) > 128 || id == "." || id == ".." {
		return false
	}
	for _, c := range []byte(id) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}
