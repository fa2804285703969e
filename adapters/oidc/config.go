package oidc

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// Defaults applied by New to the zero fields of Config.
const (
	// DefaultClockSkew is how far exp, nbf and iat may be off.
	DefaultClockSkew = 30 * time.Second
	// DefaultFetchTimeout bounds one fetch of the discovery document or
	// the key set.
	DefaultFetchTimeout = 5 * time.Second
	// DefaultMinRefreshInterval is the least time between two fetches of
	// the key set.
	DefaultMinRefreshInterval = 30 * time.Second
	// DefaultKeysLifetime is how long a key set whose response says
	// nothing of caching is used before it is fetched again.
	DefaultKeysLifetime = time.Hour
	// DefaultMaxKeysLifetime bounds how long a key set is used before it
	// is fetched again, whatever its response says.
	DefaultMaxKeysLifetime = 24 * time.Hour
	// DefaultMaxCachedTokens bounds the verified tokens remembered.
	DefaultMaxCachedTokens = 10000
	// MaxTokenBytes is the longest token read: a longer one is refused
	// before it is decoded.
	MaxTokenBytes = 8 << 10
)

// DefaultAlgorithms are the signature algorithms accepted when
// Config.Algorithms is empty.
var DefaultAlgorithms = []string{"RS256", "ES256", "EdDSA"}

// supportedAlgorithms are the asymmetric algorithms a Config may allow.
// "none" and the HMAC algorithms are never among them: a key set is
// public, and a token signed with one of its keys as an HMAC secret must
// not verify.
var supportedAlgorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

// Config configures a Verifier. Issuer and Audiences are required.
type Config struct {
	// Issuer is the identity provider's issuer URL, compared exactly with
	// a token's iss and with the discovery document's issuer. https, or
	// http on a loopback address (tests).
	Issuer string
	// Audiences are the values a token's aud must hold one of. Required.
	Audiences []string
	// JWKSURL is where the provider's signing keys are. Empty means the
	// jwks_uri of Issuer's /.well-known/openid-configuration.
	JWKSURL string
	// Algorithms are the signature algorithms accepted, among RS256,
	// RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512 and EdDSA.
	// Empty means DefaultAlgorithms. "none" and HS256 are refused.
	Algorithms []string
	// ClockSkew is how far a token's exp, nbf and iat may be off. Zero
	// means DefaultClockSkew; negative means none.
	ClockSkew time.Duration
	// RequiredClaims are claims a token must have: with an empty value,
	// present and not empty; otherwise equal to the value (a boolean or a
	// number compared as written in JSON, a list holding it).
	RequiredClaims map[string]string
	// Cookie names a cookie the token may come in, for browsers, when the
	// request has no Authorization header. Empty means the header only.
	// A caller authenticated by the cookie is marked Principal.Cookie, so
	// the middleware refuses its cross-site requests.
	Cookie string
	// UserClaim is the claim that names the user, a string: the
	// Principal's ID. Empty means "sub".
	UserClaim string
	// PolicyClaim is the claim whose value names the caller's policy in
	// Policies: a string, or a list whose first entry that names one
	// wins. Empty means every caller gets DefaultPolicy.
	PolicyClaim string
	// Policies are the policies by name.
	Policies map[string]Policy
	// DefaultPolicy names the policy of a caller whose PolicyClaim names
	// none. Empty means such a caller is refused (403) when Policies are
	// set, and is unrestricted when none are.
	DefaultPolicy string

	// HTTPClient fetches the discovery document and the key set. Nil
	// means a client of its own with FetchTimeout.
	HTTPClient *http.Client
	// FetchTimeout bounds a fetch. Zero means DefaultFetchTimeout.
	FetchTimeout time.Duration
	// MinRefreshInterval is the least time between two fetches of the
	// key set, whatever arrives: tokens with unknown key ids, or a
	// provider that is down. Zero means DefaultMinRefreshInterval.
	MinRefreshInterval time.Duration
	// MaxKeysLifetime bounds how long a key set is used before it is
	// fetched again; within it, the response's Cache-Control max-age (or
	// Expires) is honoured, and DefaultKeysLifetime applies when it has
	// none. Zero means DefaultMaxKeysLifetime.
	MaxKeysLifetime time.Duration
	// MaxCachedTokens bounds the verified tokens remembered until they
	// expire, so that a repeated token is not verified again. Zero means
	// DefaultMaxCachedTokens; negative means none are.
	MaxCachedTokens int
	// Logger receives key fetch failures. It never receives a token. Nil
	// means no logging.
	Logger *slog.Logger
	// Now returns the current time. Nil means time.Now.
	Now func() time.Time
}

