package realtimesecret

import (
	"net/http"
	"strings"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// route is one mint or session path and what it serves.
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

// A refKind is what a path means to the middleware.
type refKind uint8

const (
	refNone     refKind = iota // passed through as it is
	refRoute                   // a mint or session creation route: answered
	refHangup                  // {creation path}/{id}/hangup: answered
	refAttach                  // {Live path}/{id}/attach: attributed to the session
	refRealtime                // {scope}/v1/realtime?call_id={id}: attributed to the call
)

// answered reports whether the middleware answers requests of kind k.
func (k refKind) answered() bool { return k == refRoute || k == refHangup }

// A match is a path's meaning: its kind, its route (for a session
// reference, the route that creates such sessions, with the provider the
// path is scoped to) and the session id it names.
type match struct {
	kind  refKind
	route route
	id    string
}

// sessionSubpaths are the paths below a brokered session,
// {creation path}/{id}{suffix}. Adding one is one entry: the table marks
// its last byte for the quick reject, and match finds it.
var sessionSubpaths = [...]struct {
	suffix string
	kind   refKind
	// creation is the only endpoint whose sessions have the subpath; 0
	// means both.
	creation Endpoint
}{
	{suffix: "/hangup", kind: refHangup},
	{suffix: "/attach", kind: refAttach, creation: contract.EndpointLiveSession},
}

// realtimePath is the Realtime WebSocket path; a sideband connects to it
// with ?call_id= naming a brokered call.
const realtimePath = "/v1/realtime"

// routeEndpoints are the endpoints with a fixed path: the mints and the
// session creations.
var routeEndpoints = append(contract.Endpoints(), contract.EndpointCall, contract.EndpointLiveSession)

// routeTable is every path the middleware answers or attributes, compiled
// once by newRouteTable. It owns the quick reject of pass-through traffic
// (passes), the route lookup and the session references (match).
type routeTable struct {
	fixed map[string]route // mint and creation paths, matched exactly
	// lens has bit n set when a fixed path is n bytes long (n < 256).
	lens [4]uint64
	// realtime maps the WebSocket paths, {scope}/v1/realtime, to the
	// provider they are scoped to (nil: unscoped).
	realtime map[string]*provider
	// tails has bit b set when a path of no fixed length (a session
	// subpath, the WebSocket path) can end in the byte b.
	tails [4]uint64
	// formats recognizes the client secrets of providers that present
	// them other than as OpenAI does; nil when none does.
	formats *secretFormats
}

// newRouteTable compiles the paths under prefix and under prefix/{name}
// for every provider, with the endpoints of a provider's own API under its
// name only.
func newRouteTable(prefix string, list []*provider) *routeTable {
	t := &routeTable{
		fixed:    make(map[string]route, len(routeEndpoints)*(len(list)+1)),
		realtime: make(map[string]*provider, len(list)+1),
	}
	scopes := []route{{scope: prefix}}
	for _, p := range list {
		scopes = append(scopes, route{provider: p, scope: prefix + "/" + p.name})
	}
	for _, s := range scopes {
		for _, ep := range routeEndpoints {
			rt := s
			rt.endpoint = ep
			t.fixed[s.scope+ep.Path()] = rt
		}
		if s.provider != nil {
			// The endpoints of the provider's own API exist under its
			// scope only.
			for _, ep := range s.provider.own {
				rt := s
				rt.endpoint = ep
				t.fixed[s.scope+ep.Path()] = rt
			}
		}
		t.realtime[s.scope+realtimePath] = s.provider
	}
	t.formats = newSecretFormats(list)
	for path := range t.fixed {
		if n := len(path); n < 256 {
			setBit(&t.lens, n)
		}
	}
	for _, sub := range sessionSubpaths {
		setBit(&t.tails, int(sub.suffix[len(sub.suffix)-1]))
	}
	setBit(&t.tails, int(realtimePath[len(realtimePath)-1]))
	return t
}

func setBit(bits *[4]uint64, n int) { bits[n/64] |= 1 << (n % 64) }

func hasBit(bits *[4]uint64, n int) bool { return bits[n/64]&(1<<(n%64)) != 0 }

// fixedLength reports whether a fixed path may be n bytes long; paths of
// 256 bytes or more are always looked up.
func (t *routeTable) fixedLength(n int) bool { return n >= 256 || hasBit(&t.lens, n) }

// passes reports whether serve would hand r to next as it is: its path is
// no route's and names no session, and it carries no credential that may
// be an ephemeral token. It is the pass-through's fast path, one call
// instead of serve's several: most requests are decided by the path's
// length and last byte and one header lookup. It may say false for a
// request that passes; serve then decides.
func (t *routeTable) passes(r *http.Request) bool {
	path := r.URL.Path
	n := len(path)
	if n == 0 || t.fixedLength(n) || hasBit(&t.tails, int(path[n-1])) {
		return false
	}
	for _, v := range r.Header["Authorization"] {
		if mayBeEphemeral(v) {
			return false
		}
	}
	if t.formats != nil && t.formats.mayCarry(r) {
		return false
	}
	return r.Method != http.MethodGet && r.Method != http.MethodConnect || len(r.Header["Sec-Websocket-Protocol"]) == 0
}

// match returns what r's path means. Paths of no fixed route's length that
// end in no session subpath's last byte, most pass-through paths, are told
// apart without a compare.
func (t *routeTable) match(r *http.Request) match {
	path := r.URL.Path
	n := len(path)
	if n == 0 {
		return match{}
	}
	if hasBit(&t.tails, int(path[n-1])) {
		if m := t.matchTail(r); m.kind != refNone {
			return m
		}
	}
	if t.fixedLength(n) {
		if rt, ok := t.fixed[path]; ok {
			return match{kind: refRoute, route: rt}
		}
	}
	return match{}
}

// matchTail matches the paths of no fixed length: the session subpaths
// and the WebSocket path with ?call_id=.
func (t *routeTable) matchTail(r *http.Request) match {
	path := r.URL.Path
	for _, sub := range sessionSubpaths {
		rest, found := strings.CutSuffix(path, sub.suffix)
		if !found {
			continue
		}
		rt, id, ok := t.sessionPath(rest)
		if !ok || (sub.creation != 0 && rt.endpoint != sub.creation) {
			return match{}
		}
		if sub.kind == refHangup {
			rt.endpoint = rt.endpoint.Hangup()
		}
		return match{kind: sub.kind, route: rt, id: id}
	}
	if r.URL.RawQuery == "" || !strings.HasSuffix(path, realtimePath) {
		return match{}
	}
	scope, ok := t.realtime[path]
	if !ok {
		return match{}
	}
	if id := queryValue(r.URL.RawQuery, "call_id"); validSessionID(id) {
		return match{kind: refRealtime, route: route{endpoint: contract.EndpointCall, provider: scope}, id: id}
	}
	return match{}
}

// sessionPath splits "{creation path}/{id}" into the creation route and
// the id. ok is false unless the first part is a creation route and the
// id a valid session id.
func (t *routeTable) sessionPath(path string) (rt route, id string, ok bool) {
	i := strings.LastIndexByte(path, '/')
	if i < 0 {
		return route{}, "", false
	}
	rt, ok = t.fixed[path[:i]]
	id = path[i+1:]
	if !ok || !rt.endpoint.IsSession() || !validSessionID(id) {
		return route{}, "", false
	}
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
