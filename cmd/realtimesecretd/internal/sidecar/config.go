package sidecar

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
)

// Config is the sidecar's YAML file. Every field's comment says its YAML key
// and what omitting it means; Load applies those defaults.
type Config struct {
	// Listen is the address mint and proxied traffic is served on.
	// Default "127.0.0.1:8080".
	Listen string `yaml:"listen"`
	// Upstream is the existing proxy every request that is not a mint is
	// passed to, for example "http://127.0.0.1:4000". Empty answers those
	// requests 404.
	Upstream string `yaml:"upstream"`
	// DefaultProvider names the provider a model without a provider
	// prefix goes to on /v1/... routes ("gpt-realtime", as the official
	// SDKs send it). Default none: such a model is a 400 asking for
	// "provider/model". It must name a configured provider.
	DefaultProvider string `yaml:"default_provider"`
	// PathPrefix is put before every mint route ("/api" serves
	// /api/v1/realtime/client_secrets). Default none.
	PathPrefix string `yaml:"path_prefix"`
	// Demo lets an openai provider whose keys are all empty (for example
	// "${OPENAI_API_KEY:-}" with the variable unset) mint against a
	// built-in fake upstream on a loopback port. Default false: an empty
	// key is an error.
	Demo bool `yaml:"demo"`
	// LogLevel is debug, info, warn or error. Default info.
	LogLevel string `yaml:"log_level"`
	// LogFlushInterval is how long log lines may wait in memory before
	// they are written out, so that a busy sidecar writes many lines at a
	// time instead of one per mint. Lines are also written when 32 KiB
	// are waiting, at once with any WARN or ERROR line, and on shutdown;
	// a crash loses at most this interval of INFO and DEBUG lines.
	// Default 200ms; 0 writes every line as it is logged.
	LogFlushInterval *Duration `yaml:"log_flush_interval"`
	// AllowAnonymous allows minting without a virtual key when there are
	// none. Default false: without virtual keys the sidecar refuses to start.
	AllowAnonymous bool `yaml:"allow_anonymous"`
	// VirtualKeyHeader is the header a caller may send its virtual key in,
	// instead of "Authorization: Bearer". Default "X-Virtual-Key".
	VirtualKeyHeader string `yaml:"virtual_key_header"`
	// ForwardHeaders are the client headers sent upstream with a mint.
	// Omitted means OpenAI-Safety-Identifier and X-Request-Id; [] means none.
	ForwardHeaders []string `yaml:"forward_headers"`
	// MaxBodyBytes caps a mint request body (413 above it). Default 1 MiB.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// StrictStore answers 503 when a token record cannot be stored, instead
	// of minting an unattributed token. Default false.
	StrictStore bool `yaml:"strict_store"`
	// GovernanceFailOpen admits sessions without a lease, uncounted, when
	// the store (Redis) cannot say how many a key holds. Default false:
	// 503 governance_unavailable, retryable, so no key is ever over its
	// max_sessions.
	GovernanceFailOpen bool `yaml:"governance_fail_open"`
	// SessionLifetime is how long the record of a brokered session (a
	// WebRTC call or a GPT-Live session) is kept: its attribution on the
	// requests that name its id, and its owner's right to hang it up. Set
	// it to the longest a session may live. Default 2h; at least 1m.
	SessionLifetime Duration `yaml:"session_lifetime"`
	// UsageMetering attaches a read-only sideband to every brokered
	// session, with the upstream key that created it, and reports the
	// usage the provider sends on it (tokens for a call, seconds for a
	// GPT-Live session) in the log and the metrics. No media is relayed.
	// A provider's own usage_metering overrides it. Default false.
	UsageMetering bool `yaml:"usage_metering"`
	// Prices are model prices in dollars that metered usage is priced
	// with and budgets spent by, by model name (dated and numbered names
	// such as gpt-realtime-2025-08-28 match by prefix), like
	// {gpt-realtime: {text_input: 4, audio_input: 32, audio_output: 64}}.
	// Each replaces the built-in price of its model or adds one. Default:
	// the built-in prices (gpt-realtime, gpt-realtime-2, gpt-realtime-mini,
	// gpt-4o-transcribe, gpt-4o-mini-transcribe, gpt-live-1).
	Prices map[string]PriceConfig `yaml:"prices"`
	// SidebandAttachTimeout is how long the metering sideband of a session
	// of a key with a budget may take to attach; a session still unmetered
	// then is ended upstream. Default 10s.
	SidebandAttachTimeout Duration `yaml:"sideband_attach_timeout"`
	// AdoptAfter is, with a Redis store and usage metering, how soon
	// after a sidecar stops vouching for the sessions it meters (it died
	// or lost Redis) another adopts them. Default 15s.
	AdoptAfter Duration `yaml:"adopt_after"`

	// Server holds the HTTP server's limits.
	Server ServerConfig `yaml:"server"`
	// Admin holds the health, readiness and metrics endpoints.
	Admin AdminConfig `yaml:"admin"`
	// CORS lets browser pages on other origins mint. Default off.
	CORS CORSConfig `yaml:"cors"`

	// Providers are the upstreams to mint at, by name. Required.
	Providers map[string]ProviderConfig `yaml:"providers"`
	// VirtualKeys are the credentials callers mint with.
	VirtualKeys []VirtualKeyConfig `yaml:"virtual_keys"`
	// Store keeps token records for attribution.
	Store StoreConfig `yaml:"store"`
	// Auth holds the ways callers authenticate besides virtual keys:
	// auth.jwt, the end users of an app (auth.go).
	Auth AuthConfig `yaml:"auth"`
	// SealKeys turn on sealed tokens: base64 of 32 random bytes each
	// ("openssl rand -base64 32"); the first seals, all open.
	SealKeys []realtimesecret.Secret `yaml:"seal_keys"`

	// providerOrder is the order of Providers in the file.
	providerOrder []string
	// ix says where each key is in the file, for errors; nil for a Config
	// not parsed from one.
	ix *fileIndex
}

