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

// Handler answers the mint and session routes and attributes redemptions.
// Its configuration is fixed by New; it is safe for concurrent use. It
// wires the units that do the work, each with its own state: the route
// table, admission, the minter, the broker and hang-ups, the governor
// (leases, caps, revocation), the meters (usage over sidebands), the
// records and the redeemer.
type Handler struct {
	routes    *routeTable
	admission *admission
	minter    *minter
	broker    *broker
	hangups   *hangups
	redeemer  *redeemer
	ekCalls   *ekCalls
	governor  *governor
	meters    *meters
	budgets   *budgets
	records   *records
	reporter  *reporter
	now       func() time.Time
	// background is set when the Handler runs goroutines that only Close
	// stops: a shared registry's cap loop, usage metering.
	background bool
}

// New returns a Handler for cfg, or an error wrapping ErrInvalidConfig.
//
// With a shared SessionRegistry (one that is not a memory.SessionRegistry,
// such as adapters/redisstore's) New starts the loop that ends the
// sessions whose caps fall due, which other nodes may have set; with
// usage metering, each metered session runs a goroutine. Call Close on
// shutdown to stop them. With neither, the Handler runs a goroutine only
// while a MaxSession cap it set is pending.
func New(cfg Config) (*Handler, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ps := newProviders(&cfg)
	cs := &callers{authorizer: cfg.Authorizer, crossOrigin: cfg.CrossOriginProtection}
	if cs.crossOrigin == nil {
		cs.crossOrigin = http.NewCrossOriginProtection()
	}
	vkHeader := ""
	if len(cfg.VirtualKeys) > 0 {
		vkHeader = http.CanonicalHeaderKey(cfg.VirtualKeyHeader)
		if cfg.VirtualKeyHeader == "" {
			vkHeader = defaultVirtualKeyHeader
		}
		cs.vks = newVirtualKeys(slices.Clone(cfg.VirtualKeys), vkHeader)
	}
	rs := &records{store: cfg.Store, now: now}
	if rs.store == nil {
		rs.store = memory.NewStore()
	}
	if cfg.Now == nil {
		_, rs.storeExpires = rs.store.(*memory.Store)
	}
	if rs.used, _ = rs.store.(contract.UseMarker); rs.used == nil {
		rs.used = memory.NewStore() // single-use on this node only
	}
	if len(cfg.SealKeys) > 0 {
		s, err := newSealer(cfg.SealKeys)
		if err != nil {
			return nil, err
		}
		rs.sealer = s
	}
	registry := cfg.SessionRegistry
	if registry == nil {
		registry, _ = rs.store.(contract.SessionRegistry)
	}
	if registry == nil {
		registry = memory.NewSessionRegistry()
	}
	_, local := registry.(*memory.SessionRegistry)
	limiter := cfg.RateLimiter
	if limiter == nil {
		limiter = memory.NewRateLimiter(cfg.Now)
	}
	lifetime := orDefault(cfg.SessionLifetime, DefaultSessionLifetime)
	forward := newForwardHeaders(cfg.ForwardHeaders, vkHeader)

	// The ledger of budgets: the registry's or the store's when it keeps
	// one (adapters/redisstore, memory.SessionRegistry), else in-process.
	ledger, _ := registry.(contract.SpendLedger)
	if ledger == nil {
		ledger, _ = rs.store.(contract.SpendLedger)
	}
	if ledger == nil {
		ledger = memory.NewSessionRegistry()
	}

	en := &ender{providers: ps, log: log}
	bg := &budgets{ledger: ledger, prices: newPrices(cfg.Prices), log: log, failOpen: cfg.GovernanceFailOpen}
	ms := &meters{sessions: registry, now: now, log: log, onUsage: cfg.OnUsage, budgets: bg,
		attachWait: orDefault(cfg.SidebandAttachTimeout, defaultSidebandAttachTimeout)}
	g := &governor{registry: registry, local: local, lookup: rs.session, putRecord: rs.putSession, now: now, log: log, failOpen: cfg.GovernanceFailOpen,
		endUpstream: func(ctx context.Context, rec *Record, id string, how UsageEnd) error {
			done := ms.ending(id, how)
			err := en.end(ctx, rec, id)
			done(err == nil)
			return err
		},
	}
	g.watchTTL = orDefault(cfg.AdoptAfter, defaultAdoptAfter)
	g.watchRenewal, g.adoptInterval = g.watchTTL/3, min(g.watchTTL/4, maxAdoptInterval)
	if ps.anyMetered() {
		costs, _ := ledger.(contract.SessionCosts)
		ad := &adopter{records: rs, ps: ps, vks: cs.vks, meters: ms, costs: costs, log: log}
		g.metered, g.adopt = ms.refs, ad.adopt
	}
	bg.governor = g
	h := &Handler{
		routes: newRouteTable(strings.TrimSuffix(cfg.PathPrefix, "/"), ps.list),
		admission: &admission{providers: ps, callers: cs, limiter: limiter, strict: cfg.StrictStore, log: log, now: now,
			maxBody: orDefault(cfg.MaxBodyBytes, defaultMaxBodyBytes)},
		minter: &minter{records: rs, forward: forward, now: now, strict: cfg.StrictStore},
		broker: &broker{records: rs, governor: g, meters: ms, budgets: bg, ender: en, forward: forward, lifetime: lifetime,
			now: now, log: log, strict: cfg.StrictStore},
		hangups:    &hangups{callers: cs, records: rs, governor: g, meters: ms, ender: en, forward: forward, now: now},
		redeemer:   &redeemer{records: rs, vks: cs.vks, governor: g, lifetime: lifetime, now: now, log: log, onRedeem: cfg.OnRedeem},
		ekCalls:    &ekCalls{vks: cs.vks, ps: ps, records: rs, governor: g, meters: ms, budgets: bg, lifetime: lifetime, now: now, log: log},
		governor:   g,
		meters:     ms,
		budgets:    bg,
		records:    rs,
		reporter:   &reporter{log: log, onMint: cfg.OnMint, onSession: cfg.OnSession},
		now:        now,
		background: !local || ps.anyMetered(),
	}
	if !local {
		// Another node may have set caps that fall due here.
		g.startCaps(time.Time{})
	}
	return h, nil
}

