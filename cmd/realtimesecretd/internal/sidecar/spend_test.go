package sidecar_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/cmd/realtimesecretd/internal/sidecar"
	"github.com/realtimesecret/realtimesecret/internal/fakeupstream"
)

// The tests of spend governance through the sidecar: prices and budgets in
// the YAML, -check's warnings, the admin usage routes, a budget spent.

const budgetedYAML = `
usage_metering: true
prices:
  my-deployment: {audio_input: 32, cached_audio_input: 0.4, audio_output: 64, text_input: 4, text_output: 16}
providers:
  openai:
    keys:
      - id: primary
        value: ${OPENAI_API_KEY}
virtual_keys:
  - id: web
    value: ${VK_WEB}
    budget: {usd: 5.00, per: 24h}
`

func TestSpendConfig(t *testing.T) {
	cfg, err := sidecar.Parse([]byte(budgetedYAML), env(baseEnv()))
	require.NoError(t, err)
	assert.Equal(t, sidecar.BudgetConfig{USD: 5, Per: sidecar.Duration(24 * time.Hour)}, cfg.VirtualKeys[0].Budget)
	assert.InDelta(t, 64.0, cfg.Prices["my-deployment"].AudioOutput, 0)

	for _, tc := range []struct {
		name, from, to, want string
	}{
		{name: "a price not a number", from: "audio_output: 64", to: `audio_output: "sixty"`, want: "prices.my-deployment.audio_output: want a number"},
		{name: "a negative price", from: "audio_output: 64", to: "audio_output: -64", want: "prices.my-deployment.audio_output: want dollars"},
		{name: "a price of NaN", from: "audio_output: 64", to: "audio_output: .nan", want: "prices.my-deployment.audio_output: want dollars"},
		{name: "an infinite price", from: "audio_output: 64", to: "audio_output: .inf", want: "prices.my-deployment.audio_output: want dollars"},
		{name: "a budget of zero", from: "usd: 5.00", to: "usd: 0", want: "virtual_keys[0].budget.usd (web): want usd above 0"},
		{name: "a negative budget", from: "usd: 5.00", to: "usd: -5", want: "virtual_keys[0].budget.usd (web): want usd above 0"},
		{name: "a budget not a number", from: "usd: 5.00", to: "usd: five", want: "virtual_keys[0].budget.usd: want a number"},
		{name: "a period under a minute", from: "per: 24h", to: "per: 30s", want: "virtual_keys[0].budget.per (web): want per of at least 1m0s"},
		{name: "no period", from: "usd: 5.00, per: 24h", to: "usd: 5.00", want: "virtual_keys[0].budget.per (web)"},
		{name: "a period in days", from: "per: 24h", to: "per: 1d", want: "virtual_keys[0].budget.per: not a duration"},
		{name: "a budget without metering", from: "usage_metering: true", to: "usage_metering: false", want: "virtual_keys[0].budget (web): provider openai's sessions are not metered"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := strings.Replace(budgetedYAML, tc.from, tc.to, 1)
			require.NotEqual(t, budgetedYAML, text)
			_, err := sidecar.Parse([]byte(text), env(baseEnv()))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.Regexp(t, `^line \d+: `, err.Error(), "the error names its line")
		})
	}
}