// ServerConfig holds the HTTP server's limits.
type ServerConfig struct {
	// ReadHeaderTimeout bounds reading a request's headers. Default 10s.
	ReadHeaderTimeout Duration `yaml:"read_header_timeout"`
	// ReadTimeout bounds reading a mint or admin request, body included.
	// Default 30s.
	ReadTimeout Duration `yaml:"read_timeout"`
	// WriteTimeout bounds a mint or admin request from the end of its
	// headers to the end of the answer; it must be longer than every
	// provider's timeout. Default 1m.
	WriteTimeout Duration `yaml:"write_timeout"`
	// ProxyTimeout bounds a proxied request, reading and writing, instead
	// of ReadTimeout and WriteTimeout. Default 0: none, because streamed
	// completions run for minutes; WebSocket connections are never bounded.
	ProxyTimeout Duration `yaml:"proxy_timeout"`
	// IdleTimeout closes keep-alive connections idle this long. Default 2m.
	IdleTimeout Duration `yaml:"idle_timeout"`
	// MaxHeaderBytes caps a request's headers. Default 65536.
	MaxHeaderBytes int `yaml:"max_header_bytes"`
	// ShutdownTimeout is the drain limit: on SIGTERM or SIGINT, in-flight
	// requests and WebSocket connections get this long to finish before
	// they are closed. Default 30s.
	ShutdownTimeout Duration `yaml:"shutdown_timeout"`
}

// AdminConfig places the health, readiness and metrics endpoints. They
// answer GET and HEAD.
type AdminConfig struct {
	// Listen serves the admin endpoints on their own address (and not on
	// Listen). Default "": they are served on Listen, before the proxy.
	Listen string `yaml:"listen"`
	// HealthPath answers 200 while the process serves. Default "/healthz".
	HealthPath string `yaml:"health_path"`
	// ReadyPath answers 200 when the store is reachable, 503 otherwise or
	// while shutting down. Default "/readyz".
	ReadyPath string `yaml:"ready_path"`
	// MetricsPath serves Prometheus metrics. Default "/metrics".
	MetricsPath string `yaml:"metrics_path"`
	// Token turns on the admin API (POST
	// /admin/v1/virtual_keys/{id}/end_sessions) for callers that send it as
	// "Authorization: Bearer <token>". Write it as "${VARIABLE}"; at least
	// 16 characters. Default none: the admin API does not exist (404).
	Token realtimesecret.Secret `yaml:"token"`
}

