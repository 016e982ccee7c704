package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tickerd/tickerd/internal/testutil"
)

// wait bounds every wait in these tests.
const wait = 10 * time.Second

var (
	binDir  string // made by TestMain, removed after the tests
	binOnce sync.Once
	binPath string
	binErr  error
)

// TestMain builds nothing up front (tests that need the binary build it
// once) and fails the package if a goroutine outlives the tests.
func TestMain(m *testing.M) {
	var err error
	if binDir, err = os.MkdirTemp("", "tickerd-test-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := testutil.RunAndCheckLeaks(m)
	os.RemoveAll(binDir)
	os.Exit(code)
}

// binary builds cmd/tickerd once per test run.
func binary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		binPath = filepath.Join(binDir, "tickerd")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// proc is a tickerd process.
type proc struct {
	cmd    *exec.Cmd
	addr   string
	out    *testutil.Logs
	exited chan error // Wait's result
}

// startBinary runs tickerd with args plus -addr, waits until /healthz
// answers, and kills it by PID at the end of the test if it still runs.
func startBinary(t *testing.T, args ...string) *proc {
	t.Helper()
	bin := binary(t)
	p := &proc{addr: testutil.FreeAddr(t), out: &testutil.Logs{}, exited: make(chan error, 1)}
	p.cmd = exec.Command(bin, append([]string{"-addr", p.addr, "-log-level", "warn"}, args...)...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.exited <- p.cmd.Wait() }()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("tickerd output:\n%s", p.out.String())
		}
	})
	ok := testutil.Eventually(wait, func() bool {
		select {
		case err := <-p.exited:
			t.Fatalf("tickerd exited at start: %v\n%s", err, p.out.String())
		default:
		}
		status, _, _, err := testutil.HTTPGet("http://"+p.addr+"/healthz", wait)
		return err == nil && status == 200
	})
	if !ok {
		t.Fatalf("tickerd does not answer /healthz\n%s", p.out.String())
	}
	return p
}

// TestSIGTERMGoingAway: on SIGTERM every client gets close 1001 and the
// process exits 0.
func TestSIGTERMGoingAway(t *testing.T) {
	for _, drain := range []string{"0s", "1s"} {
		t.Run("drain "+drain, func(t *testing.T) {
			p := startBinary(t, "-rate", "1000", "-symbols", "5", "-drain", drain)
			var cs []*testutil.Client
			for range 5 {
				c, err := testutil.Dial("ws://"+p.addr+"/ws?symbols=AAPL,MSFT", wait)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				cs = append(cs, c)
			}
			if err := syscall.Kill(p.cmd.Process.Pid, syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			testutil.WantClose(t, 1001, wait, cs...)
			select {
			case err := <-p.exited:
				p.exited <- err // for the cleanup
				if err != nil {
					t.Errorf("tickerd exited with %v, want status 0", err)
				}
			case <-time.After(wait):
				t.Errorf("tickerd still running %v after SIGTERM", wait)
			}
		})
	}
}

// TestBigConnCount opens 19,000 connections to a tickerd process from
// 127.0.0.2..127.0.0.5, checks it serves them, closes them, and checks
// that its fds and goroutines return to where they were. It takes about a
// minute, so it runs only with TICKERD_BIG=1.
func TestBigConnCount(t *testing.T) {
	if os.Getenv("TICKERD_BIG") != "1" {
		t.Skip("set TICKERD_BIG=1 to open 19,000 connections")
	}
	const n = 19_000
	pprof := testutil.FreeAddr(t)
	p := startBinary(t, "-rate", "10", "-symbols", "10", "-steady", "-pprof", pprof, "-message-rate", "-1")
	pid := strconv.Itoa(p.cmd.Process.Pid)
	baseFDs := testutil.FDsOf(pid)
	baseG := goroutines(t, pprof)

	start := time.Now()
	conns := testutil.OpenMany(t, n, 32, wait, func(i int) (*testutil.RawConn, error) {
		src := &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+i%4))}
		d := &net.Dialer{Timeout: wait, LocalAddr: src}
		return testutil.DialRawWith(d, p.addr, "/ws?symbols=AAPL", nil, wait)
	})
	t.Logf("%d connections in %v; tickerd has %d fds", n, time.Since(start), testutil.FDsOf(pid))
	// One fd per connection, not two (netpoll.Handle would dup each). The
	// baseline may include a probe's socket that has closed since, so a
	// few fds either way are allowed.
	if got := testutil.FDsOf(pid) - baseFDs; got < n-8 || got > n+8 {
		t.Errorf("tickerd has %d more fds with %d connections open, want %d (±8)", got, n, n)
	}
	// Still serving: a request on one of them is answered.
	for _, rc := range conns[:10] {
		if rc == nil {
			continue
		}
		if err := rc.WriteText(`{"op":"ping","id":42}`); err != nil {
			t.Fatal(err)
		}
		if _, err := rc.ReadText(wait, testutil.HasID("42")); err != nil {
			t.Errorf("ping with %d connections open: %v", n, err)
		}
	}
	for _, rc := range conns {
		if rc != nil {
			rc.Close()
		}
	}
	var fds, g int
	ok := testutil.Eventually(3*wait, func() bool {
		fds, g = testutil.FDsOf(pid), goroutines(t, pprof)
		return fds <= baseFDs && g <= baseG
	})
	if !ok {
		t.Errorf("after closing every connection tickerd has %d fds and %d goroutines, want at most %d and %d", fds, g, baseFDs, baseG)
	}
}

// goroutines reads the goroutine count from tickerd's pprof endpoint.
func goroutines(t *testing.T, pprof string) int {
	t.Helper()
	status, body, _, err := testutil.HTTPGet("http://"+pprof+"/debug/pprof/goroutine?debug=1", wait)
	if err != nil || status != 200 {
		t.Fatalf("pprof: %d %v", status, err)
	}
	var n int
	if _, err := fmt.Sscanf(string(body), "goroutine profile: total %d", &n); err != nil {
		t.Fatalf("pprof: %v: %.80s", err, body)
	}
	return n
}

// TestNATSCredentialsRedacted: a NATS URL's password or token never
// reaches tickerd's output, the configuration line at start included.
func TestNATSCredentialsRedacted(t *testing.T) {
	nats := testutil.FreeAddr(t)
	p := startBinary(t, "-log-level", "debug", "-role", "feed", "-nats-embed", nats,
		"-nats", "nats://alice:s3cret-pw@"+nats+",nats://t0ken-s3cret@127.0.0.1:1", "-rate", "10", "-symbols", "1")
	if !testutil.Eventually(wait, func() bool { return strings.Contains(p.out.String(), "publishing the feed to NATS") }) {
		t.Fatalf("the feed node did not start publishing:\n%s", p.out.String())
	}
	out := p.out.String()
	if strings.Contains(out, "s3cret") {
		t.Errorf("a NATS credential is in tickerd's output:\n%s", out)
	}
	if !strings.Contains(out, "alice:xxxxx@"+nats) || !strings.Contains(out, "nats://xxxxx@127.0.0.1:1") {
		t.Errorf("the config line does not show the NATS URLs redacted:\n%s", out)
	}
}
