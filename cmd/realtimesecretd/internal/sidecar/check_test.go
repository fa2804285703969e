package sidecar_test

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/cmd/realtimesecretd/internal/sidecar"
	"github.com/realtimesecret/realtimesecret/internal/redistest"
)

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := new(net.ListenConfig).Listen(context.Background(), "tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

func runCheck(t *testing.T, yaml string, vars map[string]string, extraArgs ...string) (int, string, string) {
	t.Helper()
	e := baseEnv()
	for k, v := range vars {
		e[k] = v
	}
	var stdout, stderr bytes.Buffer
	args := append([]string{"-config", writeConfig(t, yaml), "-check"}, extraArgs...)
	code := sidecar.Run(context.Background(), args, env(e), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// TestCheckStoreReachability: -check pings a Redis store; unreachable is a
// warning, or with -require-store an error. The URL (and its password) is
// never printed.
func TestCheckStoreReachability(t *testing.T) {
	const password = "redis-password-check-0123"
	down := "redis://u:" + password + "@" + closedPort(t) + "/0"
	store := "store: {type: redis, url: \"${REDIS_CHECK_URL}\", timeout: 200ms}\n"
	tests := []struct {
		name   string
		url    string
		strict bool
		args   []string
		code   int
		stderr []string
	}{
		{name: "unreachable is a warning", url: down, code: 0,
			stderr: []string{"warning: redis at 127.0.0.1:", " did not answer within 200ms", "rate limits would not be enforced", "-require-store"}},
		{name: "unreachable with strict_store says 503", url: down, strict: true, code: 0,
			stderr: []string{"warning: redis at 127.0.0.1:", "503"}},
		{name: "unreachable with -require-store is an error", url: down, args: []string{"-require-store"}, code: 1,
			stderr: []string{"redis at 127.0.0.1:", " did not answer within 200ms"}},
		{name: "no scheme says what is expected", url: strings.TrimPrefix(down, "redis://"), code: 1,
			stderr: []string{"store.url", "no scheme: want redis://host:6379/0, rediss://"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			yaml := minimalYAML + store
			if tc.strict {
				yaml += "strict_store: true\n"
			}
			code, stdout, stderr := runCheck(t, yaml, map[string]string{"REDIS_CHECK_URL": tc.url}, tc.args...)
			assert.Equal(t, tc.code, code, "stdout: %s\nstderr: %s", stdout, stderr)
			for _, s := range tc.stderr {
				assert.Contains(t, stderr, s)
			}
			assert.NotContains(t, stdout+stderr, password)
			if tc.code == 0 {
				assert.Contains(t, stdout, ": OK")
			}
		})
	}
	t.Run("reachable is quiet", func(t *testing.T) {
		srv := redistest.StartServer(t)
		code, stdout, stderr := runCheck(t, minimalYAML+store, map[string]string{"REDIS_CHECK_URL": srv.URL()}, "-require-store")
		assert.Equal(t, 0, code, stderr)
		assert.Contains(t, stdout, ": OK")
		assert.NotContains(t, stderr, "warning")
	})
}

// TestCheckAliasWarnings: -check warns when the keys of one provider send a
// requested model upstream under different names.
func TestCheckAliasWarnings(t *testing.T) {
	tests := []struct {
		name  string
		keys  string
		extra string
		warn  []string
	}{
		{
			name: "one key aliases, the other does not",
			keys: `
      - {id: a, value: k1, aliases: {gpt-realtime: my-deployment}}
      - {id: b, value: k2}`,
			warn: []string{`providers.openai`, `"gpt-realtime"`, `key "a": "my-deployment"`, `key "b": "gpt-realtime"`, "providers.openai.aliases"},
		},
		{
			name: "provider aliases cover every key",
			keys: `
      - {id: a, value: k1}
      - {id: b, value: k2}`,
			extra: "    aliases: {gpt-realtime: my-deployment}\n",
		},
		{
			name: "a key's own different entry is reported",
			keys: `
      - {id: a, value: k1, aliases: {GPT-Realtime: other}}
      - {id: b, value: k2}`,
			extra: "    aliases: {gpt-realtime: my-deployment}\n",
			warn:  []string{`key "a": "other"`, `key "b": "my-deployment"`},
		},
		{
			name: "a disabled key does not count",
			keys: `
      - {id: a, value: k1, aliases: {gpt-realtime: my-deployment}}
      - {id: b, value: k2, enabled: false}`,
		},
		{
			name: "a key that does not serve the model does not count",
			keys: `
      - {id: a, value: k1, aliases: {gpt-realtime: my-deployment}}
      - {id: b, value: k2, models: [gpt-realtime-mini]}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			yaml := "providers:\n  openai:\n" + tc.extra + "    keys:" + tc.keys + "\nvirtual_keys: [{id: web, value: \"${VK_WEB}\"}]\n"
			code, stdout, stderr := runCheck(t, yaml, nil)
			require.Equal(t, 0, code, "stdout: %s\nstderr: %s", stdout, stderr)
			if len(tc.warn) == 0 {
				assert.NotContains(t, stderr, "warning")
				return
			}
			assert.Equal(t, 1, strings.Count(stderr, "warning:"), stderr)
			for _, w := range tc.warn {
				assert.Contains(t, stderr, w)
			}
		})
	}
}

func TestDefaultProviderConfig(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		code int
		want string
	}{
		{name: "a configured provider", yaml: minimalYAML + "default_provider: openai\n", code: 0},
		{name: "not configured", yaml: minimalYAML + "default_provider: azure\n", code: 1,
			want: `default_provider "azure" is not one of providers (openai)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCheck(t, tc.yaml, nil)
			assert.Equal(t, tc.code, code, "stdout: %s\nstderr: %s", stdout, stderr)
			assert.Contains(t, stderr, tc.want)
		})
	}
}

// silentServer returns the address of a loopback listener that accepts
// connections and never answers, as a Redis behind a dropped route.
func silentServer(t *testing.T) string {
	t.Helper()
	l, err := new(net.ListenConfig).Listen(context.Background(), "tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { _ = c.Close() })
		}
	}()
	return l.Addr().String()
}

// TestStoreUnreachableNamesWhere: a Redis that does not answer is reported
// by its host and port and how long it was given, at -check and at start,
// never as "ping: context deadline exceeded" and never with its password.
func TestStoreUnreachableNamesWhere(t *testing.T) {
	const password = "redis-password-where-0123"
	for _, tc := range []struct{ name, addr string }{
		{name: "refused", addr: closedPort(t)},
		{name: "silent", addr: silentServer(t)},
	} {
		t.Run(tc.name+" at -check", func(t *testing.T) {
			store := "store: {type: redis, url: \"redis://u:" + password + "@" + tc.addr + "/0\", timeout: 200ms}\n"
			code, stdout, stderr := runCheck(t, minimalYAML+store, nil, "-require-store")
			assert.Equal(t, 1, code, stdout)
			assert.Contains(t, stderr, "redis at "+tc.addr+" did not answer within 200ms\n")
			assert.NotContains(t, stderr, "deadline exceeded")
			assert.NotContains(t, stderr, password)
		})
		t.Run(tc.name+" at start", func(t *testing.T) {
			file := minimalYAML + "listen: 127.0.0.1:0\nstore: {type: redis, url: \"redis://u:" + password + "@" + tc.addr + "/0\", timeout: 200ms}\n"
			stderr, _, stop := runFile(t, baseEnv(), "-config", writeConfig(t, file))
			lines := stderr.await(t, "store unreachable at start: redis at "+tc.addr+" did not answer within 200ms", 1)
			assert.Equal(t, "WARN", lines[0]["level"])
			assert.Contains(t, lines[0]["effect"], "mints would go on unattributed")
			assert.Equal(t, 0, stop())
			assert.NotContains(t, stderr.String(), password)
		})
	}
}

// TestCheckLeaseWarning: -check warns about a max_sessions the sidecar
// cannot see the end of: without max_session or usage metering, a session
// the browser leaves holds its lease until session_lifetime.
func TestCheckLeaseWarning(t *testing.T) {
	tests := []struct {
		name, extra, policy string
		warn                bool
	}{
		{name: "max_sessions alone", policy: "max_sessions: 2", warn: true},
		{name: "with max_session", policy: "max_sessions: 2, max_session: 10m"},
		{name: "with usage metering", policy: "max_sessions: 2", extra: "usage_metering: true\n"},
		{name: "no max_sessions", policy: "max_ttl: 1m"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			yaml := "providers:\n  openai:\n    keys: [{id: a, value: k1}]\n" + tc.extra +
				"virtual_keys: [{id: web, value: \"${VK_WEB}\", " + tc.policy + "}]\n"
			code, stdout, stderr := runCheck(t, yaml, nil)
			require.Equal(t, 0, code, "stdout: %s\nstderr: %s", stdout, stderr)
			if !tc.warn {
				assert.NotContains(t, stderr, "warning")
				return
			}
			assert.Contains(t, stderr, "virtual_keys[0] (web): max_sessions without max_session or usage_metering")
			assert.Contains(t, stderr, "until session_lifetime (2h0m0s)")
		})
	}
}