// ProviderConfig is one upstream.
type ProviderConfig struct {
	// Type is the adapter: openai (OpenAI and OpenAI-compatible vendors),
	// azure, xai (xAI's Voice Agent API) or gemini (the Gemini API's Live API
	// tokens). Default: the provider's name when it is one of them.
	Type string `yaml:"type"`
	// BaseURL is the API root. Default https://api.openai.com for openai,
	// https://api.x.ai for xai, https://generativelanguage.googleapis.com for
	// gemini.
	BaseURL string `yaml:"base_url"`
	// Endpoint is the Azure OpenAI resource endpoint, like
	// https://my-resource.openai.azure.com. Required for azure; azure only.
	Endpoint string `yaml:"endpoint"`
	// APIVersion is the Azure preview api-version (like 2025-04-01-preview)
	// through which /v1/realtime/sessions is served with beta: forward.
	// Default none: azure then answers the beta endpoints 400. Azure only.
	APIVersion string `yaml:"api_version"`
	// Timeout bounds one mint call upstream. Default 30s.
	Timeout Duration `yaml:"timeout"`
	// MaxResponseBytes caps an upstream reply. Default 1 MiB.
	MaxResponseBytes int64 `yaml:"max_response_bytes"`
	// Keys are the upstream API keys. At least one.
	Keys []KeyConfig `yaml:"keys"`
	// UsageMetering overrides the top-level usage_metering for this
	// provider's sessions. Default: the top-level value.
	UsageMetering *bool `yaml:"usage_metering"`
	// Aliases maps a requested model to the model (on Azure, the
	// deployment) sent upstream, for every key; a key's own aliases entry
	// for a model wins. Default none.
	Aliases map[string]string `yaml:"aliases"`
	// Beta is how a mint at the beta routes (/v1/realtime/sessions,
	// /v1/realtime/transcription_sessions) reaches this provider: translate
	// (onto the GA /v1/realtime/client_secrets, answered in the beta
	// shape) or forward (as it is, to the provider's beta endpoint).
	// Default translate for openai and azure, which have switched the beta
	// API off; set forward for an OpenAI-compatible vendor that still
	// serves it. Other types serve no beta routes.
	Beta string `yaml:"beta"`
}

// KeyConfig is one upstream API key.
type KeyConfig struct {
	// ID names the key in records, logs, metrics and X-Realtime-Key-Id.
	ID string `yaml:"id"`
	// Value is the API key, normally "${VARIABLE}". Azure receives it as
	// the api-key header.
	Value realtimesecret.Secret `yaml:"value"`
	// BearerToken, instead of Value, is a Microsoft Entra ID access token
	// sent as "Authorization: Bearer", normally "${VARIABLE}". It is used
	// as it is, never refreshed. Azure only.
	BearerToken realtimesecret.Secret `yaml:"bearer_token"`
	// Models the key may mint for; omitted, [] or ["*"] allows all.
	Models []string `yaml:"models"`
	// BlockedModels the key never mints for.
	BlockedModels []string `yaml:"blocked_models"`
	// Weight is the key's share of mints. Default 1; must be positive
	// (to stop using a key, set enabled: false).
	Weight *float64 `yaml:"weight"`
	// Enabled false keeps the key configured but never picks it. Default
	// true.
	Enabled *bool `yaml:"enabled"`
	// Aliases maps a requested model to the model sent upstream, for this
	// key; it wins over the provider's aliases for the same model.
	Aliases map[string]string `yaml:"aliases"`
}

