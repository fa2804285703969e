package sidecar_test

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/cmd/realtimesecretd/internal/sidecar"
)

var exampleFile = filepath.Join("..", "..", "..", "..", "testdata", "sidecar.example.yaml")

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sidecar.yaml")
	require.NoError(t, os.WriteFile(path, []byte(text), 0o600))
	return path
}

func TestRunExitCodes(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		env    map[string]string
		code   int
		stdout []string
		stderr []string
		never  []string
	}{
		{
			name:   "check passes with the variables set",
			args:   []string{"-config", exampleFile, "-check"},
			env:    baseEnv(),
			code:   0,
			stdout: []string{"sidecar.example.yaml: OK"},
			never:  []string{upstreamKey, virtualKey},
		},
		{
			name:   "check names the unset variable",
			args:   []string{"-config", exampleFile, "-check"},
			env:    map[string]string{"VK_WEB": virtualKey},
			code:   1,
			stderr: []string{"OPENAI_API_KEY", "not set"},
			never:  []string{virtualKey, "VK_WEB"},
		},
		{
			name:   "check fails a config the core would refuse, in the file's terms",
			args:   []string{"-config", writeConfig(t, "providers: {openai: {keys: [{id: a, value: k}, {id: a, value: k2}]}}\nallow_anonymous: true\n"), "-check"},
			code:   1,
			stderr: []string{`line 1: providers.openai.keys[1].id "a": keys[0] has it too`},
		},
		{
			name:   "check fails an azure provider without endpoint",
			args:   []string{"-config", writeConfig(t, "providers: {azure: {keys: [{id: a, value: k}]}}\nallow_anonymous: true\n"), "-check"},
			code:   1,
			stderr: []string{"providers.azure", "endpoint is required"},
		},
		{
			name:   "check fails a session lifetime below a minute",
			args:   []string{"-config", writeConfig(t, "providers: {openai: {keys: [{id: a, value: k}]}}\nallow_anonymous: true\nsession_lifetime: 59s\n"), "-check"},
			code:   1,
			stderr: []string{"session_lifetime 59s"},
		},
		{
			name:   "check passes a session lifetime",
			args:   []string{"-config", writeConfig(t, "providers: {openai: {keys: [{id: a, value: k}]}}\nallow_anonymous: true\nsession_lifetime: 1h30m\n"), "-check"},
			code:   0,
			stdout: []string{"OK"},
		},
		{
			name:   "check reports demo mode",
			args:   []string{"-config", filepath.Join("..", "..", "..", "..", "testdata", "sidecar.yaml"), "-check"},
			code:   0,
			stdout: []string{"OK", "demo mode: openai"},
		},
		{
			name:   "version",
			args:   []string{"-version"},
			code:   0,
			stdout: []string{"realtimesecretd "},
		},
		{
			name:   "config is required",
			args:   nil,
			code:   2,
			stderr: []string{"-config is required", "Usage"},
		},
		{
			name:   "unknown flag",
			args:   []string{"-conifg", "x.yaml"},
			code:   2,
			stderr: []string{"-conifg"},
		},
		{
			name:   "stray argument",
			args:   []string{"-config", exampleFile, "serve"},
			code:   2,
			stderr: []string{`unexpected argument "serve"`},
		},
		{
			name:   "missing file",
			args:   []string{"-config", filepath.Join(t.TempDir(), "nope.yaml"), "-check"},
			code:   1,
			stderr: []string{"nope.yaml"},
		},
		{
			name:   "help",
			args:   []string{"-h"},
			code:   0,
			stderr: []string{"Usage", "-check"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := sidecar.Run(context.Background(), tc.args, env(tc.env), &stdout, &stderr)
			assert.Equal(t, tc.code, code, "stdout: %s\nstderr: %s", stdout.String(), stderr.String())
			for _, s := range tc.stdout {
				assert.Contains(t, stdout.String(), s)
			}
			for _, s := range tc.stderr {
				assert.Contains(t, stderr.String(), s)
			}
			for _, s := range tc.never {
				assert.NotContains(t, stdout.String()+stderr.String(), s)
			}
		})
	}
}