// Policy is what a caller may mint, as a virtual key's fields say it.
type Policy struct {
	// Providers lists the provider names the caller may mint for. Empty
	// allows all.
	Providers []string
	// Models lists the requested models the caller may mint for,
	// case-insensitively. Empty, or a list with "*", allows all.
	Models []string
	// MaxTTL caps the lifetime of the secrets minted.
	MaxTTL time.Duration
	// RateLimit caps the caller's mints.
	RateLimit realtimesecret.Rate
	// MaxSession caps how long each brokered session lives.
	MaxSession time.Duration
	// MaxSessions caps the caller's concurrent sessions: brokered
	// sessions, WebSocket redemptions and calls created with its secrets.
	MaxSessions int
	// GovernanceFailOpen admits the caller's sessions uncounted when the
	// session registry cannot answer.
	GovernanceFailOpen bool
	// MaxUses caps the uses of a Gemini auth token. Zero means 1.
	MaxUses int
	// SingleUse makes the caller's secrets single-use: the first
	// redemption through the middleware passes, every later one is 401.
	SingleUse bool
	// Budget caps what the caller's metered sessions cost per period, as
	// VirtualKey.Budget.
	Budget contract.Budget
	// AllowUnmeteredMints lets a caller with a Budget mint client secrets,
	// as VirtualKey.AllowUnmeteredMints.
	AllowUnmeteredMints bool
}

// ErrInvalidConfig is wrapped by the errors New returns.
var ErrInvalidConfig = errors.New("oidc: invalid config")

func configError(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...)
}

func (c *Config) validate() error {
	if c.Issuer == "" {
		return configError("Issuer is required")
	}
	if err := checkURL(c.Issuer); err != nil {
		return configError("Issuer: %v", err)
	}
	if c.JWKSURL != "" {
		if err := checkURL(c.JWKSURL); err != nil {
			return configError("JWKSURL: %v", err)
		}
	}
	if len(c.Audiences) == 0 || slices.Contains(c.Audiences, "") {
		return configError("Audiences are required, and none may be empty: a token for another service must not pass here")
	}
	for _, a := range c.Algorithms {
		if !slices.Contains(supportedAlgorithms, a) {
			return configError("algorithm %q is not supported: want some of %v (never none, never an HMAC algorithm with a public key set)", a, supportedAlgorithms)
		}
	}
	if c.Cookie != "" && !validCookieName(c.Cookie) {
		return configError("Cookie %q is not a cookie name", c.Cookie)
	}
	for name, p := range c.Policies {
		switch {
		case name == "":
			return configError("a policy has an empty name")
		case p.MaxTTL < 0 || p.MaxSession < 0 || p.MaxSessions < 0 || p.MaxUses < 0:
			return configError("policy %q has a negative limit", name)
		case (p.RateLimit.Requests > 0) != (p.RateLimit.Per > 0):
			return configError("policy %q: RateLimit needs both Requests and Per", name)
		case p.Budget.USD < 0 || !p.Budget.IsZero() && p.Budget.Per < time.Minute:
			return configError("policy %q: a Budget needs a positive USD and a Per of at least a minute", name)
		}
	}
	if _, ok := c.Policies[c.DefaultPolicy]; c.DefaultPolicy != "" && !ok {
		return configError("DefaultPolicy %q is not one of Policies", c.DefaultPolicy)
	}
	if c.PolicyClaim != "" && len(c.Policies) == 0 {
		return configError("PolicyClaim %q names a claim, but there are no Policies to pick from", c.PolicyClaim)
	}
	if c.FetchTimeout < 0 || c.MinRefreshInterval < 0 || c.MaxKeysLifetime < 0 {
		return configError("FetchTimeout, MinRefreshInterval and MaxKeysLifetime must not be negative")
	}
	return nil
}

// checkURL accepts an https URL, or an http one on a loopback host.
func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.User != nil || u.Fragment != "" {
		return errors.New("want an https URL")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		host := u.Hostname()
		if ip := net.ParseIP(host); host == "localhost" || ip != nil && ip.IsLoopback() {
			return nil
		}
	}
	return errors.New("want an https URL (http only on a loopback address)")
}

func validCookieName(s string) bool {
	for _, c := range s {
		if c <= ' ' || c >= 0x7f || c == '=' || c == ';' || c == ',' || c == '"' || c == '\\' {
			return false
		}
	}
	return s != ""
}