// VirtualKeyConfig is a credential callers mint with, and its policy.
type VirtualKeyConfig struct {
	// ID names the key in records, logs and X-Realtime-Virtual-Key-Id.
	ID string `yaml:"id"`
	// Value is the secret callers present, normally "${VARIABLE}".
	Value realtimesecret.Secret `yaml:"value"`
	// Active false answers the key's mints 403. Default true.
	Active *bool `yaml:"active"`
	// Providers the key may mint for; omitted or [] allows all.
	Providers []string `yaml:"providers"`
	// Models (as requested, before aliases) the key may mint for; omitted,
	// [] or ["*"] allows all.
	Models []string `yaml:"models"`
	// MaxTTL caps the lifetime of the secrets it mints. Default none.
	MaxTTL Duration `yaml:"max_ttl"`
	// RateLimit caps its mints. Default none.
	RateLimit RateConfig `yaml:"rate_limit"`
	// MaxSession caps how long each brokered session of the key runs: the
	// sidecar ends it upstream at its creation plus max_session (within
	// 2s), and its record then expires. Default 0: no cap.
	MaxSession Duration `yaml:"max_session"`
	// MaxSessions caps the key's concurrent sessions: brokered sessions
	// and WebSocket connections redeeming its tokens through the sidecar.
	// One more is answered 429 too_many_sessions. Default 0: no limit.
	MaxSessions Count `yaml:"max_sessions"`
	// MaxUses caps the uses (sessions opened) of a Gemini auth token it
	// mints; "uses": 0, unlimited, is always refused. Default 0: 1 use.
	MaxUses Count `yaml:"max_uses"`
	// GovernanceFailOpen opens governance for this key alone, as
	// governance_fail_open does for all. Default false.
	GovernanceFailOpen bool `yaml:"governance_fail_open"`
	// Budget caps what the key's metered sessions cost per period, as
	// {usd: 5.00, per: 24h}: a session created once it is spent is
	// answered 429 budget_exceeded, and the usage that spends it ends the
	// key's live sessions. Its sessions must be metered (usage_metering)
	// and their models priced. Default none.
	Budget BudgetConfig `yaml:"budget"`
	// AllowUnmeteredMints lets a key with a budget mint client secrets,
	// whose sessions go to the provider directly and spend outside the
	// budget. Default false: 403 unmetered_mint.
	AllowUnmeteredMints bool `yaml:"allow_unmetered_mints"`
	// SingleUse makes the secrets the key mints single-use: the first
	// redemption through the sidecar passes, every later one is 401
	// client_secret_used (across sidecars on one Redis). Default false.
	SingleUse bool `yaml:"single_use"`
}

// RateConfig is a number of requests per period, as {requests: 60, per: 1m}.
type RateConfig struct {
	Requests int      `yaml:"requests"`
	Per      Duration `yaml:"per"`
}

// StoreConfig selects where token records are kept.
type StoreConfig struct {
	// Type is memory (in-process, the default) or redis. With redis, token
	// records and virtual key rate limits are shared by every sidecar on
	// the same Redis and prefix.
	Type string `yaml:"type"`
	// URL is the Redis to use, for type redis (required there):
	// redis://[user:password@]host:port/db, rediss://... for TLS, or
	// unix:///path. It may hold a password, so it is never logged.
	URL realtimesecret.Secret `yaml:"url"`
	// Prefix is put before every Redis key. Default "realtimesecret:".
	Prefix string `yaml:"prefix"`
	// Timeout bounds each call to Redis; a slower Redis counts as failed
	// (see strict_store). Default 250ms.
	Timeout Duration `yaml:"timeout"`
}

// Duration is a time.Duration written as a string: "30s", "10m", "1h30m".
// A bare number is an error: its unit would be a guess.
type Duration time.Duration

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		*d = 0
		return nil
	}
	// The value is not quoted back: it may come from a variable.
	v, err := time.ParseDuration(n.Value)
	if n.Kind != yaml.ScalarNode || err != nil {
		return fmt.Errorf("line %d: not a duration (write it like 30s, 10m or 1h30m)", n.Line)
	}
	if v < 0 {
		return fmt.Errorf("line %d: a duration must not be negative", n.Line)
	}
	*d = Duration(v)
	return nil
}

// Count is a number of things that must not be negative, as max_sessions.
type Count int

// UnmarshalYAML implements yaml.Unmarshaler.
func (c *Count) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		*c = 0
		return nil
	}
	var v int
	// The value is not quoted back: it may come from a variable.
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&v) != nil {
		return fmt.Errorf("line %d: not a whole number", n.Line)
	}
	if v < 0 {
		return fmt.Errorf("line %d: a count must not be negative (0 means no limit)", n.Line)
	}
	*c = Count(v)
	return nil
}

// Defaults of the keys Load fills in.
const (
	DefaultListen            = "127.0.0.1:8080"
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultWriteTimeout      = time.Minute
	DefaultIdleTimeout       = 2 * time.Minute
	DefaultMaxHeaderBytes    = 64 << 10
	DefaultShutdownTimeout   = 30 * time.Second
	DefaultLogFlushInterval  = 200 * time.Millisecond
	DefaultSessionLifetime   = realtimesecret.DefaultSessionLifetime
	minSessionLifetime       = time.Minute
	minAdminTokenLen         = 16
	DefaultHealthPath        = "/healthz"
	DefaultReadyPath         = "/readyz"
	DefaultMetricsPath       = "/metrics"
	defaultProviderTimeout   = 30 * time.Second
	maxConfigBytes           = 1 << 20
)

