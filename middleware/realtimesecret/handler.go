package realtimesecret

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/memory"
)

// Handler answers the mint routes and attributes redemptions. It is
// immutable after New and safe for concurrent use.
type Handler struct {
	routes          map[string]route
	realtimePaths   map[string]*provider // the WebSocket paths, {scope}/v1/realtime, where ?call_id= names a call; nil: unscoped
	routeLens       [4]uint64            // bit n: a route is n bytes long (n < 256)
	providers       map[string]*provider
	exampleProvider string
	defaultProvider *provider    // Config.DefaultProvider; nil without one
	vks             *virtualKeys // nil without virtual keys
	authorizer      Authorizer
	maxBody         int64
	sessionTTL      time.Duration // how long a brokered session's record is kept
	forward         []string      // canonical header names
	store           contract.Store
	storeExpires    bool // store is a MemoryStore on h.now's clock: Get drops expired records itself
	limiter         contract.RateLimiter
	strict          bool
	onMint          func(MintEvent)
	onRedeem        func(RedeemEvent)
	onUsage         func(UsageEvent)
	sealer          *sealer // nil without SealKeys
	registry        contract.SessionRegistry
	caps            capEnforcer
	meters          meters
	log             *slog.Logger
	now             func() time.Time
}

// provider is a configured provider with its keys.
type provider struct {
	name    string
	adapter contract.Provider
	broker  contract.SessionBroker  // adapter, when it brokers sessions; nil otherwise
	watcher contract.SessionWatcher // adapter, when it attaches sidebands; nil otherwise
	metered bool                    // its brokered sessions are metered (watcher is set)
	keys    []Key
}

// New returns a Handler for cfg, or an error wrapping ErrInvalidConfig.
func New(cfg Config) (*Handler, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	h := &Handler{
		providers:  make(map[string]*provider, len(cfg.Providers)),
		authorizer: cfg.Authorizer,
		maxBody:    cfg.MaxBodyBytes,
		sessionTTL: cfg.SessionLifetime,
		store:      cfg.Store,
		limiter:    cfg.RateLimiter,
		strict:     cfg.StrictStore,
		onMint:     cfg.OnMint,
		onRedeem:   cfg.OnRedeem,
		onUsage:    cfg.OnUsage,
		log:        cfg.Logger,
		now:        cfg.Now,
	}
	list := make([]*provider, 0, len(cfg.Providers))
	for _, pc := range cfg.Providers {
		p := &provider{name: pc.Name, adapter: pc.Provider, keys: cloneKeys(pc.Keys, pc.Aliases)}
		p.broker, _ = pc.Provider.(contract.SessionBroker)
		p.watcher, _ = pc.Provider.(contract.SessionWatcher)
		p.metered = p.watcher != nil && pc.metered(&cfg)
		h.providers[p.name] = p
		list = append(list, p)
	}
	h.exampleProvider = list[0].name
	h.defaultProvider = h.providers[cfg.DefaultProvider] // nil for ""
	prefix := strings.TrimSuffix(cfg.PathPrefix, "/")
	h.routes = buildRoutes(prefix, list)
	h.realtimePaths = make(map[string]*provider, len(list)+1)
	h.realtimePaths[prefix+realtimePath] = nil
	for _, p := range list {
		h.realtimePaths[prefix+"/"+p.name+realtimePath] = p
	}
	for path := range h.routes {
		if n := len(path); n < len(h.routeLens)*64 {
			h.routeLens[n/64] |= 1 << (n % 64)
		}
	}
	if len(cfg.VirtualKeys) > 0 {
		header := cfg.VirtualKeyHeader
		if header == "" {
			header = defaultVirtualKeyHeader
		}
		h.vks = newVirtualKeys(slices.Clone(cfg.VirtualKeys), http.CanonicalHeaderKey(header))
	}
	if len(cfg.SealKeys) > 0 {
		s, err := newSealer(cfg.SealKeys)
		if err != nil {
			return nil, err
		}
		h.sealer = s
	}
	if h.maxBody == 0 {
		h.maxBody = defaultMaxBodyBytes
	}
	if h.sessionTTL == 0 {
		h.sessionTTL = DefaultSessionLifetime
	}
	forward := cfg.ForwardHeaders
	if forward == nil {
		forward = defaultForwardHeaders
	}
	for _, name := range forward {
		c := http.CanonicalHeaderKey(name)
		if c == "Authorization" || c == "Cookie" || (h.vks != nil && c == h.vks.header) {
			continue
		}
		h.forward = append(h.forward, c)
	}
	if h.store == nil {
		h.store = memory.NewStore()
	}
	h.registry = cfg.SessionRegistry
	if h.registry == nil {
		h.registry, _ = h.store.(contract.SessionRegistry)
	}
	shared := h.registry != nil
	if !shared {
		h.registry = memory.NewSessionRegistry()
	}
	if h.limiter == nil {
		h.limiter = memory.NewRateLimiter(cfg.Now)
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.now == nil {
		h.now = time.Now
		_, h.storeExpires = h.store.(*memory.Store)
	}
	if shared {
		// Another node may have set caps that fall due here. Started last:
		// the goroutine reads the Handler's fields.
		h.caps.start(h)
	}
	return h, nil
}

// cloneKeys copies keys, each with providerAliases merged into its Aliases
// (the key's own entries win; see effectiveAliases).
func cloneKeys(keys []Key, providerAliases map[string]string) []Key {
	out := slices.Clone(keys)
	for i := range out {
		out[i].Models = slices.Clone(out[i].Models)
		out[i].BlockedModels = slices.Clone(out[i].BlockedModels)
		out[i].Aliases = effectiveAliases(providerAliases, out[i].Aliases)
	}
	return out
}

// Middleware returns a middleware for cfg, for chi's r.Use or to wrap any
// http.Handler. It panics with a "realtimesecret: ..." message when cfg is
// invalid; use New to get the error instead.
func Middleware(cfg Config) func(http.Handler) http.Handler {
	h, err := New(cfg)
	if err != nil {
		panic(err.Error())
	}
	return h.Wrap
}

// Wrap returns an http.Handler that answers the mint routes and passes every
// other request to next, attributing those that redeem a minted token.
func (h *Handler) Wrap(next http.Handler) http.Handler {
	return &wrapped{h: h, next: next}
}

// ServeHTTP answers the mint routes and 404 elsewhere, for mounting the
// Handler on its own.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, http.NotFoundHandler())
}

