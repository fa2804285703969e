package openai_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/adapters/openai"
	"github.com/realtimesecret/realtimesecret/internal/fakeupstream"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// memSessions is how many metered sessions the memory test holds open.
const memSessions = 1000

// maxBytesPerSession is the budget of one metered session (issue 13),
// maxBytesPerBudgetedSession of one whose spend is also counted.
const (
	maxBytesPerSession         = 40 << 10
	maxBytesPerBudgetedSession = 30 << 10
)

// helperEnv makes the test binary serve the fake upstream for
// TestMeterMemoryPerSession, in a process of its own so that the memory
// measured is the middleware's alone.
const helperEnv = "REALTIMESECRET_METER_UPSTREAM"

// memScript is what the sidebands of the memory test emit: one event each,
// so that every sideband has read something.
var memScript = fakeupstream.SidebandScript{LiveSeconds: []float64{1}}

// TestMeterHelperUpstream is not a test: run by TestMeterMemoryPerSession
// with helperEnv set, it serves the fake upstream on loopback, prints its
// URL and serves until its standard input closes.
func TestMeterHelperUpstream(t *testing.T) {
	if os.Getenv(helperEnv) == "" {
		t.Skip("the fake upstream of TestMeterMemoryPerSession")
	}
	up := fakeupstream.New(fakeupstream.Options{Keys: []string{stackKey}, Sideband: memScript, MaxRequests: -1})
	srv := httptest.NewServer(up)
	fmt.Println(srv.URL)
	_, _ = io.Copy(io.Discard, os.Stdin)
	up.Close()
	srv.Close()
}

// startHelperUpstream runs TestMeterHelperUpstream in a child process and
// returns its URL.
func startHelperUpstream(t *testing.T) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestMeterHelperUpstream$") //nolint:gosec // this test binary
	cmd.Env = append(os.Environ(), helperEnv+"=1")
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	url := strings.TrimSpace(line)
	require.True(t, strings.HasPrefix(url, "http://"), url)
	go func() { _, _ = io.Copy(io.Discard, stdout) }() //nolint:errcheck // drains the child's output until it exits
	return url
}

// heapAndStacks returns HeapInuse + StackInuse after a full collection.
func heapAndStacks() uint64 {
	runtime.GC()
	debug.FreeOSMemory()
	var st runtime.MemStats
	runtime.ReadMemStats(&st)
	return st.HeapInuse + st.StackInuse
}

// TestMeterMemoryPerSession holds memSessions metered Live sessions open,
// each with its sideband attached and one event read, and reports the
// memory each one costs (HeapInuse + StackInuse, the record, tracking,
// sideband goroutine and WebSocket buffers included): against a fake
// upstream in another process (the middleware's cost, which must stay
// within maxBytesPerSession), and against one in this process (both ends
// of every sideband).
func TestMeterMemoryPerSession(t *testing.T) {
	if testing.Short() {
		t.Skip("holds 1,000 sessions open")
	}
	for _, tc := range []struct {
		name     string
		external bool
		budget   contract.Budget // a budgeted session also counts its spend
		max      int64           // bytes per session; 0: not checked
	}{
		{name: "middleware only", external: true, max: maxBytesPerSession},
		{name: "middleware only, budgeted", external: true, budget: contract.Budget{USD: 1000, Per: 24 * time.Hour},
			max: maxBytesPerBudgetedSession},
		{name: "middleware and fake upstream"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			verifyNoLeaks(t)
			var url string
			if tc.external {
				url = startHelperUpstream(t)
			} else {
				up := fakeupstream.New(fakeupstream.Options{Keys: []string{stackKey}, Sideband: memScript, MaxRequests: -1})
				srv := httptest.NewServer(up)
				t.Cleanup(srv.Close)
				t.Cleanup(up.Close)
				url = srv.URL
			}
			perSession := measureMetered(t, url, tc.budget)
			t.Logf("%s: %d bytes per metered session (%.1f KiB)", tc.name, perSession, float64(perSession)/1024)
			limit := tc.max
			if raceEnabled && limit > 0 {
				// The race detector's shadow memory is counted too: hold a
				// budgeted session to the unbudgeted bound there, and to its
				// own in a build without it (make bench, the README's figure).
				limit = max(limit, maxBytesPerSession)
			}
			if limit > 0 {
				assert.LessOrEqual(t, perSession, limit)
			}
		})
	}
}

// measureMetered opens memSessions metered Live sessions, with budget,
// against the upstream at url and returns the memory each costs.
func measureMetered(t *testing.T, url string, budget contract.Budget) int64 {
	t.Helper()
	p, err := openai.New(openai.Config{BaseURL: url})
	require.NoError(t, err)
	h, err := realtimesecret.New(realtimesecret.Config{
		Providers: []realtimesecret.ProviderConfig{{Name: "openai", Provider: p,
			Keys: []realtimesecret.Key{{ID: "primary", Value: stackKey}}}},
		VirtualKeys:   []realtimesecret.VirtualKey{{ID: "web", Value: stackVK, Budget: budget}},
		UsageMetering: true,
	})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, h.Close()) })
	srv := h.Wrap(http.NotFoundHandler())
	k := sessionKinds()[1]
	create := func() string {
		req := httptest.NewRequestWithContext(context.Background(), http.MethodPost, k.path, strings.NewReader(string(k.body)))
		req.Header.Set("Content-Type", k.contentType)
		req.Header.Set("Authorization", "Bearer "+stackVK)
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, req)
		require.Equal(t, http.StatusCreated, w.Code, w.Body.String())
		return liveID(t, w.Body.Bytes())
	}
	attached := func(ids []string) func() bool {
		return func() bool {
			for _, id := range ids {
				if u, ok := h.SessionUsage(id); !ok || u.Seconds != 1 {
					return false
				}
			}
			return true
		}
	}
	// Warm up: connection pools, buffers pools, the first goroutines.
	warm := []string{create(), create()}
	require.Eventually(t, attached(warm), 30*time.Second, 10*time.Millisecond)

	before := heapAndStacks()
	ids := make([]string, 0, memSessions)
	for range memSessions {
		ids = append(ids, create())
	}
	require.Eventually(t, attached(ids), time.Minute, 20*time.Millisecond)
	after := heapAndStacks()
	require.Equal(t, memSessions+len(warm), h.MeteredSessions())
	return (int64(after) - int64(before)) / memSessions
}

func liveID(t *testing.T, body []byte) string {
	t.Helper()
	const marker = `"session":{"id":"`
	s := string(body)
	i := strings.Index(s, marker)
	require.GreaterOrEqual(t, i, 0, s)
	s = s[i+len(marker):]
	return s[:strings.IndexByte(s, '"')]
}