// TestSpendCheckWarnsUnpricedModels: -check warns about a budgeted key
// that may ask for a model without a price, in the file's terms.
func TestSpendCheckWarnsUnpricedModels(t *testing.T) {
	for _, tc := range []struct {
		name, models, aliases, want string
	}{
		{name: "any model", want: "virtual_keys[0] (web) has a budget and may ask for any model"},
		{name: "an unpriced model", models: "[gpt-realtime, whisper-1]", want: `model "whisper-1" has no price`},
		{name: "an alias to an unpriced deployment", models: "[gpt-realtime]", aliases: "{gpt-realtime: eu-deployment}",
			want: `model "gpt-realtime" (sent upstream as "eu-deployment" by providers.openai key "primary") has no price`},
		{name: "every model priced", models: "[gpt-realtime, gpt-live-1, my-deployment]"},
		{name: "an alias to a priced deployment", models: "[gpt-realtime]", aliases: "{gpt-realtime: my-deployment}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := budgetedYAML
			if tc.models != "" {
				text += "    models: " + tc.models + "\n"
			}
			if tc.aliases != "" {
				text = strings.Replace(text, "        value: ${OPENAI_API_KEY}\n", "        value: ${OPENAI_API_KEY}\n        aliases: "+tc.aliases+"\n", 1)
			}
			var stdout, stderr bytes.Buffer
			code := sidecar.Run(t.Context(), []string{"-config", writeConfig(t, text), "-check"}, env(baseEnv()), &stdout, &stderr)
			require.Equal(t, 0, code, stderr.String())
			if tc.want == "" {
				assert.NotContains(t, stderr.String(), "price", "no warning")
				return
			}
			assert.Contains(t, stderr.String(), tc.want)
			assert.Contains(t, stderr.String(), "model_not_priced")
		})
	}
}

// adminGet sends GET path to base with the admin token.
func adminGet(t *testing.T, base, path, auth string) (reply, []byte) {
	t.Helper()
	header := http.Header{}
	if auth != "" {
		header.Set("Authorization", auth)
	}
	return do(t, http.MethodGet, base+path, header, "")
}

type keyUsage struct {
	ID     string `json:"id"`
	Budget *struct {
		USD float64 `json:"usd"`
		Per string  `json:"per"`
	} `json:"budget"`
	SpentUSD     *float64   `json:"spent_usd"`
	RemainingUSD *float64   `json:"remaining_usd"`
	PeriodStart  *time.Time `json:"period_start"`
	PeriodEnd    *time.Time `json:"period_end"`
	LiveSessions int        `json:"live_sessions"`
}

// TestSpendAdminUsage: the usage routes report each virtual key's spend
// this period, its budget, what remains, when the period started and
// its live sessions, behind the admin token.
func TestSpendAdminUsage(t *testing.T) {
	noLeaks(t)
	h := start(t, options{adminListen: true, adminToken: adminToken, extra: "usage_metering: true\n",
		webPolicy:   "    budget: {usd: 5.00, per: 24h}\n",
		virtualKeys: map[string]string{"other": otherVK},
		sideband:    fakeupstream.SidebandScript{LiveSeconds: []float64{600}, Every: -1}, // $0.50 of gpt-live-1
	})
	status, _, body := h.brokerLive(t, virtualKey)
	require.Equal(t, http.StatusCreated, status, string(body))
	status, _, body = h.brokerLive(t, otherVK)
	require.Equal(t, http.StatusCreated, status, string(body))

	var web keyUsage
	eventually(t, func() bool {
		resp, body := adminGet(t, h.Admin, "/admin/v1/virtual_keys/web/usage", "Bearer "+adminToken)
		require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
		require.NoError(t, json.Unmarshal(body, &web))
		return web.SpentUSD != nil && *web.SpentUSD > 0
	}, "the session's spend never reached the ledger")
	assert.Equal(t, "web", web.ID)
	require.NotNil(t, web.Budget)
	assert.InDelta(t, 5.0, web.Budget.USD, 0)
	assert.Equal(t, "24h0m0s", web.Budget.Per)
	assert.InDelta(t, 0.5, *web.SpentUSD, 1e-9)
	assert.InDelta(t, 4.5, *web.RemainingUSD, 1e-9)
	day := time.Now().UTC().Truncate(24 * time.Hour)
	assert.Equal(t, day, web.PeriodStart.UTC())
	assert.Equal(t, day.Add(24*time.Hour), web.PeriodEnd.UTC())
	assert.Equal(t, 1, web.LiveSessions)

	resp, body := adminGet(t, h.Admin, "/admin/v1/usage", "Bearer "+adminToken)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
	var all struct {
		VirtualKeys []keyUsage `json:"virtual_keys"`
	}
	require.NoError(t, json.Unmarshal(body, &all))
	require.Len(t, all.VirtualKeys, 2)
	assert.Equal(t, "web", all.VirtualKeys[0].ID)
	other := all.VirtualKeys[1]
	assert.Equal(t, "other", other.ID)
	assert.Nil(t, other.Budget, "a key without a budget")
	assert.Nil(t, other.SpentUSD)
	assert.Equal(t, 1, other.LiveSessions)
	assert.Contains(t, string(body), `"budget":null`)

	for _, tc := range []struct {
		name, method, path, auth, code string
		status                         int
	}{
		{name: "no token", method: http.MethodGet, path: "/admin/v1/usage", status: http.StatusUnauthorized, code: "invalid_admin_token"},
		{name: "wrong token", method: http.MethodGet, path: "/admin/v1/virtual_keys/web/usage", auth: "Bearer " + strings.Repeat("x", len(adminToken)),
			status: http.StatusUnauthorized, code: "invalid_admin_token"},
		{name: "a virtual key", method: http.MethodGet, path: "/admin/v1/usage", auth: "Bearer " + virtualKey, status: http.StatusUnauthorized, code: "invalid_admin_token"},
		{name: "POST", method: http.MethodPost, path: "/admin/v1/usage", auth: "Bearer " + adminToken, status: http.StatusMethodNotAllowed, code: "method_not_allowed"},
		{name: "unknown key", method: http.MethodGet, path: "/admin/v1/virtual_keys/nope/usage", auth: "Bearer " + adminToken, status: http.StatusNotFound, code: "virtual_key_not_found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			header := http.Header{}
			if tc.auth != "" {
				header.Set("Authorization", tc.auth)
			}
			resp, body := do(t, tc.method, h.Admin+tc.path, header, "")
			assert.Equal(t, tc.status, resp.StatusCode, string(body))
			assert.Contains(t, string(body), `"`+tc.code+`"`)
		})
	}
	resp, _ = adminGet(t, h.URL, "/admin/v1/usage", "Bearer "+adminToken)
	assert.Equal(t, "proxy", resp.Header.Get("X-From"), "not on the main listener when admin.listen is set")
	assert.NotContains(t, h.Logs.String(), adminToken)
}

