// Command stallrss measures what unauthenticated callers that stall cost
// the sidecar in resident memory (issue 21, "identity before resources"):
// for each body-reading route it opens -conns loopback connections that
// send a request without a key announcing a body of -limit bytes (the
// route's limit, max_body_bytes, default 1 MiB), write all of it but the
// last byte and then stall; it samples the sidecar's VmRSS (and VmHWM) from
// /proc/<pid>/status while they are open, closes them after -hold, and
// reads VmRSS again -settle later. Then it sends, on each route, one body of
// -big bytes (10 MB) without a key and reports the status and how much of
// it had been written when the answer came. It is a measurement, not a
// test, and not part of the product: docs/performance.md has its figures.
//
// Run it from the repository root (Linux only: it reads /proc):
//
//	make stall-rss
//	go run ./internal/stallrss -settle 5s   # shorter, flagged in the output
//
// It builds cmd/realtimesecretd into a temporary directory (or runs -bin)
// and starts it in demo mode with testdata/sidecar.yaml (make run's config)
// on 127.0.0.1:0, OPENAI_API_KEY removed from its environment, reading the
// address from its "realtimesecretd listening" log line; it talks to
// loopback only, every loop is bounded, and it stops the sidecar when done.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// route is one body-reading route and a Content-Type it accepts, so that
// the request gets as far as the caller's identity.
type route struct{ path, contentType string }

var routes = []route{
	{"/v1/realtime/calls", "multipart/form-data; boundary=stallrss"},
	{"/v1/live/sessions", "application/json"},
	{"/v1/realtime/client_secrets", "application/json"},
}

type options struct {
	bin, config        string
	conns              int
	limit, big         int64
	hold, settle, wait time.Duration
}

func main() {
	var o options
	flag.StringVar(&o.bin, "bin", "", "realtimesecretd binary to run; empty builds ./cmd/realtimesecretd into a temporary directory")
	flag.StringVar(&o.config, "config", "testdata/sidecar.yaml", "sidecar config (demo mode; its listen must read ${LISTEN})")
	flag.IntVar(&o.conns, "conns", 150, "stalling connections per route (at most 1000)")
	flag.Int64Var(&o.limit, "limit", 1<<20, "the routes' body limit (max_body_bytes): the Content-Length announced")
	flag.Int64Var(&o.big, "big", 10<<20, "size of the one large body sent without a key on each route")
	flag.DurationVar(&o.hold, "hold", 3*time.Second, "how long the stalling connections are held open")
	flag.DurationVar(&o.settle, "settle", 20*time.Second, "wait after they close before RSS is read again")
	flag.DurationVar(&o.wait, "start-timeout", 60*time.Second, "how long to wait for the sidecar to listen")
	flag.Parse()
	if o.conns < 1 || o.conns > 1000 || o.limit < 2 || o.big < 1 || o.hold <= 0 || o.settle < 0 {
		fmt.Fprintln(os.Stderr, "stallrss: -conns must be 1..1000, -limit at least 2, -big and -hold positive")
		os.Exit(2)
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "stallrss:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute) // bounds everything
	defer cancel()
	if o.bin == "" {
		dir, err := os.MkdirTemp("", "stallrss")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		o.bin = filepath.Join(dir, "realtimesecretd")
		fmt.Fprintln(os.Stderr, "building ./cmd/realtimesecretd")
		build := exec.CommandContext(ctx, "go", "build", "-o", o.bin, "./cmd/realtimesecretd") //nolint:gosec // G204: the operator's own flags
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("go build: %w", err)
		}
	}
	sc, err := startSidecar(ctx, o)
	if err != nil {
		return err
	}
	defer sc.stop()
	fmt.Fprintf(os.Stderr, "sidecar pid %d on %s\n", sc.pid, sc.addr)

	// Warm up: the first requests of each route set up what every later
	// one shares (pools, the demo page's assets are not touched).
	for _, rt := range routes {
		for range 3 {
			if _, err := stall(ctx, sc.addr, rt, 1, o.limit, 100*time.Millisecond, nil); err != nil {
				return err
			}
		}
	}
	time.Sleep(time.Second)

	var rows []row
	for _, rt := range routes {
		r := row{route: rt.path}
		if r.before, r.hwmBefore, err = sc.rss(); err != nil {
			return err
		}
		var peak atomic.Int64
		peak.Store(r.before)
		sample := func() {
			if v, _, err := sc.rss(); err == nil && v > peak.Load() {
				peak.Store(v)
			}
		}
		if r.stalled, err = stall(ctx, sc.addr, rt, o.conns, o.limit, o.hold, sample); err != nil {
			return err
		}
		r.peak = peak.Load()
		if _, r.hwmAfter, err = sc.rss(); err != nil {
			return err
		}
		time.Sleep(o.settle)
		if r.after, _, err = sc.rss(); err != nil {
			return err
		}
		rows = append(rows, r)
	}
	var bigs []bigResult
	for _, rt := range routes {
		b, err := sendBig(ctx, sc.addr, rt, o.big)
		if err != nil {
			return err
		}
		bigs = append(bigs, b)
	}
	report(os.Stdout, o, rows, bigs)
	return nil
}

