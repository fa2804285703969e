package realtimesecret

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// Config configures a Handler. The zero value is not usable: at least one
// provider is required. A Config must not be changed after it is passed to
// New; New copies what it keeps.
type Config struct {
	// Providers are the upstreams secrets are minted at. Each Name is usable
	// as the provider in "provider/model" and as the route prefix
	// /{name}/v1/realtime/.... Required.
	Providers []ProviderConfig

	// DefaultProvider names the provider that a model without a
	// configured-provider prefix goes to on the /v1/... routes, so that
	// clients (the official SDKs among them) can send bare model names
	// like "gpt-realtime". Empty means none: there such a model is a 400
	// that asks for "provider/model". It must name one of Providers.
	DefaultProvider string

	// PathPrefix is put before every mint route, for example "/api" serves
	// /api/v1/realtime/client_secrets. Empty means none. It must start with
	// "/"; a trailing "/" is dropped.
	PathPrefix string

	// VirtualKeys are the credentials callers mint with. When set, every
	// mint needs one of them, unless Authorizer is set too: then a request
	// that presents a virtual key (in VirtualKeyHeader, or a Bearer value
	// that is one) is the key's, and any other is the Authorizer's to
	// decide (a Bearer JWT, a cookie). A virtual key wins over what else
	// the request carries; a VirtualKeyHeader with a wrong key is 401.
	//
	// WARNING: with neither VirtualKeys nor Authorizer, minting is open to
	// anyone who reaches the routes; put the app's own authentication in
	// front of the middleware.
	VirtualKeys []VirtualKey

	// VirtualKeyHeader is the header a caller may present its virtual key
	// in, instead of "Authorization: Bearer <value>". Empty means
	// "X-Virtual-Key".
	VirtualKeyHeader string

	// Authorizer decides who may mint, for host apps with their own
	// authentication (adapters/oidc has one for OpenID Connect tokens).
	// Nil means virtual keys decide (or, without them, that minting is
	// open). With VirtualKeys, it decides the requests that present no
	// virtual key.
	Authorizer Authorizer

	// CrossOriginProtection refuses the cross-site requests of callers
	// authenticated by a cookie (Principal.Cookie) on the mint, session and
	// hang-up routes, with 403 cross_site_request: a cookie rides along on
	// requests any page makes the browser send, so without it another site
	// could mint, open sessions and hang them up as the user (CSRF).
	// Callers who send a credential in a header (a virtual key, a Bearer
	// token) are not checked: no other site can make a browser send it.
	// Nil means http.NewCrossOriginProtection(): same-origin requests and
	// requests without Sec-Fetch-Site or Origin (not from a browser) pass;
	// add the origins of the app's own pages on other hosts with
	// AddTrustedOrigin.
	CrossOriginProtection *http.CrossOriginProtection

	// MaxBodyBytes caps a mint request body; larger bodies get 413. Zero
	// means 1 MiB.
	MaxBodyBytes int64

	// SessionLifetime is how long the record of a brokered session (a
	// WebRTC call or a GPT-Live session) is kept for attribution and
	// hang-up: the longest a session may live. Zero means
	// DefaultSessionLifetime (2h).
	SessionLifetime time.Duration

	// SessionRegistry keeps session leases and live brokered sessions for
	// MaxSession, MaxSessions and EndSessions. Nil means the Store when it
	// implements SessionRegistry (adapters/redisstore does, so limits and
	// caps hold across nodes), else an in-process registry.
	SessionRegistry contract.SessionRegistry

	// ForwardHeaders lists the client headers sent upstream with a mint.
	// Nil means "OpenAI-Safety-Identifier" and "X-Request-Id". Authorization,
	// Cookie and the virtual key header are never forwarded.
	ForwardHeaders []string

	// Store keeps a record of every minted token until it expires, for
	// attribution. Nil means an in-process store (NewMemoryStore).
	Store contract.Store

	// RateLimiter enforces VirtualKey.RateLimit and Principal.RateLimit. Nil
	// means an in-process limiter; use a shared one when several nodes mint.
	RateLimiter contract.RateLimiter

	// GovernanceFailOpen decides what a session limit does when the
	// SessionRegistry cannot answer (Redis down or stalled): true admits
	// the session without a lease, uncounted (logged, and reported in the
	// event's StoreErr); false (the default) answers 503
	// governance_unavailable with Retry-After, so that no principal is
	// ever over its MaxSessions. VirtualKey.GovernanceFailOpen and
	// Principal.GovernanceFailOpen open it for one principal. It applies
	// to principals with MaxSessions or a Budget (whose spend the
	// SpendLedger cannot say) only.
	GovernanceFailOpen bool

	// StrictStore makes a failing Store or RateLimiter fail the mint with
	// 503. False means the mint goes on (the failure is logged and reported
	// in MintEvent.StoreErr) and the token is then not attributed.
	StrictStore bool

	// OnMint, if set, is called once per request on a mint route, after the
	// answer was written and flushed to the caller (so is the mint's log
	// line): the caller does not wait for either. It must not block for
	// long: the handler, and so the connection, waits for it.
	OnMint func(MintEvent)

	// OnSession, if set, is called once per request on a brokered session
	// route (a creation or a hang-up), as OnMint is for mints.
	OnSession func(SessionEvent)

	// UsageMetering turns on usage metering for the brokered
	// sessions of every provider whose ProviderConfig.UsageMetering is nil:
	// for each session the middleware attaches a read-only sideband with
	// the upstream key that created it (the adapter must implement
	// SessionWatcher), sums the usage the provider reports on it, and
	// reports it once, at the session's end, through OnUsage and one log
	// line. No media is relayed. A session whose sideband sees its end
	// releases its MaxSessions lease. False (the default) means no
	// sideband is attached.
	UsageMetering bool

	// OnUsage, if set, is called once per metered session, when it ends or
	// its metering stops (see UsageEvent.End), from the goroutine that
	// metered it. It must not block for long.
	OnUsage func(UsageEvent)

	// Prices are model prices in US dollars (per 1M tokens, per second
	// for GPT-Live) that metered usage is priced with (UsageEvent.CostUSD)
	// and budgets are spent by. A name matches the model, or a dated or
	// numbered name that continues it ("-2025-08-28", "-1.5"),
	// case-insensitively; the longest match wins. An entry replaces the
	// built-in price of the same name or adds one. Nil means the built-in
	// prices only: gpt-realtime, gpt-realtime-2, gpt-realtime-mini,
	// gpt-realtime-2.1-mini, gpt-4o-transcribe, gpt-4o-mini-transcribe,
	// gpt-live-1 (OpenAI's list prices of 2026-12-06). An Azure deployment
	// is priced by its name: add it here.
	Prices map[string]contract.Price

	// SidebandAttachTimeout is how long the metering sideband of a
	// session whose principal has a Budget may take to attach; a session
	// still unmetered then is ended upstream (UsageEnd "unmetered"), since
	// nothing it costs could be counted. Zero means 10s.
	SidebandAttachTimeout time.Duration

	// AdoptAfter is, with a shared SessionRegistry and usage metering, how
	// soon after a node stops vouching for the sessions it meters (it died
	// or was cut off) another node adopts them: attaches their sidebands
	// again, so that they stay metered and budgeted, and a session found
	// over releases its lease. A node that stops cleanly hands its
	// sessions over at once. Nodes renew their watches every third of it.
	// Zero means 15s.
	AdoptAfter time.Duration

	// OnRedeem, if set, is called for each passed-through request that
	// carries an ephemeral token, found or not, before next is called.
	OnRedeem func(RedeemEvent)

	// SealKeys, when set, turn on sealed tokens: clients receive "ek_rs_" +
	// an AES-256-GCM sealed blob of the upstream token, its expiry and its
	// Record instead of the upstream token, so any node holding the keys can
	// attribute and redeem it without a shared Store (which is then not
	// written). Each key is 32 bytes; the first seals, every key opens, so
	// rotate by prepending a new key and dropping the old one after the
	// longest token lifetime. Redemption rewrites the request to carry the
	// upstream token; a sealed token that is forged, truncated or expired
	// is answered 401 and never reaches next.
	SealKeys []SealKey

	// Logger receives one line per mint and store failures. It never
	// receives a secret. Nil means no logging.
	Logger *slog.Logger

	// Now returns the current time, for expiry decisions. Nil means
	// time.Now.
	Now func() time.Time
}

