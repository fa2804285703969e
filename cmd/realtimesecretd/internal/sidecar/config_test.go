package sidecar_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/cmd/realtimesecretd/internal/sidecar"
)

// env returns a LookupEnv over m.
func env(m map[string]string) sidecar.LookupEnv {
	return func(name string) (string, bool) {
		v, ok := m[name]
		return v, ok
	}
}

const (
	upstreamKey = "sk-test-upstream-key-0123456789"
	virtualKey  = "vk-test-web-0123456789"
)

// baseEnv holds the variables minimalYAML references.
func baseEnv() map[string]string {
	return map[string]string{"OPENAI_API_KEY": upstreamKey, "VK_WEB": virtualKey}
}

const minimalYAML = `
providers:
  openai:
    keys:
      - id: primary
        value: ${OPENAI_API_KEY}
virtual_keys:
  - id: web
    value: ${VK_WEB}
`

func TestParseDefaults(t *testing.T) {
	cfg, err := sidecar.Parse([]byte(minimalYAML), env(baseEnv()))
	require.NoError(t, err)

	assert.Equal(t, "127.0.0.1:8080", cfg.Listen)
	assert.Empty(t, cfg.Upstream)
	assert.Equal(t, "info", cfg.LogLevel)
	require.NotNil(t, cfg.LogFlushInterval)
	assert.Equal(t, sidecar.Duration(200*time.Millisecond), *cfg.LogFlushInterval)
	assert.Equal(t, "memory", cfg.Store.Type)
	assert.Equal(t, "/healthz", cfg.Admin.HealthPath)
	assert.Equal(t, "/readyz", cfg.Admin.ReadyPath)
	assert.Equal(t, "/metrics", cfg.Admin.MetricsPath)
	assert.Empty(t, cfg.Admin.Listen)
	assert.Equal(t, sidecar.Duration(10*time.Second), cfg.Server.ReadHeaderTimeout)
	assert.Equal(t, sidecar.Duration(30*time.Second), cfg.Server.ReadTimeout)
	assert.Equal(t, sidecar.Duration(time.Minute), cfg.Server.WriteTimeout)
	assert.Equal(t, sidecar.Duration(2*time.Minute), cfg.Server.IdleTimeout)
	assert.Equal(t, sidecar.Duration(30*time.Second), cfg.Server.ShutdownTimeout)
	assert.Zero(t, cfg.Server.ProxyTimeout)
	assert.Equal(t, 64<<10, cfg.Server.MaxHeaderBytes)
	assert.Nil(t, cfg.ForwardHeaders, "omitted forward_headers must stay nil: the core's default")
	assert.Equal(t, sidecar.Duration(2*time.Hour), cfg.SessionLifetime)

	p := cfg.Providers["openai"]
	assert.Equal(t, "openai", p.Type, "type defaults to the provider's name")
	assert.Equal(t, sidecar.Duration(30*time.Second), p.Timeout)
	require.Len(t, p.Keys, 1)
	assert.Equal(t, upstreamKey, p.Keys[0].Value.Reveal())
	assert.Equal(t, virtualKey, cfg.VirtualKeys[0].Value.Reveal())
	assert.Empty(t, cfg.DemoProviders())
}

func TestParseExampleFile(t *testing.T) {
	cfg, err := sidecar.Load(filepath.Join("..", "..", "..", "..", "testdata", "sidecar.example.yaml"), env(baseEnv()))
	require.NoError(t, err)

	assert.Equal(t, "http://127.0.0.1:4000", cfg.Upstream)
	assert.Equal(t, []string{"OpenAI-Safety-Identifier", "X-Request-Id"}, cfg.ForwardHeaders)
	p := cfg.Providers["openai"]
	assert.Equal(t, "https://api.openai.com", p.BaseURL)
	require.Len(t, p.Keys, 1)
	k := p.Keys[0]
	assert.Equal(t, upstreamKey, k.Value.Reveal())
	assert.Equal(t, map[string]string{"realtime": "gpt-realtime"}, k.Aliases)
	require.NotNil(t, k.Weight)
	assert.InDelta(t, 1.0, *k.Weight, 0)
	assert.Equal(t, sidecar.Duration(2*time.Hour), cfg.SessionLifetime)
	vk := cfg.VirtualKeys[0]
	assert.Equal(t, sidecar.Duration(10*time.Minute), vk.MaxTTL)
	assert.Equal(t, sidecar.RateConfig{Requests: 60, Per: sidecar.Duration(time.Minute)}, vk.RateLimit)
}

