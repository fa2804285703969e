package sidecar

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAuthFailuresLogAtABoundedRate: with a fake clock, a burst of refusals
// within a second is one log line; the next line, a second later, says how
// many went unlogged; the counter has every one.
func TestAuthFailuresLogAtABoundedRate(t *testing.T) {
	var logs bytes.Buffer
	now := time.Unix(1_700_000_000, 0)
	counter := prometheus.NewCounter(prometheus.CounterOpts{Name: "test_failures_total"})
	a := newAuthFailures(counter, slog.New(slog.NewJSONHandler(&logs, nil)), func() time.Time { return now })
	r := httptest.NewRequest("POST", adminAPIPrefix+"web"+endSessionsSuffix, nil)
	r.Header.Set("Authorization", "Bearer guessed-token-0123456789")

	for range 1000 {
		a.refused(r)
		now = now.Add(time.Millisecond / 2) // 1000 in half a second
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	require.Len(t, lines, 1, "one line for the burst")

	now = now.Add(authFailureLogInterval)
	a.refused(r)
	lines = strings.Split(strings.TrimSpace(logs.String()), "\n")
	require.Len(t, lines, 2)
	var last map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[1]), &last))
	assert.Equal(t, "WARN", last["level"])
	assert.InDelta(t, 999, last["unlogged_since_last"], 0, "the refusals the first line did not cover")
	assert.InDelta(t, 1001, testutil.ToFloat64(counter), 0)
	assert.NotContains(t, logs.String(), "guessed-token", "what was sent as a token is never logged")
}
