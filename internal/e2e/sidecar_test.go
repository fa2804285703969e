package e2e_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sidecarProc is a realtimesecretd process started from its binary, as an
// operator runs it.
type sidecarProc struct {
	URL  string // http://127.0.0.1:port, read from its "listening" log line
	logs *lockedBuffer
}

// buildSidecar returns cmd/realtimesecretd compiled with the race detector,
// in the library's module (its go.mod, not this one's). The suites share
// one build per run of the package (removed by TestMain): a -race build of
// the sidecar is the slowest step of the browser and sidecar suites.
func buildSidecar(t *testing.T) string {
	t.Helper()
	sidecarBuild.once.Do(func() {
		dir, err := os.MkdirTemp("", "realtimesecret-e2e-")
		if err != nil {
			sidecarBuild.err = err
			return
		}
		sidecarBuild.dir = dir
		bin := filepath.Join(dir, "realtimesecretd")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "go", "build", "-race", "-o", bin, "./cmd/realtimesecretd")
		cmd.Dir = filepath.Join("..", "..")
		// Never rewrite the library's go.mod from a test, whatever GOFLAGS
		// this module runs with (the Makefile gives it -mod=mod).
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=readonly")
		if out, err := cmd.CombinedOutput(); err != nil {
			sidecarBuild.err = fmt.Errorf("go build ./cmd/realtimesecretd: %w\n%s", err, out)
			return
		}
		sidecarBuild.bin = bin
	})
	require.NoError(t, sidecarBuild.err)
	return sidecarBuild.bin
}

// sidecarBuild is the one build of the sidecar buildSidecar makes.
var sidecarBuild struct {
	once sync.Once
	dir  string // removed by TestMain
	bin  string
	err  error
}

// TestMain removes the shared sidecar build after the suites.
func TestMain(m *testing.M) {
	code := m.Run()
	if sidecarBuild.dir != "" {
		_ = os.RemoveAll(sidecarBuild.dir)
	}
	os.Exit(code)
}

// startSidecar runs bin with config (YAML) and env added to the
// environment, and waits for it to listen. On cleanup it sends SIGTERM and
// checks that the sidecar drains and exits 0.
func startSidecar(t *testing.T, bin, config string, env ...string) *sidecarProc {
	t.Helper()
	path := filepath.Join(t.TempDir(), "realtimesecretd.yaml")
	require.NoError(t, os.WriteFile(path, []byte(config), 0o600))

	cmd := exec.Command(bin, "-config", path)
	// No provider key from the developer's shell: the config must run in
	// demo mode, against the built-in fake upstream.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OPENAI_API_KEY=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())

	p := &sidecarProc{logs: &lockedBuffer{}}
	addr := make(chan string, 1)
	logsDone := make(chan struct{})
	go func() {
		defer close(logsDone)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.logs.writeLine(sc.Text())
			var line struct {
				Msg  string `json:"msg"`
				Addr string `json:"addr"`
			}
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "realtimesecretd listening" && line.Addr != "" {
				addr <- line.Addr
			}
		}
	}()
	exited := make(chan error, 1)
	go func() {
		<-logsDone // Wait closes the pipe: read it to the end first.
		exited <- cmd.Wait()
	}()

	t.Cleanup(func() {
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
			t.Errorf("SIGTERM: %v", err)
		}
		select {
		case err := <-exited:
			assert.NoError(t, err, "the sidecar exits 0 after SIGTERM")
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			t.Error("the sidecar did not stop within 30 s of SIGTERM")
		}
		if t.Failed() {
			t.Logf("sidecar log:\n%s", p.logs)
		}
	})

	select {
	case a := <-addr:
		p.URL = "http://" + a
	case err := <-exited:
		exited <- err // for the cleanup
		t.Fatalf("the sidecar exited before listening (%v):\n%s", err, p.logs)
	case <-time.After(60 * time.Second):
		t.Fatalf("the sidecar did not log its address within 60 s:\n%s", p.logs)
	}
	return p
}

// get fetches url and returns the status and body.
func get(t *testing.T, url string) (int, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, body
}

// metricsWhen scrapes url until done accepts the exposition, or 10 s pass,
// and returns the last one. The sidecar counts a mint just after its
// answer has been sent, so a test that has its answer may scrape first.
func metricsWhen(t *testing.T, url string, done func(exposition []byte) bool) []byte {
	t.Helper()
	var metrics []byte
	deadline := time.Now().Add(10 * time.Second)
	for {
		var status int
		status, metrics = get(t, url)
		require.Equal(t, http.StatusOK, status)
		if done(metrics) || time.Now().After(deadline) {
			return metrics
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// lockedBuffer collects output written from other goroutines: the
// sidecar's log lines, Chromium's output.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) writeLine(s string) {
	_, _ = l.Write([]byte(s + "\n"))
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
