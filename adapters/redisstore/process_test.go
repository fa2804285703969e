package redisstore_test

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

// redisProcess is a redis-server of the test's own on a loopback port, that
// the test can stop, pause and start again on the same port.
type redisProcess struct {
	t    *testing.T
	bin  string
	dir  string
	port int
	cmd  *exec.Cmd
}

// startRedisProcess starts a redis-server on a free loopback port and stops
// it when the test ends. Without the redis-server binary the test is
// skipped, or fails under CI=true.
func startRedisProcess(t *testing.T) *redisProcess {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		redisUnavailable(t, "no redis-server binary in PATH")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	p := &redisProcess{t: t, bin: bin, dir: t.TempDir(), port: port}
	t.Cleanup(p.stop)
	p.start()
	return p
}

// addr is the server's host:port.
func (p *redisProcess) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(p.port)) }

// url is the server's redis:// URL.
func (p *redisProcess) url() string { return "redis://" + p.addr() + "/0" }

// start runs redis-server (again) and waits until it answers PING.
func (p *redisProcess) start() {
	p.t.Helper()
	require.Nil(p.t, p.cmd, "redis-server is already running")
	cmd := exec.Command(p.bin,
		"--port", strconv.Itoa(p.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", p.dir,
		"--daemonize", "no", "--loglevel", "warning")
	killWithParent(cmd)
	require.NoError(p.t, cmd.Start(), "starting redis-server")
	p.cmd = cmd

	c := redis.NewClient(&redis.Options{Addr: p.addr(), MaxRetries: -1, ContextTimeoutEnabled: true})
	defer c.Close()
	require.Eventually(p.t, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		return c.Ping(ctx).Err() == nil
	}, 10*time.Second, 20*time.Millisecond, "redis-server on %s did not answer PING", p.addr())
}

// stop kills the server, if running, and reaps it.
func (p *redisProcess) stop() {
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait()
	p.cmd = nil
}

// pause stops the server with SIGSTOP: connections stay open and the kernel
// still accepts new ones, but nothing is answered, as with an overloaded or
// partitioned Redis. resume undoes it.
func (p *redisProcess) pause() {
	p.t.Helper()
	require.NoError(p.t, p.cmd.Process.Signal(syscall.SIGSTOP))
}

func (p *redisProcess) resume() {
	p.t.Helper()
	require.NoError(p.t, p.cmd.Process.Signal(syscall.SIGCONT))
}
