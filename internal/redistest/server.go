package redistest

import (
	"context"
	"net"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// Server is a redis-server of the test's own on a loopback port. The test
// can stop it, freeze it and start it again on the same port.
type Server struct {
	t    testing.TB
	bin  string
	dir  string
	port int
	cmd  *exec.Cmd
}

// StartServer starts a redis-server on a free loopback port, without
// persistence, and kills it when the test ends. Without the redis-server
// binary the test is skipped, or fails under CI=true.
func StartServer(t testing.TB) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		Unavailable(t, "no redis-server binary in PATH")
	}
	l, err := new(net.ListenConfig).Listen(context.Background(), "tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	s := &Server{t: t, bin: bin, dir: t.TempDir(), port: port}
	t.Cleanup(s.Stop)
	s.Start()
	return s
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// URL is the server's redis:// URL, database 0.
func (s *Server) URL() string { return "redis://" + s.Addr() + "/0" }

// Start runs redis-server (again, after Stop) and waits until it answers
// PING.
func (s *Server) Start() {
	s.t.Helper()
	require.Nil(s.t, s.cmd, "redis-server is already running")
	// The server lives no longer than the test.
	//nolint:gosec // redis-server from PATH, with arguments of our own
	cmd := exec.CommandContext(s.t.Context(), s.bin,
		"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", s.dir,
		"--daemonize", "no", "--loglevel", "warning")
	killWithParent(cmd)
	require.NoError(s.t, cmd.Start(), "starting redis-server")
	s.cmd = cmd

	c := redis.NewClient(&redis.Options{Addr: s.Addr(), MaxRetries: -1, ContextTimeoutEnabled: true})
	defer c.Close()
	require.Eventually(s.t, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		return c.Ping(ctx).Err() == nil
	}, 10*time.Second, 20*time.Millisecond, "redis-server on %s did not answer PING", s.Addr())
}

// Stop kills the server, if it runs, and reaps it: connections are reset
// and new ones refused, as when Redis crashes or restarts.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// Pause freezes the server with SIGSTOP: connections stay open and the
// kernel still accepts new ones, but nothing is answered, as with an
// overloaded or partitioned Redis. Resume undoes it.
func (s *Server) Pause() {
	s.t.Helper()
	require.NotNil(s.t, s.cmd, "redis-server is not running")
	require.NoError(s.t, s.cmd.Process.Signal(syscall.SIGSTOP))
}

// Resume lets a paused server go on (SIGCONT).
func (s *Server) Resume() {
	s.t.Helper()
	require.NotNil(s.t, s.cmd, "redis-server is not running")
	require.NoError(s.t, s.cmd.Process.Signal(syscall.SIGCONT))
}
