package realtimesecret_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
)

const (
	secretProviderKey = "sk-provider-SECRET-9d8c7b"
	secretVirtualKey  = "vk-caller-SECRET-6a5f4e"
)

var secretSealKey = bytes.Repeat([]byte{0xA7}, 32)

// sealKeyForms are the ways a 32-byte seal key prints when it leaks.
func sealKeyForms(key []byte) []string {
	return []string{
		string(key),
		hex.EncodeToString(key),
		base64.StdEncoding.EncodeToString(key),
		base64.RawURLEncoding.EncodeToString(key),
		decimalBytes(key),                                 // %v: "167 167 ..."
		strings.Trim(fmt.Sprintf("%#v", key), "[]byte{}"), // %#v: "0xa7, 0xa7, ..."
	}
}

// decimalBytes is how %v prints a []byte, without the brackets.
func decimalBytes(b []byte) string {
	parts := make([]string, len(b))
	for i, c := range b {
		parts[i] = strconv.Itoa(int(c))
	}
	return strings.Join(parts, " ")
}

func secretConfig() realtimesecret.Config {
	return realtimesecret.Config{
		Providers: []realtimesecret.ProviderConfig{{
			Name:     "openai",
			Provider: newFakeProvider(),
			Keys:     []realtimesecret.Key{{ID: "primary", Value: secretProviderKey, Aliases: map[string]string{"a": "b"}}},
		}},
		VirtualKeys: []realtimesecret.VirtualKey{{ID: "web", Value: secretVirtualKey, MaxTTL: time.Minute}},
		Logger:      slog.New(slog.DiscardHandler),
	}
}

// TestSecretConfigRedacted prints a Config, its keys and virtual keys every
// way a program might (fmt verbs, slog text and JSON, encoding/json): no
// provider key, virtual key or seal key may show.
func TestSecretConfigRedacted(t *testing.T) {
	cfg := secretConfig()
	key, vk := cfg.Providers[0].Keys[0], cfg.VirtualKeys[0]

	var text, jsonLog bytes.Buffer
	for _, h := range []slog.Handler{slog.NewTextHandler(&text, nil), slog.NewJSONHandler(&jsonLog, nil)} {
		slog.New(h).Info("config", "config", cfg, "key", key, "virtual_key", vk, "keys", cfg.Providers[0].Keys)
	}
	keyJSON, err := json.Marshal(key)
	require.NoError(t, err)
	vkJSON, err := json.Marshal(vk)
	require.NoError(t, err)

	for name, out := range map[string]string{
		"fmt":         fmt.Sprintf("%v %+v %#v", cfg, cfg, cfg),
		"fmt keys":    fmt.Sprintf("%v %+v %#v %+v %#v", key, key, key, vk, vk),
		"fmt values":  fmt.Sprintf("%v %s %q %x %X %#v", key.Value, vk.Value, key.Value, vk.Value, key.Value, vk.Value),
		"slog text":   text.String(),
		"slog JSON":   jsonLog.String(),
		"json":        string(keyJSON) + string(vkJSON),
		"error value": fmt.Sprint(&realtimesecret.Error{Status: 400, Message: "m", Err: fmt.Errorf("wrapped %v", key)}),
	} {
		t.Run(name, func(t *testing.T) {
			assert.NotContains(t, out, secretProviderKey)
			assert.NotContains(t, out, secretVirtualKey)
			assert.Contains(t, out, "REDACTED")
		})
	}

	t.Run("seal keys", func(t *testing.T) {
		cfg.SealKeys = []realtimesecret.SealKey{secretSealKey}
		var jsonLog bytes.Buffer
		slog.New(slog.NewJSONHandler(&jsonLog, nil)).Info("config", "config", cfg)
		out := fmt.Sprintf("%v %+v %#v", cfg, cfg, cfg) + jsonLog.String()
		for _, form := range sealKeyForms(secretSealKey) {
			assert.NotContains(t, out, form)
		}
	})
}

