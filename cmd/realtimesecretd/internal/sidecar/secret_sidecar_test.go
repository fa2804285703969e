package sidecar_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/cmd/realtimesecretd/internal/sidecar"
)

var sidecarSealKey = bytes.Repeat([]byte{0xC3}, 32)

// sealKeyPrints are the ways a seal key shows when it leaks: base64 as
// configured, raw, and as %v and %#v print a []byte.
func sealKeyPrints(key []byte) []string {
	dec := make([]string, len(key))
	hex := make([]string, len(key))
	for i, c := range key {
		dec[i], hex[i] = strconv.Itoa(int(c)), fmt.Sprintf("0x%x", c)
	}
	return []string{
		base64.StdEncoding.EncodeToString(key), base64.RawURLEncoding.EncodeToString(key), string(key),
		strings.Join(dec, " "), strings.Join(hex, ", "),
	}
}

// TestSecretSidecarLogsAndMetrics runs mints, redemptions (plain, sealed,
// forged), refusals and proxied requests through a sidecar that logs at
// debug level, then checks that no log line and no metric holds the
// provider key, a virtual key, a minted secret or the seal key.
func TestSecretSidecarLogsAndMetrics(t *testing.T) {
	h := start(t, options{
		extra: "log_level: debug\nseal_keys:\n  - ${SEAL_KEY}\n",
		env:   map[string]string{"SEAL_KEY": base64.StdEncoding.EncodeToString(sidecarSealKey)},
	})
	auth := func(v string) http.Header {
		return http.Header{"Authorization": {"Bearer " + v}, "Content-Type": {"application/json"}}
	}
	const guess = "vk-guessed-SECRET-0042"
	var tokens []string
	for range 3 {
		token := h.mint(t)
		tokens = append(tokens, token)
		resp, _ := do(t, http.MethodPost, h.URL+"/v1/chat/completions", auth(token), "{}")
		assert.Equal(t, http.StatusOK, resp.StatusCode)
	}
	for _, tc := range []struct {
		method, path string
		header       http.Header
		body         string
		status       int
	}{
		{http.MethodPost, "/v1/realtime/client_secrets", auth(guess), mintBody, http.StatusUnauthorized},
		{http.MethodPost, "/v1/realtime/client_secrets", auth(virtualKey), `{"session":{"model":"gpt-realtime"}}`, http.StatusBadRequest},
		{http.MethodPost, "/v1/realtime/client_secrets", auth(virtualKey), `{"session":{"model":"openai/gpt-realtime","model":"x"}}`, http.StatusBadRequest},
		{http.MethodGet, "/v1/realtime/client_secrets", auth(virtualKey), "", http.StatusMethodNotAllowed},
		{http.MethodPost, "/v1/responses", auth("ek_rs_forged-SECRET-0043"), "{}", http.StatusUnauthorized},
		{http.MethodPost, "/v1/responses?api_key=" + virtualKey, auth(virtualKey), "{}", http.StatusOK},
	} {
		resp, body := do(t, tc.method, h.URL+tc.path, tc.header, tc.body)
		require.Equal(t, tc.status, resp.StatusCode, "%s %s: %s", tc.method, tc.path, body)
		if tc.status != http.StatusOK {
			assert.NotContains(t, string(body), virtualKey)
			assert.NotContains(t, string(body), guess)
		}
	}
	// The existing proxy goes away: its error is logged without the URL.
	h.Proxy.Close()
	resp, _ := do(t, http.MethodPost, h.URL+"/v1/chat/completions?key="+virtualKey, auth(tokens[0]), "{}")
	assert.Equal(t, http.StatusBadGateway, resp.StatusCode)

	var upstreamTokens []string
	h.Proxy.mu.Lock()
	seen := h.Proxy.seen
	h.Proxy.mu.Unlock()
	for _, r := range seen {
		if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && strings.HasPrefix(tok, "ek_") {
			upstreamTokens = append(upstreamTokens, tok)
		}
	}
	require.NotEmpty(t, upstreamTokens)

	logs, metrics := h.Logs.String(), h.metrics(t)
	require.NotEmpty(t, logs)
	secrets := append([]string{upstreamKey, virtualKey, guess, "ek_rs_forged-SECRET"}, sealKeyPrints(sidecarSealKey)...)
	secrets = append(append(secrets, tokens...), upstreamTokens...)
	for _, s := range secrets {
		assert.NotContains(t, logs, s, "a log line holds a secret")
		assert.NotContains(t, metrics, s, "a metric holds a secret")
	}
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		assert.True(t, json.Valid([]byte(line)), "not one JSON log line: %q", line)
	}
}

// TestSecretSidecarConfigPrinted prints a loaded config every way a
// program might: no key, virtual key or seal key may show.
func TestSecretSidecarConfigPrinted(t *testing.T) {
	vars := baseEnv()
	vars["SEAL_KEY"] = base64.StdEncoding.EncodeToString(sidecarSealKey)
	cfg, err := sidecar.Parse([]byte(minimalYAML+"seal_keys:\n  - ${SEAL_KEY}\n"), env(vars))
	require.NoError(t, err)
	out := fmt.Sprintf("%v\n%+v\n%#v", cfg, cfg, cfg)
	assert.NotContains(t, out, upstreamKey)
	assert.NotContains(t, out, virtualKey)
	for _, form := range sealKeyPrints(sidecarSealKey) {
		assert.NotContains(t, out, form)
	}
}