func TestParseDemoFile(t *testing.T) {
	path := filepath.Join("..", "..", "..", "..", "testdata", "sidecar.yaml")

	cfg, err := sidecar.Load(path, env(nil))
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:8080", cfg.Listen)
	assert.Equal(t, []string{"openai"}, cfg.DemoProviders(), "no OPENAI_API_KEY: demo mode")
	assert.Equal(t, "vk-demo-not-secret", cfg.VirtualKeys[0].Value.Reveal())
	assert.Equal(t, "openai", cfg.DefaultProvider, "an SDK's bare gpt-realtime mints")

	cfg, err = sidecar.Load(path, env(map[string]string{"OPENAI_API_KEY": upstreamKey}))
	require.NoError(t, err)
	assert.Empty(t, cfg.DemoProviders(), "OPENAI_API_KEY set: the real upstream")
}

// The load test's config (scripts/loadtest.sh) has no existing proxy for
// the mint rounds and the harness's echo server as one for the WebSocket
// rounds.
func TestParseLoadtestFile(t *testing.T) {
	path := filepath.Join("..", "..", "..", "..", "testdata", "sidecar.loadtest.yaml")

	cfg, err := sidecar.Load(path, env(nil))
	require.NoError(t, err)
	assert.Empty(t, cfg.Upstream, "LOADTEST_PROXY_UPSTREAM unset: no existing proxy")
	assert.Equal(t, "vk-loadtest-not-secret", cfg.VirtualKeys[0].Value.Reveal())

	cfg, err = sidecar.Load(path, env(map[string]string{
		"LOADTEST_LISTEN": "127.0.0.1:20001", "LOADTEST_UPSTREAM": "http://127.0.0.1:20002",
		"LOADTEST_PROXY_UPSTREAM": "http://127.0.0.1:20003",
	}))
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:20001", cfg.Listen)
	assert.Equal(t, "http://127.0.0.1:20002", cfg.Providers["openai"].BaseURL)
	assert.Equal(t, "http://127.0.0.1:20003", cfg.Upstream)
}

func TestParseExpansion(t *testing.T) {
	t.Run("default used when unset or empty", func(t *testing.T) {
		cfg, err := sidecar.Parse([]byte(minimalYAML+"path_prefix: ${PREFIX:-/api}\nupstream: ${UP:-http://127.0.0.1:4000}\n"),
			env(map[string]string{"OPENAI_API_KEY": "k", "VK_WEB": "v", "UP": ""}))
		require.NoError(t, err)
		assert.Equal(t, "/api", cfg.PathPrefix)
		assert.Equal(t, "http://127.0.0.1:4000", cfg.Upstream)
	})
	t.Run("a plain scalar takes the type of its value", func(t *testing.T) {
		// Inside [ ] and { } a plain scalar cannot hold "{" or "}": the
		// flow style needs the reference quoted, so block style here.
		cfg, err := sidecar.Parse([]byte(`
providers:
  openai:
    keys:
      - id: a
        value: k
        weight: ${W}
virtual_keys:
  - id: web
    value: v
    rate_limit:
      requests: ${N}
      per: 1m
max_body_bytes: ${MAX}
`), env(map[string]string{"W": "2.5", "N": "7", "MAX": "2048"}))
		require.NoError(t, err)
		assert.InDelta(t, 2.5, *cfg.Providers["openai"].Keys[0].Weight, 0)
		assert.Equal(t, 7, cfg.VirtualKeys[0].RateLimit.Requests)
		assert.Equal(t, int64(2048), cfg.MaxBodyBytes)
	})
	t.Run("a value cannot add keys", func(t *testing.T) {
		inject := "/x\nallow_anonymous: true\nvirtual_keys: []"
		cfg, err := sidecar.Parse([]byte(minimalYAML+"path_prefix: ${P}\n"),
			env(map[string]string{"OPENAI_API_KEY": "k", "VK_WEB": "{id: evil}", "P": inject}))
		require.NoError(t, err)
		assert.Equal(t, inject, cfg.PathPrefix, "the YAML in the value stays text")
		assert.False(t, cfg.AllowAnonymous)
		require.Len(t, cfg.VirtualKeys, 1)
		assert.Equal(t, "{id: evil}", cfg.VirtualKeys[0].Value.Reveal())
	})
	t.Run("a variable's value is not expanded again", func(t *testing.T) {
		// The anchor is expanded where it is defined; the alias reuses it.
		cfg, err := sidecar.Parse([]byte(`
providers:
  openai:
    keys:
      - &k {id: a, value: "${A}"}
virtual_keys:
  - {id: web, value: "${B}"}
path_prefix: "/$${A}"
`), env(map[string]string{"A": "${B}", "B": "b-value"}))
		require.NoError(t, err)
		assert.Equal(t, "${B}", cfg.Providers["openai"].Keys[0].Value.Reveal())
		assert.Equal(t, "/${A}", cfg.PathPrefix, "$$ is a literal $")
	})
	t.Run("merge keys", func(t *testing.T) {
		cfg, err := sidecar.Parse([]byte(`
providers:
  openai:
    keys:
      - &k {id: a, value: k, models: [gpt-realtime]}
      - <<: *k
        id: b
virtual_keys: [{id: web, value: v}]
`), env(nil))
		require.NoError(t, err)
		keys := cfg.Providers["openai"].Keys
		require.Len(t, keys, 2)
		assert.Equal(t, "b", keys[1].ID)
		assert.Equal(t, []string{"gpt-realtime"}, keys[1].Models)
	})
	t.Run("a lone dollar stays", func(t *testing.T) {
		cfg, err := sidecar.Parse([]byte(`
providers: {openai: {keys: [{id: a, value: "pa$s$"}]}}
virtual_keys: [{id: web, value: v}]
`), env(nil))
		require.NoError(t, err)
		assert.Equal(t, "pa$s$", cfg.Providers["openai"].Keys[0].Value.Reveal())
	})
}

