package oidc

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// Verifier authenticates the callers of the middleware's routes with JSON
// Web Tokens signed by an OpenID Connect provider, and applies the policy
// their claims name. Its Authorize method is a realtimesecret.Authorizer.
// It is safe for concurrent use and runs no goroutine.
type Verifier struct {
	cfg      Config
	parser   *jwt.Parser
	keys     *keySource
	skew     time.Duration
	policies map[string]*Policy
	def      *Policy // nil: none
	tokens   *tokenCache
	now      func() time.Time
}

// New returns a Verifier for cfg, or an error wrapping ErrInvalidConfig.
// It fetches nothing: the keys are fetched when the first token needs
// them.
func New(cfg Config) (*Verifier, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg.Audiences = append([]string(nil), cfg.Audiences...)
	if len(cfg.Algorithms) == 0 {
		cfg.Algorithms = DefaultAlgorithms
	}
	cfg.Algorithms = append([]string(nil), cfg.Algorithms...)
	if cfg.UserClaim == "" {
		cfg.UserClaim = "sub"
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	skew := cfg.ClockSkew
	switch {
	case skew == 0:
		skew = DefaultClockSkew
	case skew < 0:
		skew = 0
	}
	timeout := orDefault(cfg.FetchTimeout, DefaultFetchTimeout)
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: timeout, CheckRedirect: checkRedirect}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	maxAge := orDefault(cfg.MaxKeysLifetime, DefaultMaxKeysLifetime)
	v := &Verifier{
		cfg:  cfg,
		skew: skew,
		now:  now,
		keys: &keySource{client: client, issuer: cfg.Issuer, jwksURL: cfg.JWKSURL, timeout: timeout,
			minRefresh: orDefault(cfg.MinRefreshInterval, DefaultMinRefreshInterval),
			defaultAge: min(DefaultKeysLifetime, maxAge), maxAge: maxAge, now: now, log: log},
		policies: make(map[string]*Policy, len(cfg.Policies)),
		tokens:   newTokenCache(cfg.MaxCachedTokens),
	}
	for name, p := range cfg.Policies {
		p.Providers = append([]string(nil), p.Providers...)
		p.Models = append([]string(nil), p.Models...)
		v.policies[name] = &p
	}
	switch {
	case cfg.DefaultPolicy != "":
		v.def = v.policies[cfg.DefaultPolicy]
	case len(cfg.Policies) == 0:
		v.def = &Policy{} // no policies: every verified caller, unrestricted
	}
	v.parser = jwt.NewParser(
		jwt.WithValidMethods(cfg.Algorithms),
		jwt.WithIssuer(cfg.Issuer),
		jwt.WithAudience(cfg.Audiences...),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(skew),
		jwt.WithTimeFunc(now),
	)
	return v, nil
}

// checkRedirect follows a few redirects, and none off https: the keys
// must come from where the issuer's TLS says.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 3 {
		return errors.New("oidc: too many redirects")
	}
	return checkURL(req.URL.String())
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// KindUser is the Principal.Kind of the callers a Verifier authenticates:
// refusals name them "user alice".
const KindUser = "user"

// identity is what a verified token says about its caller.
type identity struct {
	user    string
	policy  string // the policy's name; "" for the unrestricted default
	jti     string
	expires time.Time // exp, plus the clock skew
}

// Authorize is a realtimesecret.Authorizer: it verifies the caller's token
// and applies its policy to in. A missing or bad token is an *Error with
// status 401 (never 5xx, whatever the identity provider does); a policy
// that does not allow in is 403.
func (v *Verifier) Authorize(r *http.Request, in realtimesecret.Intent) (realtimesecret.Principal, error) {
	token, cookie, e := v.extract(r)
	if e != nil {
		return realtimesecret.Principal{}, e
	}
	id, e := v.verify(r.Context(), token)
	if e != nil {
		return realtimesecret.Principal{}, e
	}
	p := v.policyOf(id)
	// A token from the cookie marks the principal: the middleware then
	// refuses its cross-site requests.
	principal := realtimesecret.Principal{ID: id.user, Kind: KindUser, Cookie: cookie, Policy: id.policy, TokenID: id.jti}
	if p == nil {
		return principal, forbidden("no policy applies to user " + quote(id.user))
	}
	if e := allows(p, id.user, in); e != nil {
		return principal, e
	}
	principal.MaxTTL, principal.RateLimit = p.MaxTTL, p.RateLimit
	principal.MaxSession, principal.MaxSessions = p.MaxSession, p.MaxSessions
	principal.GovernanceFailOpen, principal.MaxUses, principal.SingleUse = p.GovernanceFailOpen, p.MaxUses, p.SingleUse
	principal.Budget, principal.AllowUnmeteredMints = p.Budget, p.AllowUnmeteredMints
	return principal, nil
}