// sidecar is the realtimesecretd process under measurement.
type sidecar struct {
	cmd  *exec.Cmd
	pid  int
	addr string
	done chan struct{} // closed when it has exited
}

// startSidecar starts o.bin in demo mode on a loopback port and waits for
// its "realtimesecretd listening" line.
func startSidecar(ctx context.Context, o options) (*sidecar, error) {
	cmd := exec.CommandContext(ctx, o.bin, "-config", o.config) //nolint:gosec // G204: the operator's own flags
	env := []string{"LISTEN=127.0.0.1:0"}
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if name != "OPENAI_API_KEY" && name != "LISTEN" && name != "VK_DEMO" {
			env = append(env, kv)
		}
	}
	cmd.Env = env
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &sidecar{cmd: cmd, pid: cmd.Process.Pid, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		_ = pw.Close()
		close(s.done)
	}()
	addrc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			if a := listenAddr(sc.Bytes()); a != "" {
				select {
				case addrc <- a:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, pr) // keep the pipe drained
	}()
	select {
	case s.addr = <-addrc:
	case <-s.done:
		return nil, errors.New("the sidecar exited before it listened")
	case <-time.After(o.wait):
		s.stop()
		return nil, errors.New("the sidecar did not log \"realtimesecretd listening\"")
	}
	host, _, err := net.SplitHostPort(s.addr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		s.stop()
		return nil, fmt.Errorf("the sidecar listens on %q, not on loopback", s.addr)
	}
	return s, nil
}

// listenAddr returns the addr of a "realtimesecretd listening" log line,
// JSON or text.
func listenAddr(line []byte) string {
	if !bytes.Contains(line, []byte("realtimesecretd listening")) {
		return ""
	}
	var m struct{ Addr string }
	if json.Unmarshal(line, &m) == nil && m.Addr != "" {
		return m.Addr
	}
	for _, f := range strings.Fields(string(line)) {
		if a, ok := strings.CutPrefix(f, "addr="); ok {
			return strings.Trim(a, `"`)
		}
	}
	return ""
}

// stop asks the sidecar to drain and exit, then kills it after 15 s.
func (s *sidecar) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// rss returns the sidecar's VmRSS and VmHWM in KiB.
func (s *sidecar) rss() (rss, hwm int64, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(s.pid) + "/status")
	if err != nil {
		return 0, 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		name, v, ok := strings.Cut(line, ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("%s: %w", name, err)
		}
		if name == "VmRSS" {
			rss = n
		} else {
			hwm = n
		}
	}
	return rss, hwm, nil
}

// stalled is what n stalling connections saw.
type stalled struct {
	statuses map[string]int // status line, or the error before one
	closed   int            // connections the server closed within the hold
	written  int64          // body bytes written, over all connections
}

// stall opens n connections to rt, each announcing limit bytes without a
// key and writing limit-1 of them, holds them open for hold, calling sample
// every 10 ms, then closes them.
func stall(ctx context.Context, addr string, rt route, n int, limit int64, hold time.Duration, sample func()) (stalled, error) {
	res := stalled{statuses: map[string]int{}}
	body := bytes.Repeat([]byte{'a'}, int(limit-1)) // the client's, shared by the writers
	head := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n",
		rt.path, addr, rt.contentType, limit)
	stopSampling := make(chan struct{})
	var sampling sync.WaitGroup
	if sample != nil {
		sampling.Go(func() {
			tick := time.NewTicker(10 * time.Millisecond)
			defer tick.Stop()
			for {
				sample()
				select {
				case <-stopSampling:
					return
				case <-tick.C:
				}
			}
		})
	}
	var (
		mu      sync.Mutex
		wg      sync.WaitGroup
		conns   []net.Conn
		written atomic.Int64
		over    atomic.Bool // the hold is over: errors from here on are the client's close
		d       net.Dialer
	)
	deadline := time.Now().Add(hold + 10*time.Second)
	for range n {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			close(stopSampling)
			for _, c := range conns {
				_ = c.Close()
			}
			return res, fmt.Errorf("dial %s: %w", addr, err)
		}
		conns = append(conns, c)
		_ = c.SetDeadline(deadline)
		wg.Go(func() { // the writer: the head, then all of the body but its last byte
			if _, err := io.WriteString(c, head); err != nil {
				return
			}
			m, _ := c.Write(body)
			written.Add(int64(m))
		})
		wg.Go(func() { // the reader: the answer, then whether the server closes
			br := bufio.NewReader(c)
			status := "no answer"
			resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodPost})
			if err == nil {
				status = resp.Status
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
			}
			closed := false
			if err == nil {
				_, err = br.ReadByte()
			}
			if err != nil && !isTimeout(err) && !over.Load() {
				closed = true // EOF or reset within the hold: the server let go of it
			}
			mu.Lock()
			res.statuses[status]++
			if closed {
				res.closed++
			}
			mu.Unlock()
		})
	}
	// Stall: nothing more is sent until hold has passed.
	select {
	case <-time.After(hold):
	case <-ctx.Done():
	}
	over.Store(true)
	for _, c := range conns {
		_ = c.Close()
	}
	wg.Wait()
	close(stopSampling)
	sampling.Wait()
	res.written = written.Load()
	return res, nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// bigResult is the answer to one large body without a key.