func TestParseLogFlushInterval(t *testing.T) {
	for _, tc := range []struct {
		yaml string
		want time.Duration
	}{
		{"log_flush_interval: 0\n", 0}, // 0 is kept: write every line at once
		{"log_flush_interval: 1s\n", time.Second},
		{"log_flush_interval: ${FLUSH}\n", 50 * time.Millisecond},
		{"log_flush_interval:\n", sidecar.DefaultLogFlushInterval},
	} {
		t.Run(tc.yaml, func(t *testing.T) {
			vars := baseEnv()
			vars["FLUSH"] = "50ms"
			cfg, err := sidecar.Parse([]byte(minimalYAML+tc.yaml), env(vars))
			require.NoError(t, err)
			require.NotNil(t, cfg.LogFlushInterval)
			assert.Equal(t, sidecar.Duration(tc.want), *cfg.LogFlushInterval)
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name  string
		yaml  string
		env   map[string]string // nil means baseEnv()
		want  []string          // substrings of the error
		never []string          // never in the error
	}{
		{
			name:  "unset variable is named with its line",
			yaml:  minimalYAML,
			env:   map[string]string{"VK_WEB": virtualKey},
			want:  []string{"OPENAI_API_KEY", "line 6", "not set"},
			never: []string{virtualKey},
		},
		{
			name: "every unset variable is named",
			yaml: minimalYAML,
			env:  map[string]string{},
			want: []string{"OPENAI_API_KEY (line 6)", "VK_WEB (line 9)"},
		},
		{
			name: "unknown top-level key",
			yaml: minimalYAML + "alow_anonymous: true\n",
			want: []string{`unknown key "alow_anonymous"`, "line 10", "the top level"},
		},
		{
			name: "unknown nested key",
			yaml: minimalYAML + "    modles: [gpt-realtime]\n",
			want: []string{`unknown key "modles"`, "virtual_keys[0]", "line 10"},
		},
		{
			name: "unknown key inside a provider's map entry",
			yaml: "providers:\n  openai:\n    keys: [{id: a, value: k, enable: false}]\nallow_anonymous: true\n",
			want: []string{`unknown key "enable"`, "providers.openai.keys[0]"},
		},
		{
			name: "unknown key brought by a merge",
			yaml: "allow_anonymous: true\nproviders:\n  openai:\n    keys:\n      - id: a\n        value: k\n        aliases: &m {wieght: x}\n      - <<: *m\n        id: b\n",
			want: []string{`unknown key "wieght"`, "providers.openai.keys[1]"},
		},
		{
			name: "no virtual keys and not anonymous",
			yaml: "providers: {openai: {keys: [{id: a, value: k}]}}\n",
			want: []string{"no virtual_keys", "allow_anonymous: true"},
		},
		{
			name: "anonymous and virtual keys",
			yaml: minimalYAML + "allow_anonymous: true\n",
			want: []string{"allow_anonymous", "virtual_keys"},
		},
		{
			name: "bad duration",
			yaml: minimalYAML + "    max_ttl: ten minutes\n",
			want: []string{"line 10", "not a duration"},
		},
		{
			name: "duration without a unit",
			yaml: minimalYAML + "server: {shutdown_timeout: 30}\n",
			want: []string{"line 10", "not a duration"},
		},
		{
			name: "negative duration",
			yaml: minimalYAML + "server: {idle_timeout: -1s}\n",
			want: []string{"line 10", "negative"},
		},
		{
			name:  "seal key of the wrong length",
			yaml:  minimalYAML + "seal_keys:\n  - ${SEAL}\n",
			env:   map[string]string{"OPENAI_API_KEY": "k", "VK_WEB": "v", "SEAL": "c2hvcnQta2V5LTE2Ynl0ZQ=="},
			want:  []string{"seal_keys[0]", "16 bytes, want 32"},
			never: []string{"c2hvcnQta2V5LTE2Ynl0ZQ", "short-key"},
		},
		{
			name:  "seal key not base64",
			yaml:  minimalYAML + "seal_keys: [\"not*base64!\"]\n",
			want:  []string{"seal_keys[0]", "not base64"},
			never: []string{"not*base64"},
		},
		{
			name:  "a secret in a number field is not quoted back",
			yaml:  "allow_anonymous: true\nproviders:\n  openai:\n    keys:\n      - id: a\n        value: k\n        weight: ${OPENAI_API_KEY}\n",
			want:  []string{"line 7: providers.openai.keys[0].weight: want a number, got the value of ${OPENAI_API_KEY}"},
			never: []string{upstreamKey, upstreamKey[:7]},
		},
		{
			name:  "a secret in a duration field is not quoted back",
			yaml:  minimalYAML + "    max_ttl: ${OPENAI_API_KEY}\n",
			want:  []string{"line 10", "not a duration"},
			never: []string{upstreamKey, upstreamKey[:7]},
		},
		{
			name:  "a malformed reference is not quoted back",
			yaml:  "providers: {openai: {keys: [{id: a, value: \"x${sk-secret-part}\"}]}}\nallow_anonymous: true\n",
			want:  []string{"line 1", "variable name"},
			never: []string{"sk-secret-part"},
		},
		{
			name: "unclosed reference",
			yaml: minimalYAML + "path_prefix: ${PREFIX\n",
			want: []string{"line 10", "closing"},
		},
		{
			name: "empty key value without demo",
			yaml: minimalYAML,
			env:  map[string]string{"OPENAI_API_KEY": "", "VK_WEB": "v"},
			want: []string{"providers.openai.keys[0] (primary)", "value is empty"},
		},
		{
			name: "empty virtual key value",
			yaml: minimalYAML,
			env:  map[string]string{"OPENAI_API_KEY": "k", "VK_WEB": ""},
			want: []string{"virtual_keys[0] (web)", "value is empty"},
		},
		{
			name: "weight zero",
			yaml: "providers: {openai: {keys: [{id: a, value: k, weight: 0}]}}\nallow_anonymous: true\n",
			want: []string{"weight must be positive", "enabled: false"},
		},
		{
			name: "type required for another name",
			yaml: "providers: {groq: {keys: [{id: a, value: k}]}}\nallow_anonymous: true\n",
			want: []string{"providers.groq", "type is required"},
		},
		{
			name: "unknown type",
			yaml: "providers: {groq: {type: anthropic, keys: [{id: a, value: k}]}}\nallow_anonymous: true\n",
			want: []string{"providers.groq", `"anthropic"`},
		},
		{
			name: "no providers",
			yaml: "allow_anonymous: true\n",
			want: []string{"no providers"},
		},
		{
			name: "no keys",
			yaml: "providers: {openai: {keys: []}}\nallow_anonymous: true\n",
			want: []string{"providers.openai", "no keys"},
		},
		{
			name: "provider timeout not below the write timeout",
			yaml: minimalYAML + "server: {write_timeout: 20s}\n",
			want: []string{"providers.openai", "write_timeout"},
		},
		{
			name: "admin path on a mint route",
			yaml: minimalYAML + "admin: {metrics_path: /openai/v1/realtime/sessions}\n",
			want: []string{"admin.metrics_path", "mint route"},
		},
		{
			name: "admin path on a broker route",
			yaml: minimalYAML + "admin: {health_path: /v1/live/sessions}\n",
			want: []string{"admin.health_path", "broker route"},
		},
		{
			name: "admin path on a hang-up route",
			yaml: minimalYAML + "admin: {ready_path: /openai/v1/realtime/calls/ready/hangup}\n",
			want: []string{"admin.ready_path", "broker route"},
		},
		{
			name: "session lifetime not a duration",
			yaml: minimalYAML + "session_lifetime: 7200\n",
			want: []string{"line 10", "not a duration"},
		},
		{
			name: "session lifetime negative",
			yaml: minimalYAML + "session_lifetime: -1h\n",
			want: []string{"line 10", "negative"},
		},
		{
			name: "session lifetime too short",
			yaml: minimalYAML + "session_lifetime: 30s\n",
			want: []string{"session_lifetime 30s", "1m0s", "hang it up"},
		},
		{
			name: "admin paths the same",
			yaml: minimalYAML + "admin: {health_path: /ok, ready_path: /ok}\n",
			want: []string{"admin.health_path and admin.ready_path"},
		},
		{
			name: "admin path not a path",
			yaml: minimalYAML + "admin: {health_path: healthz}\n",
			want: []string{"admin.health_path"},
		},
		{
			name: "admin listen same as listen",
			yaml: minimalYAML + "listen: 127.0.0.1:9000\nadmin: {listen: 127.0.0.1:9000}\n",
			want: []string{"admin.listen"},
		},
		{
			name: "bad listen",
			yaml: minimalYAML + "listen: localhost\n",
			want: []string{"listen", "host:port"},
		},
		{
			name:  "bad upstream is not quoted back",
			yaml:  minimalYAML + "upstream: ftp://user:hunter2@proxy\n",
			want:  []string{"upstream", "http or https"},
			never: []string{"hunter2"},
		},
		{
			name: "negative log flush interval",
			yaml: minimalYAML + "log_flush_interval: -1s\n",
			want: []string{"line 10", "negative"},
		},
		{
			name: "log flush interval without a unit",
			yaml: minimalYAML + "log_flush_interval: 200\n",
			want: []string{"line 10", "not a duration"},
		},
		{
			name: "misspelt log flush interval",
			yaml: minimalYAML + "log_flush_intervall: 1s\n",
			want: []string{`unknown key "log_flush_intervall"`, "log_flush_interval"},
		},
		{
			name: "log level",
			yaml: minimalYAML + "log_level: loud\n",
			want: []string{"log_level"},
		},
		{
			name: "store type",
			yaml: minimalYAML + "store: {type: etcd}\n",
			want: []string{"store.type", "etcd"},
		},
		{
			name: "two documents",
			yaml: minimalYAML + "---\nlisten: 127.0.0.1:1\n",
			want: []string{"more than one"},
		},
		{
			name: "empty file",
			yaml: "",
			want: []string{"empty"},
		},
		{
			name: "not a mapping",
			yaml: "- a\n- b\n",
			want: []string{"mapping"},
		},
		{
			name: "duplicate key",
			yaml: minimalYAML + "listen: a:1\nlisten: b:2\n",
			want: []string{"listen"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := tc.env
			if e == nil {
				e = baseEnv()
			}
			_, err := sidecar.Parse([]byte(tc.yaml), env(e))
			require.Error(t, err)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
			for _, n := range tc.never {
				assert.NotContains(t, err.Error(), n)
			}
		})
	}
}

func TestLoadNamesFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.yaml")
	require.NoError(t, os.WriteFile(path, []byte(minimalYAML), 0o600))
	_, err := sidecar.Load(path, env(nil))
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), path+": "), err.Error())

	_, err = sidecar.Load(filepath.Join(t.TempDir(), "missing.yaml"), env(nil))
	require.ErrorIs(t, err, os.ErrNotExist)
}