// orDefault returns v, or def when v is zero.
func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Middleware returns a middleware for cfg, for chi's r.Use or to wrap any
// http.Handler. It panics with a "realtimesecret: ..." message when cfg is
// invalid, and when cfg needs work in the background that only
// Handler.Close stops (a shared SessionRegistry, or usage metering): use
// New and Close for those, or the error instead of a panic.
func Middleware(cfg Config) func(http.Handler) http.Handler {
	h, err := New(cfg)
	if err != nil {
		panic(err.Error())
	}
	if h.background {
		_ = h.Close()
		panic("realtimesecret: this Config runs goroutines that only Handler.Close stops " +
			"(a shared SessionRegistry, or usage metering): use New, and Close on shutdown")
	}
	return h.Wrap
}

// Wrap returns an http.Handler that answers the mint and session routes
// and passes every other request to next, attributing those that redeem a
// minted token or name a brokered session.
func (h *Handler) Wrap(next http.Handler) http.Handler {
	return &wrapped{h: h, next: next}
}

// ServeHTTP answers the mint and session routes and 404 elsewhere, for
// mounting the Handler on its own.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, http.NotFoundHandler())
}

type wrapped struct {
	h    *Handler
	next http.Handler
}

func (m *wrapped) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if m.h.routes.passes(r) {
		m.next.ServeHTTP(w, r)
		return
	}
	m.h.serve(w, r, m.next)
}