// runDemo starts Run on demoYAML plus extra (YAML lines) on a free
// loopback port and returns its log and address once it listens, with the
// function that stops it and returns its exit code.
func runDemo(t *testing.T, extra string) (stderr *syncBuffer, addr string, stop func() int) {
	t.Helper()
	path := writeConfig(t, "listen: 127.0.0.1:0\n"+extra+demoYAML)
	stderr = &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	exit := make(chan int, 1)
	go func() { exit <- sidecar.Run(ctx, []string{"-config", path}, env(nil), &bytes.Buffer{}, stderr) }()
	eventually(t, func() bool {
		for _, l := range stderr.lines(t, "realtimesecretd listening") {
			addr, _ = l["addr"].(string)
		}
		return addr != ""
	}, "the sidecar logs its address")
	return stderr, addr, func() int {
		cancel()
		return receive(t, exit, "Run to return")
	}
}

// mintDemo mints once through a demo sidecar at addr and returns the body.
func mintDemo(t *testing.T, addr string) string {
	t.Helper()
	resp, body := do(t, http.MethodPost, "http://"+addr+"/v1/realtime/client_secrets", http.Header{
		"Authorization": {"Bearer vk-demo-not-secret"},
		"Content-Type":  {"application/json"},
	}, mintBody)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	return string(body)
}

func TestRunDemoMode(t *testing.T) {
	stderr, addr, stop := runDemo(t, "")
	demo := stderr.lines(t, "demo mode: the providers below have no key and mint at the built-in fake upstream; "+
		"their ek_ values work nowhere. Set the provider key variable to mint for real")
	require.Len(t, demo, 1)
	fake, _ := demo[0]["fake_upstream"].(string)
	host, _, err := net.SplitHostPort(strings.TrimPrefix(fake, "http://"))
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1", host, "the fake upstream listens on loopback only")

	assert.Contains(t, mintDemo(t, addr), `"value":"ek_`)
	const minted = `realtimesecret_mints_total{endpoint="client_secrets",provider="openai",status="200"} 1`
	var metrics []byte
	eventually(t, func() bool { // counted just after the answer was sent
		_, metrics = do(t, http.MethodGet, "http://"+addr+"/metrics", nil, "")
		return strings.Contains(string(metrics), minted+"\n")
	}, "the mint is counted")
	assertMetric(t, string(metrics), minted)

	assert.Equal(t, 0, stop())
	assert.NotContains(t, stderr.String(), "vk-demo-not-secret")
}

func TestRunListenFails(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()
	path := writeConfig(t, "listen: "+busy.Addr().String()+"\nproviders: {openai: {keys: [{id: a, value: k}]}}\nallow_anonymous: true\n")
	var stderr bytes.Buffer
	code := sidecar.Run(context.Background(), []string{"-config", path}, env(nil), &bytes.Buffer{}, &stderr)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr.String(), "address already in use")
}

func TestRunWarnsOpenMinting(t *testing.T) {
	path := writeConfig(t, "listen: 127.0.0.1:0\nproviders: {openai: {keys: [{id: a, value: k}]}}\nallow_anonymous: true\n")
	stderr := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	exit := make(chan int, 1)
	go func() { exit <- sidecar.Run(ctx, []string{"-config", path}, env(nil), &bytes.Buffer{}, stderr) }()
	eventually(t, func() bool { return strings.Contains(stderr.String(), `"level":"WARN","msg":"minting is open`) },
		"open minting is logged as a warning")
	cancel()
	assert.Equal(t, 0, receive(t, exit, "Run to return"))
}

// TestRunFlushesLogOnShutdown: with an interval that never passes in the
// test, an INFO line is held in memory until a WARN line or the graceful
// shutdown writes it out, and Run writes everything before it returns.
func TestRunFlushesLogOnShutdown(t *testing.T) {
	stderr, addr, stop := runDemo(t, "log_flush_interval: 1h\n")
	// The listening line is INFO: it was written with the demo warning
	// after it, without waiting for the interval.
	require.Len(t, stderr.lines(t, `demo mode: the providers below have no key and mint at the built-in fake upstream; `+
		"their ek_ values work nowhere. Set the provider key variable to mint for real"), 1)

	mintDemo(t, addr)
	assert.Empty(t, stderr.lines(t, "realtime mint"), "the mint's INFO line waits in memory")

	assert.Equal(t, 0, stop())
	mints := stderr.lines(t, "realtime mint")
	require.Len(t, mints, 1, "the graceful stop writes the buffered line")
	assert.InDelta(t, 200, mints[0]["status"], 0)
	assert.Len(t, stderr.lines(t, "stopped"), 1, "lines logged during the stop are written too")
	assert.NotContains(t, stderr.String(), "vk-demo-not-secret")
}