// TestParseErrorsInTheFilesTerms: type and validation errors name the key
// as the file writes it (its YAML path) and its line, never a Go type or
// field; a value is quoted back only when the file has it, short.
func TestParseErrorsInTheFilesTerms(t *testing.T) {
	tests := []struct {
		name  string
		yaml  string
		env   map[string]string // more variables
		want  string
		never []string
	}{
		{name: "a word for an integer",
			yaml: minimalYAML + "    max_sessions: two\n",
			want: `line 10: virtual_keys[0].max_sessions: want an integer, got "two"`},
		{name: "a quoted number",
			yaml: minimalYAML + "max_body_bytes: \"2048\"\n",
			want: `line 10: max_body_bytes: want an integer, got "2048" (quoted, so it is a string: remove the quotes)`},
		{name: "a variable's value is named by the variable",
			yaml: minimalYAML + "server:\n  max_header_bytes: ${HEADER_LIMIT}\n",
			env:  map[string]string{"HEADER_LIMIT": "sixty-four-kilobytes-please"},
			want: "line 11: server.max_header_bytes: want an integer, got the value of ${HEADER_LIMIT}", never: []string{"sixty-four"}},
		{name: "a long value is not quoted",
			yaml: minimalYAML + "    max_sessions: sk-live-0123456789abcdef\n",
			want: "line 10: virtual_keys[0].max_sessions: want an integer, got a value of 24 characters", never: []string{"sk-live"}},
		{name: "a list for a string",
			yaml: minimalYAML + "path_prefix: [/api]\n",
			want: "line 10: path_prefix: want a string, got a list"},
		{name: "a string for a list",
			yaml: minimalYAML + "    models: gpt-realtime\n",
			want: `line 10: virtual_keys[0].models: want a list, like [a, b], got "gpt-realtime"`},
		{name: "a word for a bool",
			yaml: minimalYAML + "strict_store: yes please\n",
			want: `line 10: strict_store: want true or false, got "yes please"`},
		{name: "a duration in days",
			yaml: minimalYAML + "    max_ttl: 1d\n",
			want: `line 10: virtual_keys[0].max_ttl: not a duration: want one like 30s, 10m or 1h30m, got "1d" (write 24h: durations have no days or weeks)`},
		{name: "a duration in days and hours",
			yaml: minimalYAML + "session_lifetime: 1d12h\n",
			want: `(write 36h0m0s: durations have no days or weeks)`},
		{name: "a duration in weeks",
			yaml: minimalYAML + "session_lifetime: 2w\n",
			want: `(write 336h: durations have no days or weeks)`},
		{name: "a duration without a unit",
			yaml: minimalYAML + "server: {shutdown_timeout: 30}\n",
			want: `line 10: server.shutdown_timeout: not a duration: want one like 30s, 10m or 1h30m, got "30" (add a unit, like 30s)`},
		{name: "a key's type error inside a provider",
			yaml: minimalYAML + "    rate_limit: {requests: many, per: 1m}\n",
			want: `line 10: virtual_keys[0].rate_limit.requests: want an integer, got "many"`},
		{name: "rate limit without per",
			yaml: minimalYAML + "    rate_limit: {requests: 5}\n",
			want: "line 10: virtual_keys[0].rate_limit needs both requests and per, like {requests: 60, per: 1m}"},
		{name: "rate limit without requests",
			yaml: minimalYAML + "    rate_limit:\n      per: 1m\n",
			want: "line 10: virtual_keys[0].rate_limit needs both requests and per"},
		{name: "a negative rate",
			yaml: minimalYAML + "    rate_limit: {requests: -1, per: 1m}\n",
			want: "line 10: virtual_keys[0].rate_limit.requests must not be negative"},
		{name: "a virtual key without an id",
			yaml: minimalYAML + "  - value: other-value\n",
			want: "line 10: virtual_keys[1]: id is required"},
		{name: "two virtual keys with one id",
			yaml: minimalYAML + "  - id: web\n    value: other-value\n",
			want: `line 10: virtual_keys[1].id "web": virtual_keys[0] has it too; each key needs its own id`},
		{name: "two virtual keys with one value",
			yaml: minimalYAML + "  - id: other\n    value: ${VK_WEB}\n",
			want: "line 11: virtual_keys[1].value (other): value is the same as virtual_keys[0]'s", never: []string{virtualKey}},
		{name: "a virtual key for an unknown provider",
			yaml: minimalYAML + "    providers: [openai, azure]\n",
			want: `line 10: virtual_keys[0].providers[1] "azure" is not one of providers (openai)`},
		{name: "an empty virtual key names its variable",
			yaml: minimalYAML,
			env:  map[string]string{"VK_WEB": ""},
			want: "line 8: virtual_keys[0] (web): value is empty (is VK_WEB set?)"},
		{name: "a provider key without an id",
			yaml: "allow_anonymous: true\nproviders:\n  openai:\n    keys:\n      - value: k\n",
			want: "line 5: providers.openai.keys[0]: id is required"},
		{name: "a provider name that is no path segment",
			yaml: "allow_anonymous: true\nproviders:\n  open ai:\n    type: openai\n    keys: [{id: a, value: k}]\n",
			want: "line 3: providers.open ai: the name must be letters, digits, '-', '_' or '.'"},
		{name: "a path prefix without a slash",
			yaml: minimalYAML + "path_prefix: api\n",
			want: `line 10: path_prefix "api": want a path starting with /, like /api`},
		{name: "a virtual key header that is no header name",
			yaml: minimalYAML + "virtual_key_header: \"X Key\"\n",
			want: `line 10: virtual_key_header "X Key": not a header name`},
		{name: "a provider timeout names its line",
			yaml: minimalYAML + "server: {write_timeout: 20s}\n",
			want: "line 3: providers.openai.timeout 30s is not below server.write_timeout 20s"},
		{name: "a store type names its line",
			yaml: minimalYAML + "store:\n  type: etcd\n",
			want: `line 11: store.type "etcd": want memory or redis`},
		{name: "a redis store without a url names its variable",
			yaml: minimalYAML + "store:\n  type: redis\n  url: ${REDIS_URL:-}\n",
			want: "line 12: store.url is required for type redis (is REDIS_URL set?)"},
		{name: "a cors origin names its line",
			yaml: minimalYAML + "cors:\n  allowed_origins:\n    - https://a.example\n    - a.example\n",
			want: `line 13: cors.allowed_origins[1] "a.example"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			vars := baseEnv()
			for k, v := range tc.env {
				vars[k] = v
			}
			_, err := sidecar.Parse([]byte(tc.yaml), env(vars))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			for _, n := range tc.never {
				assert.NotContains(t, err.Error(), n)
			}
			for _, goName := range []string{"sidecar.", "int64", "float64", "!!str", "RateLimit", "MaxSessions", "cannot unmarshal"} {
				assert.NotContains(t, err.Error(), goName, "a Go name")
			}
		})
	}
}

// TestPublishedDemoKey: the demo configs' published virtual key mints only
// worthless demo secrets, or on a loopback address: with a provider key on
// a network address anyone who read the repository could mint.
func TestPublishedDemoKey(t *testing.T) {
	const file = "listen: ${LISTEN}\ndemo: true\nproviders:\n  openai:\n    keys:\n      - id: primary\n        value: ${OPENAI_API_KEY:-}\n" +
		"virtual_keys:\n  - id: web\n    value: ${VK_WEB:-vk-demo-not-secret}\n"
	tests := []struct {
		name string
		env  map[string]string
		want string // the error; "" for none
	}{
		{name: "demo mode on every interface", env: map[string]string{"LISTEN": "0.0.0.0:8080"}},
		{name: "a real key on loopback", env: map[string]string{"LISTEN": "127.0.0.1:8080", "OPENAI_API_KEY": upstreamKey}},
		{name: "a real key on localhost", env: map[string]string{"LISTEN": "localhost:8080", "OPENAI_API_KEY": upstreamKey}},
		{name: "a real key and a key of one's own", env: map[string]string{"LISTEN": "0.0.0.0:8080", "OPENAI_API_KEY": upstreamKey, "VK_WEB": virtualKey}},
		{name: "a real key on every interface", env: map[string]string{"LISTEN": "0.0.0.0:8080", "OPENAI_API_KEY": upstreamKey},
			want: "line 10: virtual_keys[0].value (web): value is the published demo key, and a provider has a key: on 0.0.0.0:8080 anyone could mint with it. " +
				"Give the virtual key a value of your own (set VK_WEB), or leave the provider keys unset for demo mode"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := sidecar.Parse([]byte(file), env(tc.env))
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Equal(t, tc.want, err.Error())
			assert.NotContains(t, err.Error(), upstreamKey)
		})
	}
}
