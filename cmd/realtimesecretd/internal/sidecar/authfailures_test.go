package sidecar_test

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAdminAuthFailuresBounded: 1000 requests with a wrong admin token
// write a bounded number of log lines (at most one a second) and all count
// in realtimesecret_admin_auth_failures_total.
func TestAdminAuthFailuresBounded(t *testing.T) {
	h := start(t, options{adminListen: true, adminToken: adminToken})
	const attempts = 1000
	began := time.Now()
	client := &http.Client{Timeout: 10 * time.Second}
	for i := range attempts {
		req, err := http.NewRequestWithContext(context.Background(), http.MethodPost,
			h.Admin+"/admin/v1/virtual_keys/web/end_sessions", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer wrong-admin-token-"+strconv.Itoa(i))
		resp, err := client.Do(req)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	}
	elapsed := time.Since(began)

	h.awaitMetrics(t, "realtimesecret_admin_auth_failures_total "+strconv.Itoa(attempts))
	lines := h.Logs.lines(t, "admin request refused: missing or wrong admin token")
	require.NotEmpty(t, lines)
	assert.LessOrEqual(t, len(lines), int(elapsed/time.Second)+1, "at most one line a second")
	unlogged := 0
	for _, l := range lines {
		unlogged += int(l["unlogged_since_last"].(float64))
	}
	assert.LessOrEqual(t, unlogged+len(lines), attempts, "the lines account for no more refusals than there were")
	assert.NotContains(t, h.Logs.String(), "wrong-admin-token", "what was sent as a token is never logged")
}