// ProviderConfig is one configured upstream.
type ProviderConfig struct {
	// Name identifies the provider in "provider/model", in routes and in
	// records. Required, unique; letters, digits, '-', '_' and '.' only.
	Name string
	// Provider is the adapter that calls the upstream. Required.
	Provider contract.Provider
	// Keys are the upstream keys to mint with. At least one is required.
	Keys []Key
	// Aliases maps a requested model to the model (on Azure, the
	// deployment) sent upstream, for every key of the provider, like
	// Key.Aliases. A key's own entry for a model (compared
	// case-insensitively) wins over the provider's. Nil means none.
	Aliases map[string]string
	// UsageMetering overrides Config.UsageMetering for this provider; nil
	// means Config.UsageMetering. Metering a provider whose adapter brokers
	// sessions but does not implement SessionWatcher is a config error.
	UsageMetering *bool
	// Beta is how a mint at the beta routes (/v1/realtime/sessions and
	// /v1/realtime/transcription_sessions) is sent to this provider:
	// "translate" sends it to the GA endpoint (/v1/realtime/client_secrets),
	// the beta body translated into the GA request and the GA answer back
	// into the beta shape, for OpenAI and Azure, which have switched the
	// beta API off; "forward" sends it as it is to the provider's beta
	// endpoint, for an OpenAI-compatible vendor that still serves it.
	// Empty means the adapter's default (contract.BetaDefaulter):
	// "translate" for adapters/openai and adapters/azure, "forward" for an
	// adapter that declares none.
	Beta string
}

