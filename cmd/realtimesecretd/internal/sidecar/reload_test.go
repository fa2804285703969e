package sidecar_test

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/cmd/realtimesecretd/internal/sidecar"
)

// TestReloadMaxSessions: a reload raises a virtual key's max_sessions; the
// next creation gets the new limit, and the sessions created before the
// reload still hold their leases (counted, and freed by their hang-up),
// because the session registry is kept.
func TestReloadMaxSessions(t *testing.T) {
	h := start(t, options{webPolicy: "    max_sessions: 1\n"})
	status, first, body := h.brokerCall(t, virtualKey)
	require.Equal(t, http.StatusCreated, status, string(body))
	status, _, body = h.brokerCall(t, virtualKey)
	require.Equal(t, http.StatusTooManyRequests, status, "max_sessions: 1 before the reload: %s", body)

	require.NoError(t, h.reload(t, strings.Replace(h.Text, "max_sessions: 1", "max_sessions: 2", 1)))
	status, _, body = h.brokerCall(t, virtualKey)
	require.Equal(t, http.StatusCreated, status, "the new limit applies to the next creation: %s", body)
	status, _, body = h.brokerCall(t, virtualKey)
	require.Equal(t, http.StatusTooManyRequests, status, "the session from before the reload still counts: %s", body)

	// Hung up through the new config, with the key that created it.
	h.hangup(t, "/v1/realtime/calls/"+first+"/hangup")
	assert.False(t, active(t, h.Fake, first))
	status, _, body = h.brokerCall(t, virtualKey)
	assert.Equal(t, http.StatusCreated, status, "its lease was released: %s", body)

	reloaded := h.Logs.lines(t, "config reloaded")
	require.Len(t, reloaded, 1)
	assert.Equal(t, true, reloaded[0]["store_kept"])
	assert.Empty(t, h.Logs.lines(t, "config not reloaded: the running config stays"))
}

// TestReloadKeepsCapsRecordsAndBudgets: across a reload, a live session is
// still ended at its max_session cap by the Handler that created it, a
// token minted before is still attributed, and the rate budget spent
// before is still spent.
func TestReloadKeepsCapsRecordsAndBudgets(t *testing.T) {
	h := start(t, options{webPolicy: "    max_session: 1s\n    rate_limit: {requests: 3, per: 1h}\n"})
	status, capped, body := h.brokerCall(t, virtualKey) // spends 1 of 3
	require.Equal(t, http.StatusCreated, status, string(body))
	token := h.mint(t) // 2 of 3

	// The new config has no cap, so the new Handler enforces none: only the
	// one that created the capped session can end it.
	require.NoError(t, h.reload(t, strings.Replace(h.Text, "    max_session: 1s\n", "", 1)))
	status, uncapped, body := h.brokerCall(t, virtualKey) // 3 of 3
	require.Equal(t, http.StatusCreated, status, string(body))

	resp, _ := do(t, http.MethodPost, h.URL+"/v1/realtime/calls", http.Header{"Authorization": {"Bearer " + token}}, "v=0")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "web", h.Proxy.last(t).Header.Get(sidecar.HeaderVirtualKeyID), "the record from before the reload")

	resp, body = do(t, http.MethodPost, h.URL+"/v1/realtime/client_secrets", http.Header{
		"Authorization": {"Bearer " + virtualKey}, "Content-Type": {"application/json"},
	}, mintBody)
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode, "the budget spent before the reload: %s", body)

	eventually(t, func() bool { return !active(t, h.Fake, capped) }, "the session from before the reload is ended at its cap")
	assert.True(t, active(t, h.Fake, uncapped), "the session created after the reload has no cap")
	ended := h.Logs.await(t, "realtime session ended", 1)
	assert.Equal(t, "cap", ended[0]["reason"])
	assert.Equal(t, capped, ended[0]["session_id"])
}

// TestReloadRefusesBadConfig: a config that does not build keeps the
// running one, and Reload says why.
func TestReloadRefusesBadConfig(t *testing.T) {
	h := start(t, options{webPolicy: "    max_sessions: 1\n"})
	bad := strings.Replace(h.Text, "max_sessions: 1", "max_sessions: 2\n    rate_limit: {requests: 5}", 1)
	err := h.reload(t, bad)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "virtual_keys[0].rate_limit needs both requests and per")

	status, _, body := h.brokerCall(t, virtualKey)
	require.Equal(t, http.StatusCreated, status, string(body))
	status, _, _ = h.brokerCall(t, virtualKey)
	assert.Equal(t, http.StatusTooManyRequests, status, "max_sessions: 1 still applies")
	assert.Empty(t, h.Logs.lines(t, "config reloaded"))
}