// Verify checks token as Authorize does and returns the ID of its user,
// for callers that take tokens elsewhere than from a request. The error
// is an *realtimesecret.Error (401).
func (v *Verifier) Verify(ctx context.Context, token string) (string, error) {
	id, e := v.verify(ctx, token)
	if e != nil {
		return "", e
	}
	return id.user, nil
}

// extract returns the caller's token: "Authorization: Bearer <token>", or
// else the configured cookie. cookie reports that it came from the cookie.
func (v *Verifier) extract(r *http.Request) (token string, cookie bool, _ *realtimesecret.Error) {
	if auth := r.Header.Values("Authorization"); len(auth) > 0 {
		if len(auth) > 1 {
			return "", false, unauthenticated("invalid_token", "send one Authorization header", nil)
		}
		scheme, tok, ok := strings.Cut(auth[0], " ")
		tok = strings.TrimSpace(tok)
		if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
			return "", false, unauthenticated("invalid_token", "the Authorization header must be Bearer <token>", nil)
		}
		return tok, false, nil
	}
	if v.cfg.Cookie != "" {
		if c, err := r.Cookie(v.cfg.Cookie); err == nil && c.Value != "" {
			return c.Value, true, nil
		}
	}
	msg := "a bearer token is required: send Authorization: Bearer <token>"
	if v.cfg.Cookie != "" {
		msg += " or the " + v.cfg.Cookie + " cookie"
	}
	return "", false, unauthenticated("missing_token", msg, nil)
}

// verify returns the identity of a valid token: from the cache when it
// was verified before, else by checking its signature and claims.
func (v *Verifier) verify(ctx context.Context, token string) (identity, *realtimesecret.Error) {
	if len(token) > MaxTokenBytes {
		return identity{}, unauthenticated("invalid_token", "the token is larger than 8192 bytes", nil)
	}
	h := contract.HashToken(token) // hashed in place: no copy of the token
	now := v.now()
	var gen uint64
	if set := v.keys.set.Load(); set != nil {
		gen = set.gen
	}
	if id, ok := v.tokens.get(h, now, gen); ok {
		return id, nil
	}
	claims := jwt.MapClaims{}
	_, err := v.parser.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
		return v.keyFor(ctx, t)
	})
	if err != nil {
		return identity{}, tokenError(err)
	}
	id, e := v.identify(claims)
	if e != nil {
		return identity{}, e
	}
	// The gen of the set the token verified with: a set fetched since
	// that drops a key makes the token verify again.
	if set := v.keys.set.Load(); set != nil {
		gen = set.gen
	}
	v.tokens.put(h, id, now, gen)
	return id, nil
}

// keyFor returns the keys that may verify t.
func (v *Verifier) keyFor(ctx context.Context, t *jwt.Token) (any, error) {
	if _, ok := t.Header["crit"]; ok {
		// RFC 7515 4.1.11: a token that needs extensions understood must
		// be refused by whoever does not; we understand none.
		return nil, errors.New("oidc: the token names critical header parameters")
	}
	alg, _ := t.Header["alg"].(string)
	kid, isString := t.Header["kid"].(string)
	if _, present := t.Header["kid"]; present && !isString {
		return nil, errKeyNotFound
	}
	keys, err := v.keys.keys(ctx, kid, alg)
	if err != nil {
		return nil, err
	}
	set := jwt.VerificationKeySet{Keys: make([]jwt.VerificationKey, len(keys))}
	for i, k := range keys {
		set.Keys[i] = k.key
	}
	return set, nil
}