// metered reports whether the provider's sessions are metered under cfg.
func (p *ProviderConfig) metered(cfg *Config) bool {
	if p.UsageMetering != nil {
		return *p.UsageMetering
	}
	return cfg.UsageMetering
}

// forwardsBeta reports whether the provider's beta mints are forwarded as
// they are rather than translated onto GA.
func (p *ProviderConfig) forwardsBeta() bool {
	if p.Beta != "" {
		return p.Beta == contract.BetaForward
	}
	d, ok := p.Provider.(contract.BetaDefaulter)
	return !ok || d.BetaDefault() != contract.BetaTranslate
}

// DefaultSessionLifetime is Config.SessionLifetime when it is zero.
const DefaultSessionLifetime = 2 * time.Hour

const (
	defaultMaxBodyBytes     = 1 << 20
	defaultVirtualKeyHeader = "X-Virtual-Key"
)

var defaultForwardHeaders = []string{"OpenAI-Safety-Identifier", "X-Request-Id"}

// ErrInvalidConfig is wrapped by every error New returns.
var ErrInvalidConfig = errors.New("realtimesecret: invalid config")

func configError(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...)
}

func (cfg *Config) validate() error {
	if len(cfg.Providers) == 0 {
		return configError("no providers")
	}
	names := make(map[string]bool, len(cfg.Providers))
	for i := range cfg.Providers {
		p := &cfg.Providers[i]
		if !validName(p.Name) {
			return configError("provider %d: name %q must be non-empty letters, digits, '-', '_' or '.'", i, p.Name)
		}
		if names[p.Name] {
			return configError("provider %q: duplicate name", p.Name)
		}
		names[p.Name] = true
		if p.Provider == nil {
			return configError("provider %q: no Provider adapter", p.Name)
		}
		if err := validateKeys(p); err != nil {
			return err
		}
		if p.Beta != "" && p.Beta != contract.BetaTranslate && p.Beta != contract.BetaForward {
			return configError("provider %q: Beta %q must be %q or %q", p.Name, p.Beta, contract.BetaTranslate, contract.BetaForward)
		}
		if p.metered(cfg) {
			_, broker := p.Provider.(contract.SessionBroker)
			_, watcher := p.Provider.(contract.SessionWatcher)
			if (broker && !watcher) || (p.UsageMetering != nil && !watcher) {
				return configError("provider %q: UsageMetering needs an adapter that implements contract.SessionWatcher", p.Name)
			}
		}
	}
	if cfg.DefaultProvider != "" && !names[cfg.DefaultProvider] {
		return configError("DefaultProvider %q is not a configured provider", cfg.DefaultProvider)
	}
	if cfg.PathPrefix != "" && !strings.HasPrefix(cfg.PathPrefix, "/") {
		return configError("PathPrefix %q must start with /", cfg.PathPrefix)
	}
	if cfg.SessionLifetime < 0 {
		return configError("SessionLifetime must not be negative")
	}
	if cfg.MaxBodyBytes < 0 {
		return configError("MaxBodyBytes must not be negative")
	}
	if cfg.VirtualKeyHeader != "" && !validHeaderName(cfg.VirtualKeyHeader) {
		return configError("VirtualKeyHeader %q is not a valid header name", cfg.VirtualKeyHeader)
	}
	if err := cfg.validateSpend(); err != nil {
		return err
	}
	return validateVirtualKeys(cfg.VirtualKeys, names)
}