// TestReloadNeedsRestartFor: keys a running server cannot change are kept
// at their running values, and the log says a restart applies them.
func TestReloadNeedsRestartFor(t *testing.T) {
	h := start(t, options{adminListen: true})
	text := h.Text + "listen: 127.0.0.1:1\nserver: {max_header_bytes: 4096}\n"
	text = strings.Replace(text, `admin: {listen: "127.0.0.1:1"}`, `admin: {listen: "127.0.0.1:2"}`, 1)
	require.NoError(t, h.reload(t, text))
	lines := h.Logs.lines(t, "config reloaded, but listen, admin.listen, server changed: these apply only after a restart; the running values stay")
	require.Len(t, lines, 1)
	assert.Equal(t, "WARN", lines[0]["level"])
	h.mint(t) // still served where it was
	resp, _ := do(t, http.MethodGet, h.Admin+"/healthz", nil, "")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

// TestRunReloadsOnSIGHUP is the case end to end: Run serves a file;
// the file's max_sessions changes and the process gets SIGHUP; the next
// creation gets the new limit while the live session is still counted; a
// file that does not parse then keeps the running config with one WARN
// line; and at the stop every buffered log line is written: a SIGHUP no
// longer kills the process (exit 129) and loses them.
func TestRunReloadsOnSIGHUP(t *testing.T) {
	const head = "listen: 127.0.0.1:0\nlog_flush_interval: 1h\n" + demoYAML
	path := writeConfig(t, head+"    max_sessions: 1\n")
	stderr := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	exit := make(chan int, 1)
	go func() { exit <- sidecar.Run(ctx, []string{"-config", path}, env(nil), &bytes.Buffer{}, stderr) }()
	var addr string
	eventually(t, func() bool {
		for _, l := range stderr.lines(t, "realtimesecretd listening") {
			addr, _ = l["addr"].(string)
		}
		return addr != ""
	}, "the sidecar logs its address")
	h := &harness{URL: "http://" + addr}
	calls := 0
	call := func() int {
		calls++
		status, _, body := h.brokerCall(t, "vk-demo-not-secret")
		require.Contains(t, []int{http.StatusCreated, http.StatusTooManyRequests}, status, string(body))
		return status
	}
	require.Equal(t, http.StatusCreated, call())
	require.Equal(t, http.StatusTooManyRequests, call())

	require.NoError(t, os.WriteFile(path, []byte(head+"    max_sessions: 2\n    max_ttl: 1d\n"), 0o600))
	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGHUP))
	// A WARN line is written at once (with the INFO lines buffered before
	// it); the INFO lines of a good reload wait for the stop.
	eventually(t, func() bool { return len(stderr.lines(t, "config not reloaded: the running config stays")) == 1 },
		"the refused reload is logged")
	refused := stderr.lines(t, "config not reloaded: the running config stays")
	assert.Contains(t, refused[0]["error"], `virtual_keys[0].max_ttl: not a duration`)
	assert.Contains(t, refused[0]["error"], `(write 24h`)
	require.Equal(t, http.StatusTooManyRequests, call(), "the running config stays")

	require.NoError(t, os.WriteFile(path, []byte(head+"    max_sessions: 2\n"), 0o600))
	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGHUP))
	eventually(t, func() bool { return call() == http.StatusCreated }, "the new limit applies after SIGHUP")
	assert.Equal(t, http.StatusTooManyRequests, call(), "the session from before the reload still counts")

	cancel()
	require.Equal(t, 0, receive(t, exit, "Run to return"), "a SIGHUP no longer ends the process")
	assert.Len(t, stderr.lines(t, "config reloaded"), 1)
	assert.Len(t, stderr.lines(t, "config not reloaded: the running config stays"), 1)
	assert.Len(t, stderr.lines(t, "SIGHUP: reloading the config"), 2)
	assert.Len(t, stderr.lines(t, "realtime session"), calls, "every creation's line, 201 or 429, is written at the stop")
	assert.Len(t, stderr.lines(t, "stopped"), 1)
	assert.NotContains(t, stderr.String(), "vk-demo-not-secret")
}

// TestReloadKeepsMetering: a metered session created before a reload is
// still metered by the Handler that created it; hung up through the new
// config, it reports its usage once, in full.
func TestReloadKeepsMetering(t *testing.T) {
	noLeaks(t)
	h := start(t, options{extra: "usage_metering: true\n", sideband: meterScript})
	status, id, body := h.brokerCall(t, virtualKey)
	require.Equal(t, http.StatusCreated, status, string(body))
	// The usage is on the sideband before the hang-up closes it, or the
	// meter could rightly report less than the script sends.
	eventually(t, func() bool { return h.Fake.SidebandStats().Events == 2 }, "the sideband did not attach")

	require.NoError(t, h.reload(t, strings.Replace(h.Text, "usage_metering: true\n", "usage_metering: false\n", 1)))
	status, unmetered, body := h.brokerCall(t, virtualKey)
	require.Equal(t, http.StatusCreated, status, string(body))
	h.hangup(t, "/v1/realtime/calls/"+unmetered+"/hangup")
	h.hangup(t, "/v1/realtime/calls/"+id+"/hangup")

	usage := h.Logs.await(t, "realtime session usage", 1)
	assert.Equal(t, id, usage[0]["session_id"], "only the session created with metering on")
	u, _ := usage[0]["usage"].(map[string]any)
	assert.InDelta(t, 111, u["input_tokens"], 0, "its usage, in full")
	// The new Handler sent the hang-up but does not meter the session: its
	// meter learns of the end from the sideband, and reports it as the
	// hang-up when the new Handler recorded that end first (the registry
	// remembers how a session ended), or as the provider's end when its
	// sideband closed first.
	assert.Contains(t, []any{"hangup", "ended"}, usage[0]["end"])
	h.shutdown()
	eventually(t, h.isStopped, "the sidecar stops")
	assert.Len(t, h.Logs.lines(t, "realtime session usage"), 1, "reported once")
}

// TestReloadAnotherStore: a reload that changes store: builds the new one
// and says what is lost with the old.
func TestReloadAnotherStore(t *testing.T) {
	h := start(t, options{})
	require.NoError(t, h.reload(t, h.Text+"store: {type: redis, url: \"redis://u:store-password-0123@"+closedPort(t)+"/0\"}\n"))
	reloaded := h.Logs.lines(t, "config reloaded")
	require.Len(t, reloaded, 1)
	assert.Equal(t, false, reloaded[0]["store_kept"])
	assert.Len(t, h.Logs.lines(t, "config reloaded with another store: tokens minted and sessions created before the reload are not in it, "+
		"so they are no longer attributed or hung up through this sidecar; their leases stay in the old store"), 1)
	assert.NotContains(t, h.Logs.String(), "store-password-0123")
}