type wrapped struct {
	h    *Handler
	next http.Handler
}

func (m *wrapped) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if m.h.passes(r) {
		m.next.ServeHTTP(w, r)
		return
	}
	m.h.serve(w, r, m.next)
}

// passes reports whether serve would hand r to next as it is: its path is
// no route's and names no session, and it carries no credential that may
// be an ephemeral token. It is the pass-through's fast path, one call
// instead of serve's several: most requests are decided by the path's
// length and last byte and one header lookup. It may say false for a
// request that passes; serve then decides.
func (h *Handler) passes(r *http.Request) bool {
	path := r.URL.Path
	n := len(path)
	if n == 0 || n >= len(h.routeLens)*64 || h.routeLens[n/64]&(1<<(n%64)) != 0 {
		return false // a route's length: serve looks it up
	}
	switch path[n-1] {
	case 'p', 'h', 'e': // .../hangup, .../attach, .../v1/realtime
		return false
	}
	for _, v := range r.Header["Authorization"] {
		if mayBeEphemeral(v) {
			return false
		}
	}
	return r.Method != http.MethodGet && r.Method != http.MethodConnect || len(r.Header["Sec-Websocket-Protocol"]) == 0
}

// serve is the per-request entry point. Pass-through requests cost a map
// lookup and a few header and suffix checks, and allocate nothing unless
// they carry an ephemeral token or name a brokered session.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request, next http.Handler) {
	if rt, id, ok := h.route(r.URL.Path); ok {
		switch r.Method {
		case http.MethodPost:
			// On a broker path, a request with an ephemeral token is the
			// client redeeming it with the provider: it passes through.
			if !rt.endpoint.IsSession() || ephemeralToken(r.Method, r.Header) == "" {
				h.serveMint(w, r, rt, id)
				return
			}
		case http.MethodOptions:
			// CORS preflight belongs to the host app.
		default:
			h.serveMethodNotAllowed(w, r, rt)
			return
		}
	}
	if token := ephemeralToken(r.Method, r.Header); token != "" {
		var e *Error
		if r, e = h.redeem(r, token); e != nil {
			writeError(w, e)
			return
		}
		release, e := h.leaseWebSocket(r)
		if e != nil {
			writeError(w, e)
			return
		}
		if release != nil {
			defer release() // when the upgraded connection has closed
		}
	} else if id, created, scope := h.sessionRef(r); id != "" {
		r = h.attributeSession(r, id, created, scope)
	}
	next.ServeHTTP(w, r)
}

// route returns the mint or broker route at path, with the session id of a
// hang-up path. Paths of no fixed route's length, most pass-through paths,
// are told apart without hashing them into the map.
func (h *Handler) route(path string) (route, string, bool) {
	// The last byte first: most paths are told apart without a compare.
	if n := len(path); n > 0 && path[n-1] == 'p' && strings.HasSuffix(path, hangupSuffix) {
		return h.hangupRoute(path)
	}
	if n := len(path); n < len(h.routeLens)*64 && h.routeLens[n/64]&(1<<(n%64)) == 0 {
		return route{}, "", false
	}
	rt, ok := h.routes[path]
	return rt, "", ok
}

// Lookup returns the record of a minted token. A token that is unknown or
// expired is (Record{}, false, nil); err means the store could not answer.
//
// With SealKeys, a sealed token is opened instead: one that is forged,
// truncated or expired is (Record{}, false, nil).
func (h *Handler) Lookup(ctx context.Context, token string) (Record, bool, error) {
	if h.sealer != nil && strings.HasPrefix(token, sealedPrefix) {
		_, rec, err := h.sealer.open(token, h.now())
		return rec, err == nil, nil
	}
	rec, ok, err := h.store.Get(ctx, contract.HashToken(token))
	if err != nil || !ok {
		return Record{}, false, err
	}
	// A MemoryStore checks expiry with time.Now already; a second clock
	// read was a fifth of a lookup. Other stores may keep a record a
	// little past its expiry (Redis rounds TTLs), and tests move h.now.
	if !h.storeExpires && !h.now().Before(rec.ExpiresAt) {
		return Record{}, false, nil
	}
	return rec, true, nil
}