// TestSecretPanicMessages checks that Middleware's panic on a bad config,
// which a program may log, names keys by ID only.
func TestSecretPanicMessages(t *testing.T) {
	for _, tc := range []struct {
		name  string
		tweak func(*realtimesecret.Config)
	}{
		{"duplicate virtual key value", func(c *realtimesecret.Config) {
			c.VirtualKeys = append(c.VirtualKeys, realtimesecret.VirtualKey{ID: "other", Value: secretVirtualKey})
		}},
		{"provider key without ID", func(c *realtimesecret.Config) { c.Providers[0].Keys[0].ID = "" }},
		{"virtual key without ID", func(c *realtimesecret.Config) { c.VirtualKeys[0].ID = "" }},
		{"negative weight", func(c *realtimesecret.Config) { c.Providers[0].Keys[0].Weight = -1 }},
		{"short seal key", func(c *realtimesecret.Config) { c.SealKeys = []realtimesecret.SealKey{secretSealKey[:31]} }},
		{"long seal key", func(c *realtimesecret.Config) {
			c.SealKeys = []realtimesecret.SealKey{append(bytes.Clone(secretSealKey), 1)}
		}},
		{"negative max sessions", func(c *realtimesecret.Config) { c.VirtualKeys[0].MaxSessions = -1 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := secretConfig()
			tc.tweak(&cfg)
			msg := func() (msg string) {
				defer func() { msg = fmt.Sprint(recover()) }()
				realtimesecret.Middleware(cfg)
				return ""
			}()
			require.True(t, strings.HasPrefix(msg, "realtimesecret: "), "panic %q", msg)
			assert.NotContains(t, msg, secretProviderKey)
			assert.NotContains(t, msg, secretVirtualKey)
			for _, form := range sealKeyForms(secretSealKey[:31]) {
				assert.NotContains(t, msg, form)
			}
		})
	}
}

// TestSecretNotInErrorAnswers sends requests that fail at every check of
// the middleware, carrying secrets where a careless error message would
// echo them (the virtual key, a guessed key, a forged sealed token, the
// virtual key in a header value), and checks that no answer or log line
// holds a secret. (A client's own model string may be quoted back: it is
// not a secret of anyone else's.)
func TestSecretNotInErrorAnswers(t *testing.T) {
	var logs bytes.Buffer
	p := newFakeProvider()
	cfg := secretConfig()
	cfg.Providers[0].Provider = p
	cfg.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg.VirtualKeys = append(cfg.VirtualKeys,
		realtimesecret.VirtualKey{ID: "off", Value: "vk-off-SECRET-1", Disabled: true},
		realtimesecret.VirtualKey{ID: "narrow", Value: "vk-narrow-SECRET-2", Models: []string{"gpt-x"}},
		realtimesecret.VirtualKey{ID: "slow", Value: "vk-slow-SECRET-3", RateLimit: realtimesecret.Rate{Requests: 1, Per: time.Hour}},
	)
	cfg.MaxBodyBytes = 512
	cfg.SealKeys = []realtimesecret.SealKey{secretSealKey}
	h := realtimesecret.Middleware(cfg)(&nextRecorder{})
	const guess = "vk-guessed-SECRET-4"
	const token = "ek_rs_forged-SECRET-5"
	secrets := []string{secretProviderKey, secretVirtualKey, "vk-off-SECRET-1", "vk-narrow-SECRET-2", "vk-slow-SECRET-3", guess, token}

	ga := `{"session":{"type":"realtime","model":"openai/gpt-realtime"}}`
	bearer := func(v string) []string { return []string{"Authorization", "Bearer " + v} }
	var answers []string
	for _, r := range []struct {
		method, path, body string
		header             []string
		status             int
	}{
		{"POST", "/v1/realtime/client_secrets", `{"session":{"model":"gpt-realtime"}}`, bearer(secretVirtualKey), 400},
		{"POST", "/v1/realtime/client_secrets", `{"session":{"model":"openai/gpt-realtime","model":"x"}}`, bearer(secretVirtualKey), 400},
		{"POST", "/v1/realtime/client_secrets", ga, bearer(guess), 401},
		{"POST", "/v1/realtime/client_secrets", ga, []string{"X-Virtual-Key", guess}, 401},
		{"POST", "/v1/realtime/client_secrets", ga, bearer("vk-off-SECRET-1"), 403},
		{"POST", "/v1/realtime/client_secrets", ga, bearer("vk-narrow-SECRET-2"), 403},
		{"POST", "/v1/realtime/client_secrets", ga, bearer("vk-slow-SECRET-3"), 200},
		{"POST", "/v1/realtime/client_secrets", ga, bearer("vk-slow-SECRET-3"), 429},
		{"GET", "/v1/realtime/client_secrets", ga, bearer(secretVirtualKey), 405},
		{"POST", "/v1/realtime/client_secrets", `{"pad":"` + strings.Repeat(secretVirtualKey, 40) + `"}`, bearer(secretVirtualKey), 413},
		{"POST", "/v1/realtime/client_secrets", ga, append(bearer(secretVirtualKey), "Content-Type", "text/"+secretVirtualKey), 400},
		{"GET", "/v1/realtime", "", bearer(token), 401},
		{"GET", "/v1/realtime", "", []string{"Sec-WebSocket-Protocol", "realtime, openai-insecure-api-key." + token}, 401},
	} {
		w := do(t, h, r.method, r.path, r.body, r.header...)
		require.Equal(t, r.status, w.Code, "%s %s: %s", r.method, r.path, w.Body)
		if r.status != 200 {
			answers = append(answers, w.Body.String())
		}
	}
	for _, s := range secrets {
		for _, a := range answers {
			assert.NotContains(t, a, s)
		}
		assert.NotContains(t, logs.String(), s)
	}
}