// PriceOf returns the price metered usage of model is charged at under
// cfg: Prices merged over the built-in prices (see Prices). ok is false
// when the model has none: a budgeted session of it is refused (400
// model_not_priced). For checks of a configuration; a Handler prices
// sessions itself.
func (cfg *Config) PriceOf(model string) (price contract.Price, ok bool) {
	p, ok := newPrices(cfg.Prices).lookup(model)
	if !ok {
		return contract.Price{}, false
	}
	return *p, true
}

// validateSpend checks the prices, and that every virtual key with a
// Budget is one the middleware can hold to it: its brokered sessions are
// metered.
func (cfg *Config) validateSpend() error {
	if cfg.SidebandAttachTimeout < 0 {
		return configError("SidebandAttachTimeout must not be negative")
	}
	if cfg.AdoptAfter < 0 {
		return configError("AdoptAfter must not be negative")
	}
	for name, p := range cfg.Prices {
		if name == "" {
			return configError("Prices has an entry without a model name")
		}
		if why := validPrice(&p); why != "" {
			return configError("Prices[%q]: a price %s", name, why)
		}
	}
	for i := range cfg.VirtualKeys {
		vk := &cfg.VirtualKeys[i]
		if why := validateBudget(vk.Budget); why != "" {
			return configError("virtual key %q: %s", vk.ID, why)
		}
		if vk.Budget.IsZero() {
			continue
		}
		for j := range cfg.Providers {
			p := &cfg.Providers[j]
			_, brokers := p.Provider.(contract.SessionBroker)
			if brokers && !p.metered(cfg) && (len(vk.Providers) == 0 || contains(vk.Providers, p.Name)) {
				return configError("virtual key %q has a Budget, and provider %q's sessions are not metered: "+
					"turn on UsageMetering, or leave the provider out of the key's Providers", vk.ID, p.Name)
			}
		}
	}
	return nil
}

func validateKeys(p *ProviderConfig) error {
	if len(p.Keys) == 0 {
		return configError("provider %q: no keys", p.Name)
	}
	ids := make(map[string]bool, len(p.Keys))
	for j := range p.Keys {
		k := &p.Keys[j]
		switch {
		case k.ID == "":
			return configError("provider %q: key %d has no ID", p.Name, j)
		case ids[k.ID]:
			return configError("provider %q: duplicate key ID %q", p.Name, k.ID)
		case k.Value == "":
			return configError("provider %q: key %q has no value", p.Name, k.ID)
		case k.Weight < 0:
			return configError("provider %q: key %q has a negative weight", p.Name, k.ID)
		}
		ids[k.ID] = true
	}
	return nil
}

func validateVirtualKeys(vks []VirtualKey, providers map[string]bool) error {
	ids := make(map[string]bool, len(vks))
	values := make(map[Secret]bool, len(vks))
	for i := range vks {
		vk := &vks[i]
		switch {
		case vk.ID == "":
			return configError("virtual key %d has no ID", i)
		case ids[vk.ID]:
			return configError("duplicate virtual key ID %q", vk.ID)
		case vk.Value == "":
			return configError("virtual key %q has no value", vk.ID)
		case values[vk.Value]:
			return configError("virtual key %q has the same value as another", vk.ID)
		case vk.MaxTTL < 0:
			return configError("virtual key %q has a negative MaxTTL", vk.ID)
		case vk.MaxSession < 0 || vk.MaxSessions < 0:
			return configError("virtual key %q has a negative MaxSession or MaxSessions", vk.ID)
		case vk.MaxUses < 0:
			return configError("virtual key %q has a negative MaxUses", vk.ID)
		case (vk.RateLimit.Requests > 0) != (vk.RateLimit.Per > 0):
			return configError("virtual key %q: RateLimit needs both Requests and Per", vk.ID)
		}
		for _, p := range vk.Providers {
			if !providers[p] {
				return configError("virtual key %q allows provider %q, which is not configured", vk.ID, p)
			}
		}
		ids[vk.ID], values[vk.Value] = true, true
	}
	return nil
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func validHeaderName(s string) bool {
	return validName(s) && http.CanonicalHeaderKey(s) != ""
}