// runFile starts Run with args on a free loopback port (-listen) and
// returns its log and address once it listens, with the function that
// stops it and returns its exit code.
func runFile(t *testing.T, vars map[string]string, args ...string) (stderr *syncBuffer, addr string, stop func() int) {
	t.Helper()
	stderr = &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	exit := make(chan int, 1)
	go func() { exit <- sidecar.Run(ctx, args, env(vars), &bytes.Buffer{}, stderr) }()
	eventually(t, func() bool {
		for _, l := range stderr.lines(t, "realtimesecretd listening") {
			addr, _ = l["addr"].(string)
		}
		return addr != "" || strings.Contains(stderr.String(), "realtimesecretd failed")
	}, "the sidecar logs its address")
	require.NotEmpty(t, addr, stderr.String())
	return stderr, addr, func() int {
		cancel()
		return receive(t, exit, "Run to return")
	}
}

// TestRunMakeRunConfig: make run's config, testdata/sidecar.yaml, serves
// where -listen says, and mints the bare model the official SDKs send
// (default_provider: openai).
func TestRunMakeRunConfig(t *testing.T) {
	demoFile := filepath.Join(repoRoot, "testdata", "sidecar.yaml")
	stderr, addr, stop := runFile(t, nil, "-config", demoFile, "-listen", "127.0.0.1:0")
	assert.NotEqual(t, "127.0.0.1:8080", addr)
	resp, body := do(t, http.MethodPost, "http://"+addr+"/v1/realtime/client_secrets", http.Header{
		"Authorization": {"Bearer vk-demo-not-secret"},
		"Content-Type":  {"application/json"},
	}, `{"session":{"type":"realtime","model":"gpt-realtime"}}`)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	assert.Contains(t, string(body), `"value":"ek_`)
	assert.Equal(t, 0, stop())
	mints := stderr.lines(t, "realtime mint")
	require.Len(t, mints, 1)
	assert.Equal(t, "openai", mints[0]["provider"])

	cfg, err := sidecar.Load(demoFile, env(map[string]string{"LISTEN": "127.0.0.1:9000"}))
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:9000", cfg.Listen, "LISTEN sets the address")
}

func TestRunListenFlag(t *testing.T) {
	const file = "listen: 192.0.2.1:8080\nproviders: {openai: {keys: [{id: a, value: k}]}}\nallow_anonymous: true\n"
	t.Run("overrides the file", func(t *testing.T) {
		// The file's address (TEST-NET-1) is not this machine's: only the
		// flag's can be served.
		_, addr, stop := runFile(t, nil, "-config", writeConfig(t, file), "-listen", "127.0.0.1:0")
		assert.True(t, strings.HasPrefix(addr, "127.0.0.1:"), addr)
		assert.Equal(t, 0, stop())
	})
	tests := []struct {
		name   string
		file   string
		listen string
		code   int
		stderr string
	}{
		{name: "not an address", file: file, listen: "8080", code: 2, stderr: `-listen "8080": want host:port`},
		{name: "the admin listener's address", file: file + "admin: {listen: 127.0.0.1:9999}\n", listen: "127.0.0.1:9999", code: 1,
			stderr: "line 4: admin.listen is the same address as listen"},
		{name: "checked with the file", file: file, listen: "127.0.0.1:0", code: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := sidecar.Run(context.Background(), []string{"-config", writeConfig(t, tc.file), "-listen", tc.listen, "-check"},
				env(nil), &stdout, &stderr)
			assert.Equal(t, tc.code, code, stderr.String())
			assert.Contains(t, stderr.String(), tc.stderr)
		})
	}
}
