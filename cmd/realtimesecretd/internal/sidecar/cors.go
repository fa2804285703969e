package sidecar

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rs/cors"
)

// CORSConfig lets browser apps on other origins call the mint routes, the
// way a voice app's page mints a client secret with fetch(). It applies to
// the mint routes only: the sidecar answers CORS for what it answers itself,
// and everything it proxies keeps the existing proxy's CORS answers, so the
// two never add conflicting headers to one response.
//
// A preflight (OPTIONS with Access-Control-Request-Method) on a mint route
// is answered here and never needs a virtual key: browsers send preflights
// without credentials. An origin that is not allowed gets no
// Access-Control-Allow-Origin, so the browser refuses to send the mint.
//
// CORS is not authentication: any non-browser client can send any Origin.
// Virtual keys decide who may mint; CORS only decides which pages a browser
// lets use them.
type CORSConfig struct {
	// AllowedOrigins are the origins ("https://app.example.com", scheme,
	// host and port, no path) whose pages may mint. One "*" inside an
	// origin is a wildcard ("https://*.example.com"); "*" alone allows
	// every origin. Default none: CORS is off and browsers refuse
	// cross-origin mints.
	AllowedOrigins []string `yaml:"allowed_origins"`
	// AllowedHeaders are request headers allowed beyond those always
	// allowed: those the mint routes read (Authorization, Content-Type,
	// the virtual key header and the forwarded headers) and those the
	// official OpenAI SDKs send (Accept, OpenAI-Beta, OpenAI-Organization,
	// OpenAI-Project, Idempotency-Key and the X-Stainless-* family).
	AllowedHeaders []string `yaml:"allowed_headers"`
	// ExposedHeaders are response headers the page may read beyond
	// Retry-After, X-Request-Id and Location (a brokered call's URL), which
	// are always exposed.
	ExposedHeaders []string `yaml:"exposed_headers"`
	// AllowCredentials lets pages send cookies or TLS client certificates
	// with the mint, for an authenticating proxy in front that uses them.
	// Not allowed with the "*" origin. Default false: a virtual key in
	// Authorization needs no credentials mode.
	AllowCredentials bool `yaml:"allow_credentials"`
	// MaxAge is how long a browser may cache a preflight answer. Default
	// 10m; browsers cap it (Chromium at 2h).
	MaxAge Duration `yaml:"max_age"`
}

// DefaultCORSMaxAge is CORSConfig.MaxAge when the config leaves it out.
const DefaultCORSMaxAge = 10 * time.Minute

// Headers the mint routes read or answer with, allowed and exposed whatever
// the config says.
var (
	corsMintHeaders    = []string{"Authorization", "Content-Type", "OpenAI-Safety-Identifier", "X-Request-Id"}
	corsExposedHeaders = []string{"Retry-After", "X-Request-Id", "Location"}
)

// corsSDKHeaders are the request headers the official OpenAI SDKs send,
// allowed so that a page can mint with the SDK itself (openai-node with
// dangerouslyAllowBrowser and an ek_-free virtual key). openai-node 7.59.0
// sends, from a browser, Accept, Content-Type, Authorization, the
// X-Stainless-* platform headers, X-Stainless-Retry-Count,
// X-Stainless-Timeout, X-Stainless-Helper-Method for helpers, and
// OpenAI-Organization, OpenAI-Project and OpenAI-Beta when set; the Python
// and Go SDKs add a few X-Stainless-* of their own. They are only allowed
// through CORS: the mint routes never forward them upstream (see
// forward_headers).
var corsSDKHeaders = []string{
	"Accept",
	"OpenAI-Beta",
	"OpenAI-Organization",
	"OpenAI-Project",
	"Idempotency-Key",
	"X-Stainless-Arch",
	"X-Stainless-Async",
	"X-Stainless-Custom-Poll-Interval",
	"X-Stainless-Helper",
	"X-Stainless-Helper-Method",
	"X-Stainless-Lang",
	"X-Stainless-OS",
	"X-Stainless-Package-Version",
	"X-Stainless-Poll-Helper",
	"X-Stainless-Raw-Response",
	"X-Stainless-Read-Timeout",
	"X-Stainless-Retry-Count",
	"X-Stainless-Runtime",
	"X-Stainless-Runtime-Version",
	"X-Stainless-Stream-Helper",
	"X-Stainless-Timeout",
	// The OpenAI Agents SDK's WebRTC transport (@openai/agents-realtime)
	// sends it with its offer to /v1/realtime/calls.
	"X-OpenAI-Agents-SDK",
	// Google's Gen AI SDKs (a gemini provider): the virtual key as their
	// API key, and their client header.
	"X-Goog-Api-Key",
	"X-Goog-Api-Client",
}

// enabled reports whether any origin is allowed.
func (c *CORSConfig) enabled() bool { return len(c.AllowedOrigins) > 0 }

