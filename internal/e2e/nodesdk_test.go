package e2e_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestNodeSDK runs the node --test suite in node/ against a fresh stack.
//
// Go starts the server and node is its child, rather than node spawning a
// Go server: one runner owns the lifetime of both (no orphaned server when
// node dies), the server runs under -race, and CI=true turns a missing node
// into a failure in one place. node's own report (test counts included) is
// streamed to this test's output.
//
// The suite runs on the Node.js that package-lock.json pins (the npm "node"
// package, 22.x), because openai v7 declares engines node >= 22 and Debian's
// is older.
func TestNodeSDK(t *testing.T) {
	t.Parallel()
	node, err := filepath.Abs(filepath.Join("node", "node_modules", ".bin", "node"))
	require.NoError(t, err)
	if _, err := os.Stat(filepath.Join("node", "node_modules", "openai", "package.json")); err != nil {
		missingTool(t, "node/node_modules is not installed: run npm ci in internal/e2e/node")
	}
	if _, err := os.Stat(node); err != nil {
		missingTool(t, "the pinned Node.js is missing from node/node_modules: run npm ci in internal/e2e/node")
	}

	st := newStack(t)
	cmd := exec.CommandContext(t.Context(), node, "--test", "--test-reporter=spec", "realtime.test.mjs")
	cmd.Dir = "node"
	cmd.Env = append(os.Environ(),
		"E2E_BASE_URL="+st.URL,
		"E2E_UPSTREAM_LOG="+upstreamLogPath,
		"E2E_VK_WEB="+vkWeb,
		"E2E_VK_DISABLED="+vkDisabled,
		"E2E_VK_RATE="+vkRate,
		"E2E_KEY_REALTIME="+upstreamKeyRealtime,
		"E2E_KEY_TRANSCRIBE="+upstreamKeyTranscribe,
		"E2E_KEY_TRANSLATE="+upstreamKeyTranslate,
		"E2E_KEY_LIVE="+upstreamKeyLive,
		"E2E_SDP_OFFER="+sampleOffer,
		"NO_COLOR=1",
	)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	require.NoError(t, cmd.Run(), "node --test failed; its report is above")

	// The Go side checks too, so a node suite that asserted nothing could
	// not pass: every successful mint of the suite reached the upstream.
	assert.GreaterOrEqual(t, st.Upstream.Count(), 5, "mints the node suite made upstream")
}