// Load reads, expands and validates the config file at path. Variables are
// looked up with env. Errors name the line and, for unset variables, the
// variable; they never hold a value.
func Load(path string, env LookupEnv) (*Config, error) {
	return load(path, env, nil)
}

// load is Load with adjust applied to the config before it is validated
// (the flags that override the file); adjust may be nil.
func load(path string, env LookupEnv, adjust func(*Config)) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxConfigBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxConfigBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, maxConfigBytes)
	}
	cfg, err := parse(data, env, adjust)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}

// Parse is Load for a file's contents.
func Parse(data []byte, env LookupEnv) (*Config, error) {
	return parse(data, env, nil)
}

func parse(data []byte, env LookupEnv, adjust func(*Config)) (*Config, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("the file is empty")
		}
		return nil, syntaxError(err, data)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("more than one YAML document")
	}
	if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("the file must be a YAML mapping (key: value lines)")
	}
	if err := checkKnownKeys(&doc, reflect.TypeFor[Config]()); err != nil {
		return nil, err
	}
	ix := indexFile(&doc)
	if err := expandNode(&doc, env); err != nil {
		return nil, err
	}
	if err := checkTypes(&doc, reflect.TypeFor[Config](), ix); err != nil {
		return nil, err
	}
	cfg := &Config{ix: ix}
	if err := doc.Decode(cfg); err != nil {
		return nil, sanitizeYAMLError(err)
	}
	cfg.providerOrder = mappingKeys(doc.Content[0], "providers")
	cfg.setDefaults()
	if adjust != nil {
		adjust(cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// yamlValue matches the value the yaml package quotes in a type error
// ("cannot unmarshal !!str `abc` into int"): it may come from a variable.
var yamlValue = regexp.MustCompile("(cannot unmarshal !!\\w+) `.*` into")

func sanitizeYAMLError(err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return err
	}
	lines := make([]string, len(te.Errors))
	for i, e := range te.Errors {
		lines[i] = yamlValue.ReplaceAllString(e, "$1 value into")
	}
	return errors.New(strings.Join(lines, "; "))
}

// mappingKeys returns the keys of the mapping under key in m, in order.
func mappingKeys(m *yaml.Node, key string) []string {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value != key {
			continue
		}
		v := m.Content[i+1]
		for v.Kind == yaml.AliasNode {
			v = v.Alias
		}
		var keys []string
		for j := 0; j+1 < len(v.Content); j += 2 {
			keys = append(keys, v.Content[j].Value)
		}
		return keys
	}
	return nil
}