// identify reads a verified token's claims: the required claims, the
// user, the policy and the jti.
func (v *Verifier) identify(claims jwt.MapClaims) (identity, *realtimesecret.Error) {
	for name, want := range v.cfg.RequiredClaims {
		if !claimHas(claims[name], want) {
			return identity{}, unauthenticated("invalid_token", "the token lacks a required claim", nil)
		}
	}
	user, _ := claims[v.cfg.UserClaim].(string)
	if user == "" || len(user) > maxUserBytes {
		return identity{}, unauthenticated("invalid_token", "the token's "+v.cfg.UserClaim+" claim does not name a user", nil)
	}
	id := identity{user: user}
	id.jti, _ = claims["jti"].(string)
	if len(id.jti) > maxUserBytes {
		id.jti = id.jti[:maxUserBytes]
	}
	if v.cfg.PolicyClaim != "" {
		id.policy = v.pickPolicy(claims[v.cfg.PolicyClaim])
	}
	if id.policy == "" {
		id.policy = v.cfg.DefaultPolicy
	}
	exp, err := claims.GetExpirationTime()
	if err != nil || exp == nil {
		return identity{}, unauthenticated("invalid_token", "the token has no expiry", nil)
	}
	id.expires = exp.Add(v.skew)
	return id, nil
}

// maxUserBytes bounds the user ID (and the jti kept): it is stored with
// every record the user's mints leave.
const maxUserBytes = 256

// pickPolicy returns the name of the policy the claim's value names: a
// string, or the first string of a list that names one; "" for none.
func (v *Verifier) pickPolicy(claim any) string {
	switch c := claim.(type) {
	case string:
		if _, ok := v.policies[c]; ok {
			return c
		}
	case []any:
		for _, x := range c {
			if s, ok := x.(string); ok {
				if _, ok := v.policies[s]; ok {
					return s
				}
			}
		}
	}
	return ""
}

// policyOf returns the policy of id; nil when none applies.
func (v *Verifier) policyOf(id identity) *Policy {
	if id.policy == "" {
		return v.def
	}
	return v.policies[id.policy]
}

// claimHas reports whether a claim's value satisfies a required claim:
// present and not empty when want is "", else equal to want (a list
// holding it).
func claimHas(claim any, want string) bool {
	switch c := claim.(type) {
	case nil:
		return false
	case string:
		return c != "" && (want == "" || c == want)
	case bool:
		return want == "" || (want == "true") == c && (want == "true" || want == "false")
	case float64:
		return want == "" || jsonNumber(c) == want
	case []any:
		if want == "" {
			return len(c) > 0
		}
		for _, x := range c {
			if _, nested := x.([]any); !nested && claimHas(x, want) {
				return true
			}
		}
		return false
	case map[string]any:
		return want == "" && len(c) > 0
	}
	return false
}

// tokenCache remembers verified tokens, by their SHA-256, until they
// expire: a repeated token costs a hash and a map lookup.
type tokenCache struct {
	mu  sync.RWMutex
	m   map[contract.TokenHash]cached
	max int // 0: no caching
}

type cached struct {
	id  identity
	gen uint64
}

func newTokenCache(limit int) *tokenCache {
	if limit == 0 {
		limit = DefaultMaxCachedTokens
	}
	return &tokenCache{m: map[contract.TokenHash]cached{}, max: limit}
}

func (c *tokenCache) get(h contract.TokenHash, now time.Time, gen uint64) (identity, bool) {
	if c.max <= 0 {
		return identity{}, false
	}
	c.mu.RLock()
	e, ok := c.m[h]
	c.mu.RUnlock()
	if !ok || e.gen != gen || !now.Before(e.id.expires) {
		return identity{}, false
	}
	return e.id, true
}

func (c *tokenCache) put(h contract.TokenHash, id identity, now time.Time, gen uint64) {
	if c.max <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		for k, e := range c.m {
			if !now.Before(e.id.expires) || e.gen != gen {
				delete(c.m, k)
			}
		}
		// Still full: forget an eighth, picked by map order. A forgotten
		// token is verified again, nothing worse.
		for k := range c.m {
			if len(c.m) < c.max-c.max/8 {
				break
			}
			delete(c.m, k)
		}
	}
	c.m[h] = cached{id: id, gen: gen}
}