// TestSpendBudgetThroughSidecar: a budgeted key may not mint; the usage
// that spends its budget ends its session upstream, counted by
// reason="budget" and in realtimesecret_spend_usd_total; its next session
// is 429 budget_exceeded.
func TestSpendBudgetThroughSidecar(t *testing.T) {
	noLeaks(t)
	h := start(t, options{extra: "usage_metering: true\n",
		webPolicy: "    budget: {usd: 5.00, per: 24h}\n",
		sideband:  fakeupstream.SidebandScript{LiveSeconds: []float64{60, 7200}, Every: -1}, // $0.05, then $6.00
	})
	resp, body := do(t, http.MethodPost, h.URL+"/v1/realtime/client_secrets", http.Header{
		"Authorization": {"Bearer " + virtualKey}, "Content-Type": {"application/json"}}, mintBody)
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, string(body))
	assert.Equal(t, "unmetered_mint", errorCode(t, body))

	status, id, body := h.brokerLive(t, virtualKey)
	require.Equal(t, http.StatusCreated, status, string(body))
	eventually(t, func() bool { return !active(t, h.Fake, id) }, "the budget did not end the session")
	status, _, body = h.brokerLive(t, virtualKey)
	assert.Equal(t, http.StatusTooManyRequests, status, string(body))
	assert.Equal(t, "budget_exceeded", errorCode(t, body))

	eventually(t, func() bool { return len(h.Logs.lines(t, "realtime session usage")) == 1 }, "no usage line")
	line := h.Logs.lines(t, "realtime session usage")[0]
	assert.Equal(t, "budget", line["end"])
	assert.InDelta(t, 6.0, line["cost_usd"], 1e-9)
	h.awaitMetrics(t, `realtimesecret_sessions_ended_total{endpoint="live_sessions",provider="openai",reason="budget"} 1`)
	h.awaitMetrics(t, `realtimesecret_spend_usd_total{model="gpt-live-1",provider="openai"} 6`)
}