type bigResult struct {
	route, status    string
	writtenAtAnswer  int64 // body bytes the client had written when the answer came
	writtenAtEnd     int64 // and in all, before the server closed or the write gave up
	answeredIn       time.Duration
	connectionClosed bool
}

// sendBig sends one body of size bytes without a key to rt.
func sendBig(ctx context.Context, addr string, rt route, size int64) (bigResult, error) {
	res := bigResult{route: rt.path, status: "no answer"}
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return res, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	var written atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	wg.Go(func() {
		if _, err := fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n",
			rt.path, addr, rt.contentType, size); err != nil {
			return
		}
		chunk := bytes.Repeat([]byte{'a'}, 64<<10)
		for left := size; left > 0; {
			m, err := c.Write(chunk[:min(left, int64(len(chunk)))])
			written.Add(int64(m))
			left -= int64(m)
			if err != nil {
				return
			}
		}
	})
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodPost})
	res.answeredIn = time.Since(start)
	res.writtenAtAnswer = written.Load()
	if err == nil {
		res.status = resp.Status
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if _, err := br.ReadByte(); err != nil && !isTimeout(err) {
			res.connectionClosed = true
		}
	}
	_ = c.Close() // ends a writer the server left blocked
	wg.Wait()
	res.writtenAtEnd = written.Load()
	return res, nil
}

// row is one route's stalling connections, in KiB.
type row struct {
	route               string
	before, peak, after int64
	hwmBefore, hwmAfter int64
	stalled             stalled
}

func report(w io.Writer, o options, rows []row, bigs []bigResult) {
	mib := func(kib int64) string { return fmt.Sprintf("%.1f", float64(kib)/1024) }
	signed := func(kib int64) string { return fmt.Sprintf("%+.1f", float64(kib)/1024) }
	settle := o.settle.String()
	if o.settle < 20*time.Second {
		settle += " (shortened: the issue's figure is at 20s)"
	}
	fmt.Fprintf(w, "%d connections per route, each announcing %d bytes without a key and stalling one byte short; held %s; after = %s later\n",
		o.conns, o.limit, o.hold, settle)
	fmt.Fprintf(w, "RSS in MiB (VmRSS sampled every 10 ms; VmHWM is the kernel's high-water mark)\n\n")
	fmt.Fprintf(w, "%-30s %7s %7s %7s %11s %11s %9s  %s\n", "route", "before", "peak", "after", "peak-before", "after-before", "HWM grew", "statuses; closed by server; body bytes sent")
	for _, r := range rows {
		keys := make([]string, 0, len(r.stalled.statuses))
		for k := range r.stalled.statuses {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		var st []string
		for _, k := range keys {
			st = append(st, fmt.Sprintf("%d × %s", r.stalled.statuses[k], k))
		}
		fmt.Fprintf(w, "%-30s %7s %7s %7s %11s %11s %9s  %s; %d/%d closed; %.1f MiB sent\n", r.route,
			mib(r.before), mib(r.peak), mib(r.after), signed(r.peak-r.before), signed(r.after-r.before),
			signed(r.hwmAfter-r.hwmBefore), strings.Join(st, ", "), r.stalled.closed, o.conns, float64(r.stalled.written)/(1<<20))
	}
	fmt.Fprintf(w, "\none %d-byte body without a key:\n", o.big)
	for _, b := range bigs {
		fmt.Fprintf(w, "%-30s %s in %s; %.1f MiB of the body written when it came, %.1f MiB in all; connection closed by the server: %t\n",
			b.route, b.status, b.answeredIn.Round(time.Millisecond), float64(b.writtenAtAnswer)/(1<<20),
			float64(b.writtenAtEnd)/(1<<20), b.connectionClosed)
	}
}
