package sidecar_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/internal/fakeidp"
)

// governanceSamples are the metric lines of a governance fail mode.
func governanceSamples(global, keys, policies int) []string {
	line := func(scope string, n int) string {
		return `realtimesecret_governance_fail_open{scope="` + scope + `"} ` + strconv.Itoa(n)
	}
	return []string{line("global", global), line("virtual_keys", keys), line("jwt_policies", policies)}
}

// assertGovernance checks that readiness and the metrics say the
// governance fail mode: body is the readiness answer expected.
func (h *harness) assertGovernance(t *testing.T, body string, global, keys, policies int) {
	t.Helper()
	resp, got := do(t, http.MethodGet, h.Admin+"/readyz", nil, "")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.JSONEq(t, body, string(got))
	m := h.metrics(t)
	for _, s := range governanceSamples(global, keys, policies) {
		assertMetric(t, m, s)
	}
}

// TestGovernanceFailModeIsShown: readiness and the metrics say whether
// governance fails closed (the default) or open, globally or for some keys
// and policies, counted, never named.
func TestGovernanceFailModeIsShown(t *testing.T) {
	t.Run("default: fail closed", func(t *testing.T) {
		h := start(t, options{})
		h.assertGovernance(t, `{"status":"ready","governance":"fail_closed"}`, 0, 0, 0)
	})
	t.Run("global", func(t *testing.T) {
		h := start(t, options{extra: "governance_fail_open: true\n", virtualKeys: map[string]string{"other": "vk-other-0123456789abcdef"}})
		h.assertGovernance(t, `{"status":"ready","governance":"fail_open"}`, 1, 2, 0)
	})
	t.Run("per key and per policy", func(t *testing.T) {
		idp := fakeidp.New()
		t.Cleanup(idp.Close)
		h := start(t, options{
			webPolicy:   "    governance_fail_open: true\n",
			virtualKeys: map[string]string{"other": "vk-other-0123456789abcdef"},
			extra: `auth:
  jwt:
    issuer: ${IDP_URL}
    audiences: [realtime-api]
    policies:
      free: {max_sessions: 1}
      pro: {max_sessions: 5, governance_fail_open: true}
`,
			env: map[string]string{"IDP_URL": idp.Issuer()},
		})
		h.assertGovernance(t, `{"status":"ready","governance":"fail_closed","fail_open_keys":1,"fail_open_policies":1}`, 0, 1, 1)
		resp, body := do(t, http.MethodGet, h.Admin+"/readyz", nil, "")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		assert.NotContains(t, string(body), "web", "counts, not key ids")
		assert.NotContains(t, string(body), "pro", "counts, not policy names")
	})
}

// TestGovernanceFailModeFollowsReload: a reload that changes
// governance_fail_open changes what readiness and the metrics say, on the
// admin listener too.
func TestGovernanceFailModeFollowsReload(t *testing.T) {
	h := start(t, options{adminListen: true})
	h.assertGovernance(t, `{"status":"ready","governance":"fail_closed"}`, 0, 0, 0)

	require.NoError(t, h.reload(t, h.Text+"governance_fail_open: true\n"))
	h.assertGovernance(t, `{"status":"ready","governance":"fail_open"}`, 1, 1, 0)

	require.NoError(t, h.reload(t, strings.Replace(h.Text, "    value: ${VK_WEB}\n", "    value: ${VK_WEB}\n    governance_fail_open: true\n", 1)))
	h.assertGovernance(t, `{"status":"ready","governance":"fail_closed","fail_open_keys":1}`, 0, 1, 0)

	require.Error(t, h.reload(t, h.Text+"governance_fail_open: maybe\n"), "a bad file keeps the running config")
	h.assertGovernance(t, `{"status":"ready","governance":"fail_closed","fail_open_keys":1}`, 0, 1, 0)

	require.NoError(t, h.reload(t, h.Text))
	h.assertGovernance(t, `{"status":"ready","governance":"fail_closed"}`, 0, 0, 0)
}