// validate checks the cors section; errors name the key at fault. An origin
// with a path or a trailing slash is the usual typo: it never matches what
// a browser sends, so it is refused rather than silently ignored.
func (c *CORSConfig) validate(ix *fileIndex) error {
	if c.MaxAge < 0 {
		return fmt.Errorf("%s must not be negative", ix.at("cors.max_age"))
	}
	if !c.enabled() && (len(c.AllowedHeaders) > 0 || len(c.ExposedHeaders) > 0 || c.AllowCredentials) {
		return fmt.Errorf("%s: allowed_origins is empty, so the other cors settings would have no effect", ix.at("cors"))
	}
	for i, o := range c.AllowedOrigins {
		path := "cors.allowed_origins[" + strconv.Itoa(i) + "]"
		if o == "*" {
			if len(c.AllowedOrigins) > 1 {
				return fmt.Errorf("%s: \"*\" allows every origin; list it alone", ix.at(path))
			}
			if c.AllowCredentials {
				return fmt.Errorf("%s: true is not allowed with the \"*\" origin: browsers refuse it, and it would let any page mint with its visitors' cookies", ix.at("cors.allow_credentials"))
			}
			continue
		}
		if err := validOrigin(o); err != nil {
			return fmt.Errorf("%s %q: %w", ix.at(path), o, err)
		}
	}
	for _, l := range []struct {
		key   string
		names []string
	}{{"cors.allowed_headers", c.AllowedHeaders}, {"cors.exposed_headers", c.ExposedHeaders}} {
		for i, h := range l.names {
			if !validHeaderName(h) {
				return fmt.Errorf("%s %q: not a header name", ix.at(l.key+"["+strconv.Itoa(i)+"]"), h)
			}
		}
	}
	return nil
}

// validOrigin checks that o is what a browser sends in Origin:
// scheme://host[:port], with at most one "*" (in the host, or as the port).
func validOrigin(o string) error {
	if strings.Count(o, "*") > 1 {
		return errors.New("at most one * is allowed")
	}
	// "0" stands for the wildcard: it is valid both in a host and as a port.
	u, err := url.Parse(strings.Replace(o, "*", "0", 1))
	switch {
	case err != nil || u.Host == "" || u.Opaque != "":
		return errors.New("want scheme://host[:port], like https://app.example.com")
	case u.Scheme != "http" && u.Scheme != "https":
		return errors.New("want an http or https origin")
	case u.User != nil:
		return errors.New("an origin has no user info")
	case u.Path != "" || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.HasSuffix(o, "#"):
		scheme, rest, _ := strings.Cut(o, "://")
		host, _, _ := strings.Cut(rest, "/")
		host, _, _ = strings.Cut(host, "?")
		host, _, _ = strings.Cut(host, "#")
		return fmt.Errorf("an origin has no path, query or fragment, not even a trailing /: write %s://%s", scheme, host)
	}
	return nil
}

// validHeaderName reports whether s is an RFC 9110 token.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r >= 0x80 || !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("!#$%&'*+-.^_`|~", r)) {
			return false
		}
	}
	return true
}

// withCORS returns next with CORS answered on the mint and brokered
// session routes of cfg, or next itself when cfg allows no origin. Every
// other path goes to next untouched, OPTIONS included, so the existing proxy
// keeps its own CORS. A refused preflight is logged at info with its origin
// and requested method and headers, the only trace of it: the browser
// shows the page a bare network error.
func withCORS(cfg *Config, next http.Handler, log *slog.Logger) http.Handler {
	c := cfg.CORS
	if !c.enabled() {
		return next
	}
	vkHeader := cfg.VirtualKeyHeader
	if vkHeader == "" {
		vkHeader = "X-Virtual-Key"
	}
	allowed := slices.Concat([]string{vkHeader}, corsMintHeaders, corsSDKHeaders, cfg.ForwardHeaders, c.AllowedHeaders)
	maxAge := time.Duration(c.MaxAge)
	if maxAge == 0 {
		maxAge = DefaultCORSMaxAge
	}
	policy := cors.New(cors.Options{
		AllowedOrigins:   c.AllowedOrigins,
		AllowedMethods:   []string{http.MethodPost},
		AllowedHeaders:   allowed,
		ExposedHeaders:   append(append([]string(nil), corsExposedHeaders...), c.ExposedHeaders...),
		AllowCredentials: c.AllowCredentials,
		MaxAge:           int(maxAge / time.Second),
	})
	return &corsRoutes{mint: fixedRoutes(cfg), cors: policy.Handler(next), next: next, log: log}
}

// corsRoutes sends the mint and brokered session paths through the CORS
// policy.
type corsRoutes struct {
	mint map[string]bool // fixedRoutes; hang-ups by isHangupPath
	cors http.Handler
	next http.Handler
	log  *slog.Logger
}

func (h *corsRoutes) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !h.mint[r.URL.Path] && !isHangupPath(h.mint, r.URL.Path) {
		h.next.ServeHTTP(w, r)
		return
	}
	h.cors.ServeHTTP(w, r)
	if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" &&
		w.Header().Get("Access-Control-Allow-Origin") == "" {
		h.log.LogAttrs(r.Context(), slog.LevelInfo, "cors preflight refused",
			slog.String("path", r.URL.Path),
			slog.String("origin", clip(r.Header.Get("Origin"))),
			slog.String("requested_method", clip(r.Header.Get("Access-Control-Request-Method"))),
			slog.String("requested_headers", clip(strings.Join(r.Header.Values("Access-Control-Request-Headers"), ","))))
	}
}

// clip bounds a client-chosen value in a log line.
func clip(s string) string {
	const limit = 512
	if len(s) > limit {
		return s[:limit] + "..."
	}
	return s
}