func (c *Config) setDefaults() {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	defDur := func(d *Duration, v time.Duration) {
		if *d == 0 {
			*d = Duration(v)
		}
	}
	def(&c.Listen, DefaultListen)
	def(&c.LogLevel, "info")
	if c.LogFlushInterval == nil {
		d := Duration(DefaultLogFlushInterval)
		c.LogFlushInterval = &d
	}
	def(&c.Store.Type, "memory")
	def(&c.Admin.HealthPath, DefaultHealthPath)
	def(&c.Admin.ReadyPath, DefaultReadyPath)
	def(&c.Admin.MetricsPath, DefaultMetricsPath)
	defDur(&c.SessionLifetime, DefaultSessionLifetime)
	defDur(&c.Server.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	defDur(&c.Server.ReadTimeout, DefaultReadTimeout)
	defDur(&c.Server.WriteTimeout, DefaultWriteTimeout)
	defDur(&c.Server.IdleTimeout, DefaultIdleTimeout)
	defDur(&c.Server.ShutdownTimeout, DefaultShutdownTimeout)
	if c.Server.MaxHeaderBytes == 0 {
		c.Server.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	for name, p := range c.Providers {
		if p.Type == "" && knownType(name) {
			p.Type = name
		}
		defDur(&p.Timeout, defaultProviderTimeout)
		if p.Type == "openai" || p.Type == "azure" {
			def(&p.Beta, "translate") // both have switched the beta API off
		}
		c.Providers[name] = p
	}
}

func (c *Config) validate() error {
	ix := c.ix
	if _, err := slogLevel(c.LogLevel); err != nil {
		return fmt.Errorf("%s: %w", ix.at("log_level"), err)
	}
	if err := validAddr(ix.at("listen"), c.Listen); err != nil {
		return err
	}
	if c.Admin.Listen != "" {
		if err := validAddr(ix.at("admin.listen"), c.Admin.Listen); err != nil {
			return err
		}
		if c.Admin.Listen == c.Listen {
			return fmt.Errorf("%s is the same address as listen: leave it empty to serve the admin endpoints on listen", ix.at("admin.listen"))
		}
	}
	if c.Upstream != "" {
		if _, err := parseUpstream(c.Upstream); err != nil {
			return fmt.Errorf("%s%w", lineOf(ix, "upstream"), err)
		}
	}
	if c.PathPrefix != "" && !strings.HasPrefix(c.PathPrefix, "/") {
		return fmt.Errorf("%s %q: want a path starting with /, like /api", ix.at("path_prefix"), c.PathPrefix)
	}
	if c.VirtualKeyHeader != "" && !validHeaderName(c.VirtualKeyHeader) {
		return fmt.Errorf("%s %q: not a header name", ix.at("virtual_key_header"), c.VirtualKeyHeader)
	}
	if c.MaxBodyBytes < 0 {
		return fmt.Errorf("%s must not be negative", ix.at("max_body_bytes"))
	}
	if c.Server.MaxHeaderBytes < 0 {
		return fmt.Errorf("%s must not be negative", ix.at("server.max_header_bytes"))
	}
	if d := time.Duration(c.SessionLifetime); d < minSessionLifetime {
		return fmt.Errorf("%s %s is below %s: a brokered session's record would expire while it runs, and its owner could no longer hang it up", ix.at("session_lifetime"), d, minSessionLifetime)
	}
	if err := c.validateProviders(); err != nil {
		return err
	}
	if _, ok := c.Providers[c.DefaultProvider]; c.DefaultProvider != "" && !ok {
		return fmt.Errorf("%s %q is not one of providers (%s)", ix.at("default_provider"), c.DefaultProvider, strings.Join(c.providerOrder, ", "))
	}
	if err := c.validateAdminPaths(); err != nil {
		return err
	}
	if err := c.CORS.validate(ix); err != nil {
		return err
	}
	switch {
	case len(c.VirtualKeys) == 0 && !c.AllowAnonymous && c.Auth.JWT == nil:
		return errors.New("no virtual_keys: anyone who reaches the sidecar could mint with the provider keys. " +
			"Add virtual_keys or auth.jwt, or set allow_anonymous: true if an authenticating proxy in front decides who may mint")
	case len(c.VirtualKeys) > 0 && c.AllowAnonymous:
		return fmt.Errorf("%s and virtual_keys are both set: with virtual keys every mint needs one, so remove one of them", ix.at("allow_anonymous"))
	case c.Auth.JWT != nil && c.AllowAnonymous:
		return fmt.Errorf("%s and auth.jwt are both set: with auth.jwt every mint needs a token or a virtual key, so remove one of them", ix.at("allow_anonymous"))
	}
	if err := c.validateAuth(); err != nil {
		return err
	}
	if err := c.validateVirtualKeys(); err != nil {
		return err
	}
	if err := c.validateSpend(); err != nil {
		return err
	}
	if t := c.Admin.Token; t != "" && len(t) < minAdminTokenLen {
		return fmt.Errorf("%s is shorter than %d characters: use a random one, like the output of openssl rand -hex 32", ix.at("admin.token"), minAdminTokenLen)
	}
	if err := c.Store.validate(ix); err != nil {
		return err
	}
	// Decoded again by build: the decoded keys are not kept in the Config,
	// where an unexported field would print them with %+v.
	if _, err := decodeSealKeys(c.SealKeys); err != nil {
		return fmt.Errorf("%s%w", lineOf(ix, "seal_keys"), err)
	}
	return nil
}

// lineOf returns "line N: " for path, or "" when the file does not have
// it, for errors that name their key themselves.
func lineOf(ix *fileIndex, path string) string {
	if at := ix.at(path); at != path {
		return strings.TrimSuffix(at, path)
	}
	return ""
}

// validateVirtualKeys checks what the core would refuse, in the file's
// terms: the core names Go fields ("RateLimit needs both Requests and
// Per"), the file's author wrote YAML keys.
func (c *Config) validateVirtualKeys() error {
	ix := c.ix
	ids := map[string]int{}
	values := map[realtimesecret.Secret]int{}
	for i, vk := range c.VirtualKeys {
		path := "virtual_keys[" + strconv.Itoa(i) + "]"
		switch prev, dupID := ids[vk.ID]; {
		case vk.ID == "":
			return fmt.Errorf("%s: id is required: it names the key in logs, metrics and X-Realtime-Virtual-Key-Id", ix.at(path))
		case dupID:
			return fmt.Errorf("%s %q: virtual_keys[%d] has it too; each key needs its own id", ix.at(path+".id"), vk.ID, prev)
		case vk.Value == "":
			return fmt.Errorf("%s (%s): value is empty (%s)", ix.at(path), vk.ID, ix.setHint(path+".value"))
		}
		if prev, dup := values[vk.Value]; dup {
			return fmt.Errorf("%s (%s): value is the same as virtual_keys[%d]'s: each key needs its own", ix.at(path+".value"), vk.ID, prev)
		}
		ids[vk.ID], values[vk.Value] = i, i
		rl := vk.RateLimit
		if rl.Requests < 0 {
			return fmt.Errorf("%s must not be negative", ix.at(path+".rate_limit.requests"))
		}
		if (rl.Requests > 0) != (rl.Per > 0) {
			return fmt.Errorf("%s needs both requests and per, like {requests: 60, per: 1m}", ix.at(path+".rate_limit"))
		}
		for j, p := range vk.Providers {
			if _, ok := c.Providers[p]; !ok {
				return fmt.Errorf("%s %q is not one of providers (%s)", ix.at(path+".providers["+strconv.Itoa(j)+"]"), p, strings.Join(c.providerOrder, ", "))
			}
		}
		if vk.Value.Reveal() == demoVirtualKey {
			if err := c.demoKeyAllowed(path, vk.ID); err != nil {
				return err
			}
		}
	}
	return nil
}

// demoKeyAllowed refuses the published demo virtual key where it would
// mint for real on a network address: anyone who has read the repository
// has it. It is allowed in demo mode (no provider has a key: it mints only
// worthless demo secrets) and on a loopback address (make run with a key).
func (c *Config) demoKeyAllowed(path, id string) error {
	if len(c.DemoProviders()) == len(c.Providers) || isLoopback(c.Listen) {
		return nil
	}
	return fmt.Errorf("%s (%s): value is the published demo key, and a provider has a key: on %s anyone could mint with it. "+
		"Give the virtual key a value of your own (set %s), or leave the provider keys unset for demo mode",
		c.ix.at(path+".value"), id, c.Listen, c.ix.varsOf(path+".value"))
}

func (s *StoreConfig) validate(ix *fileIndex) error {
	switch s.Type {
	case "memory":
		// url, prefix and timeout are ignored, so that one file can switch
		// type with a variable.
	case "redis":
		if s.URL == "" {
			return fmt.Errorf("%s is required for type redis (%s)", ix.at("store.url"), ix.setHint("store.url"))
		}
	default:
		return fmt.Errorf("%s %q: want memory or redis", ix.at("store.type"), s.Type)
	}
	return nil
}

func (c *Config) validateProviders() error {
	ix := c.ix
	if len(c.Providers) == 0 {
		return fmt.Errorf("%sno providers: configure at least one under providers", lineOf(ix, "providers"))
	}
	for _, name := range c.providerOrder {
		p := c.Providers[name]
		path := "providers." + name
		if !validName(name) {
			return fmt.Errorf("%s: the name must be letters, digits, '-', '_' or '.'", ix.at(path))
		}
		switch p.Type {
		case "openai", "azure", "xai", "gemini":
		case "":
			return fmt.Errorf("%s: type is required ("+typeList+")", ix.at(path))
		default:
			return fmt.Errorf("%s: type %q: want "+typeList, ix.at(path), p.Type)
		}
		if p.MaxResponseBytes < 0 {
			return fmt.Errorf("%s must not be negative", ix.at(path+".max_response_bytes"))
		}
		if p.Beta != "" && p.Beta != "translate" && p.Beta != "forward" {
			return fmt.Errorf("%s %q: want translate or forward", ix.at(path+".beta"), p.Beta)
		}
		if ws := time.Duration(c.Server.WriteTimeout); ws <= time.Duration(p.Timeout) {
			return fmt.Errorf("%s %s is not below server.write_timeout %s: a slow mint would be cut off without an answer",
				ix.at(path+".timeout"), time.Duration(p.Timeout), ws)
		}
		if len(p.Keys) == 0 {
			return fmt.Errorf("%s: no keys", ix.at(path+".keys"))
		}
		if err := validateTypeFields(name, p); err != nil {
			return fmt.Errorf("%s%w", lineOf(ix, path), err)
		}
		demo := c.isDemo(p)
		ids := map[string]int{}
		for i, k := range p.Keys {
			kpath := path + ".keys[" + strconv.Itoa(i) + "]"
			prev, dup := ids[k.ID]
			switch {
			case k.ID == "":
				return fmt.Errorf("%s: id is required: it names the key in logs, metrics and X-Realtime-Key-Id", ix.at(kpath))
			case dup:
				return fmt.Errorf("%s %q: keys[%d] has it too; each key needs its own id", ix.at(kpath+".id"), k.ID, prev)
			case k.Value == "" && k.BearerToken == "" && !demo:
				return fmt.Errorf("%s (%s): value is empty (%s)", ix.at(kpath), k.ID, ix.setHint(kpath+".value"))
			case k.Weight != nil && *k.Weight <= 0:
				return fmt.Errorf("%s (%s): weight must be positive (set enabled: false to stop using a key)", ix.at(kpath+".weight"), k.ID)
			}
			ids[k.ID] = i
		}
	}
	return nil
}

// validateAdminPaths checks that the admin paths are distinct paths that
// shadow no mint or broker route. A clash with a path of the existing proxy is the
// reason they can be moved; the sidecar cannot know those.
func (c *Config) validateAdminPaths() error {
	paths := map[string]string{}
	mint := fixedRoutes(c)
	for _, p := range []struct{ key, path string }{
		{"admin.health_path", c.Admin.HealthPath},
		{"admin.ready_path", c.Admin.ReadyPath},
		{"admin.metrics_path", c.Admin.MetricsPath},
	} {
		at := c.ix.at(p.key)
		u, err := url.Parse(p.path)
		if err != nil || !strings.HasPrefix(p.path, "/") || u.Path != p.path || u.RawQuery != "" {
			return fmt.Errorf("%s %q: want a path starting with /", at, p.path)
		}
		if other, dup := paths[p.path]; dup {
			return fmt.Errorf("%s and %s are both %q", c.ix.at(other), p.key, p.path)
		}
		if mint[p.path] || isHangupPath(mint, p.path) {
			return fmt.Errorf("%s %q is a mint route or a broker route", at, p.path)
		}
		if c.Admin.Token != "" && (strings.HasPrefix(p.path, adminAPIPrefix) || p.path == adminUsagePath) {
			return fmt.Errorf("%s %q is under %s, where the admin API is served", at, p.path, adminAPIPrefix)
		}
		paths[p.path] = p.key
	}
	return nil
}

// isDemo reports whether p is served by the demo's fake upstream: demo is
// on, p is an openai provider, and none of its keys has a value.
func (c *Config) isDemo(p ProviderConfig) bool {
	if !c.Demo || p.Type != "openai" {
		return false
	}
	for _, k := range p.Keys {
		if k.Value != "" {
			return false
		}
	}
	return true
}

// DemoProviders returns the names of the providers the demo's fake
// upstream serves, in file order; none outside demo mode.
func (c *Config) DemoProviders() []string {
	var names []string
	for _, name := range c.providerOrder {
		if c.isDemo(c.Providers[name]) {
			names = append(names, name)
		}
	}
	return names
}

// isLoopback reports whether addr (host:port) listens on a loopback
// address only; an empty host listens on every interface.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// validName is the core's rule for a provider name, which is also a path
// segment (/{provider}/v1/...).
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

func validAddr(key, addr string) error {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return fmt.Errorf("%s %q: want host:port, like 127.0.0.1:8080", key, addr)
	}
	return nil
}

// parseUpstream checks the upstream URL. The error does not quote it: it
// may carry credentials.
func parseUpstream(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("upstream: want an http or https URL, like http://127.0.0.1:4000")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New("upstream: a query or fragment is not allowed")
	}
	return u, nil
}