// serve is the per-request entry point: the route table says what the
// path means; a route is answered (serveRoute); a request that carries an
// ephemeral token or names a session is attributed and passed to next;
// every other request passes as it is, allocating nothing.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request, next http.Handler) {
	m := h.routes.match(r)
	if m.kind.answered() {
		switch r.Method {
		case http.MethodPost:
			// On a session path, a request with an ephemeral token is the
			// client redeeming it with the provider: it passes through.
			if !m.route.endpoint.IsSession() || ephemeralToken(r.Method, r.Header) == "" {
				h.serveRoute(w, r, m, nil)
				return
			}
		case http.MethodOptions:
			// CORS preflight belongs to the host app.
		default:
			h.serveRoute(w, r, m, methodNotAllowed())
			return
		}
	}
	token := ephemeralToken(r.Method, r.Header)
	if token == "" {
		token = h.routes.formats.token(r) // another provider's secret, if one is configured
	}
	if token != "" {
		r2, unsealed, release, e := h.redeemer.redeem(r, token)
		if e != nil {
			writeError(w, e)
			return
		}
		if release != nil {
			w, release = leaseUpgrade(w, release) // released when the upstream's side ends (upgrade.go)
			defer release()                       // or, at the latest, when next returns
		}
		if unsealed != "" {
			var reseal func()
			w, reseal = resealAnswer(w, token, unsealed) // the client never sees the upstream token (sealedecho.go)
			defer reseal()                               // nor in trailers, written once next has returned
		}
		r = r2
		if rec, found := FromContext(r.Context()); found && m.kind == refRoute && m.route.endpoint == contract.EndpointCall &&
			r.Method == http.MethodPost {
			h.ekCalls.serve(w, r, next, rec) // a call created with a minted secret
			return
		}
	} else if m.kind == refAttach || m.kind == refRealtime {
		r = h.redeemer.attribute(r, m)
	}
	next.ServeHTTP(w, r)
}

// serveRoute answers a request to a mint or session route, refused with
// refuse when it is set (a method other than POST): it runs the route's
// steps into an outcome, writes the answer, then reports it.
func (h *Handler) serveRoute(w http.ResponseWriter, r *http.Request, m match, refuse *Error) {
	start := h.now()
	var out outcome
	if p := m.route.provider; p != nil {
		out.provider = p.name
		if p.serves(m.route.endpoint) {
			out.render = p.renderer // the provider's own endpoint answers in its API's shape
		}
	}
	switch {
	case refuse != nil:
		out.fail(refuse)
	case m.kind == refHangup:
		h.hangups.hangup(r, m.route, m.id, &out)
	default:
		var adm admitted
		e := h.admission.admit(r, m.route, &adm)
		out.identify(&adm)
		switch {
		case e != nil:
			out.fail(e)
		case m.route.endpoint.IsSession():
			h.broker.create(r, &adm, &out)
		default:
			h.minter.mint(r, &adm, &out)
		}
	}
	out.write(w)
	h.reporter.report(r.Context(), m.route.endpoint, &out, h.now().Sub(start))
}

// EndSessions ends every live brokered session of the virtual key (or
// Principal) id upstream, for revocation, and returns how many it ended.
// Sessions that end meanwhile by other means are not counted. The error
// joins the failures; sessions that could not be ended upstream are
// counted as ended here (their leases are released) and reported in it.
func (h *Handler) EndSessions(ctx context.Context, virtualKeyID string) (int, error) {
	return h.governor.revoke(ctx, virtualKeyID)
}

// Close stops the goroutine that ends sessions at their MaxSession caps,
// if one runs, and the usage metering of every session, and waits for
// them. Sessions keep their caps in a shared SessionRegistry, where another
// node enforces them; with the in-process registry, caps not yet due are
// no longer enforced. Each metered session reports what was counted so
// far, with UsageEvent.End UsageStopped unless its end was known; the
// sessions themselves go on. Close is safe to call more than once.
func (h *Handler) Close() error {
	h.governor.close()
	metered := h.meters.refs()
	h.meters.close()
	h.governor.handOver(metered)
	h.budgets.close()
	return nil
}

// Lookup returns the record of a minted token. A token that is unknown or
// expired is (Record{}, false, nil); err means the store could not answer.
// With SealKeys, a sealed token is opened instead: one that is forged,
// truncated or expired is (Record{}, false, nil).
func (h *Handler) Lookup(ctx context.Context, token string) (Record, bool, error) {
	return h.records.token(ctx, token)
}

// LookupSession returns the record of a brokered session: who created it
// with which key, when, and until when it is kept. An unknown or expired
// id is (Record{}, false, nil); err means the store could not answer.
func (h *Handler) LookupSession(ctx context.Context, id string) (Record, bool, error) {
	return h.records.session(ctx, id)
}

// MeteredSessions returns how many brokered sessions this Handler meters
// now, for a gauge.
func (h *Handler) MeteredSessions() int { return h.meters.count() }

// SessionUsage returns the usage counted so far of the brokered session
// id, while this Handler meters it; ok is false otherwise (not metered,
// ended, or metered by another node).
func (h *Handler) SessionUsage(id string) (u Usage, ok bool) { return h.meters.usage(id) }
