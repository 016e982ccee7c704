package hub_test

import (
	"bufio"
	"cmp"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tickerd/tickerd/internal/testutil"
)

// Some tests need a second process: one that holds the clients, so that
// the test process's memory is the server's alone, or one whose fd limit
// is lowered without touching the tests around it. The test binary runs
// itself with HUB_TEST_CHILD set to the child's name; TestMain sends it
// to runChild instead of the tests.

// childEnv names the child to run; the other HUB_* variables are its
// arguments.
const childEnv = "HUB_TEST_CHILD"

// children are the child programs, by name. Each reads its arguments from
// the environment, talks to the parent over stdin and stdout, and returns
// the exit code.
var children = map[string]func() int{
	"clients": childClients,
	"fdlimit": childFDLimit,
}

// runChild runs the child named name.
func runChild(name string) int {
	f := children[name]
	if f == nil {
		fmt.Fprintf(os.Stderr, "no child %q\n", name)
		return 2
	}
	return f()
}

// child is a running child process. Its stdin is the parent's hold on it:
// closing it tells the child to exit.
type child struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Reader
	errs  strings.Builder
}

// startChild starts the child name with the given HUB_* variables and
// stops it (close stdin, wait) at the end of the test.
func startChild(tb testing.TB, name string, env ...string) *child {
	tb.Helper()
	exe, err := os.Executable()
	if err != nil {
		tb.Fatal(err)
	}
	c := &child{cmd: exec.Command(exe)}
	c.cmd.Env = append(os.Environ(), append([]string{childEnv + "=" + name}, env...)...)
	c.cmd.Stderr = &c.errs
	if c.stdin, err = c.cmd.StdinPipe(); err != nil {
		tb.Fatal(err)
	}
	stdout, err := c.cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	c.out = bufio.NewReader(stdout)
	if err := c.cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.stop(tb) })
	return c
}

// line reads the child's next line of output, waiting up to wait.
func (c *child) line(tb testing.TB) string {
	tb.Helper()
	got := make(chan string, 1)
	go func() {
		s, _ := c.out.ReadString('\n')
		got <- strings.TrimSpace(s)
	}()
	select {
	case s := <-got:
		if s == "" {
			tb.Fatalf("child %s ended: %s", c.cmd.Env[len(os.Environ())], c.errs.String())
		}
		return s
	case <-time.After(3 * wait):
		_ = c.cmd.Process.Kill() // ends the read above
		<-got
		tb.Fatalf("child gave no output in %v: %s", 3*wait, c.errs.String())
		return ""
	}
}

// send writes a line to the child.
func (c *child) send(tb testing.TB, s string) {
	tb.Helper()
	if _, err := io.WriteString(c.stdin, s+"\n"); err != nil {
		tb.Fatal(err)
	}
}

func (c *child) stop(tb testing.TB) {
	_ = c.stdin.Close()
	done := make(chan error, 1)
	go func() { done <- c.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			tb.Errorf("child: %v: %s", err, c.errs.String())
		}
	case <-time.After(3 * wait):
		_ = c.cmd.Process.Kill()
		<-done
		tb.Errorf("child did not exit: %s", c.errs.String())
	}
}

// childClients opens HUB_N WebSocket connections to HUB_ADDR (over TLS if
// HUB_TLS is set) for HUB_PATH ("/ws" if not set), reads each one's limits
// message, prints "ready" and holds them, reading nothing more, until its
// stdin closes. With HUB_RCVBUF their sockets get that receive buffer.
func childClients() int {
	addr := os.Getenv("HUB_ADDR")
	n, _ := strconv.Atoi(os.Getenv("HUB_N"))
	overTLS := os.Getenv("HUB_TLS") != ""
	path := cmp.Or(os.Getenv("HUB_PATH"), "/ws")
	d := &net.Dialer{Timeout: wait}
	if rcvbuf, _ := strconv.Atoi(os.Getenv("HUB_RCVBUF")); rcvbuf > 0 {
		d = testutil.SmallRecvBufDialer(rcvbuf, wait)
	}
	conns := make([]net.Conn, n)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < n; i += 8 {
				nc, err := d.Dial("tcp", addr)
				if err != nil {
					errs <- err
					return
				}
				if overTLS {
					// Loopback, a throwaway certificate: the child only
					// needs a TLS connection, not to check who is on it.
					tc := tls.Client(nc, &tls.Config{InsecureSkipVerify: true})
					if err := tc.Handshake(); err != nil {
						errs <- err
						return
					}
					nc = tc
				}
				rc, err := testutil.Upgrade(nc, addr, path, nil, wait)
				if err == nil {
					err = rc.ReadLimits(wait)
				}
				if err != nil {
					errs <- err
					return
				}
				conns[i] = nc
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
	for _, nc := range conns {
		nc.Close()
	}
	return 0
}

// aloneEnv names the test a child test process runs alone.
const aloneEnv = "HUB_TEST_ALONE"

// alone runs the calling top-level test in a test process of its own,
// so that what it measures of the process (its live heap) is its own and
// not what tests that ran before it, in any order -shuffle gives, left
// behind. In the parent it runs the child, passes on its output and
// failure, and returns false; in the child it returns true:
//
//	if !alone(t) {
//		return
//	}
func alone(t *testing.T) bool {
	t.Helper()
	if os.Getenv(aloneEnv) == t.Name() {
		return true
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^"+regexp.QuoteMeta(t.Name())+"$", "-test.count=1", "-test.v", "-test.timeout=5m")
	cmd.Env = append(os.Environ(), aloneEnv+"="+t.Name())
	out, err := cmd.CombinedOutput()
	t.Logf("in a process of its own:\n%s", out)
	if err != nil {
		t.Errorf("the test failed in its own process: %v", err)
	}
	return false
}
