package tickerd_test

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/tickerd/tickerd"
	"github.com/tickerd/tickerd/feed/sim"
	"github.com/tickerd/tickerd/internal/apptest"
	"github.com/tickerd/tickerd/internal/selfsigned"
	"github.com/tickerd/tickerd/internal/testutil"
)

// shortHTTP is a server whose HTTP timeouts are all short.
var shortHTTP = tickerd.HTTPConfig{
	ReadHeaderTimeout: 300 * time.Millisecond,
	ReadTimeout:       300 * time.Millisecond,
	WriteTimeout:      300 * time.Millisecond,
	IdleTimeout:       300 * time.Millisecond,
}

// sendHTTP opens a TCP connection to addr and writes raw on it. The
// connection is closed at the end of the test.
func sendHTTP(t *testing.T, addr, raw string) net.Conn {
	t.Helper()
	return dialHTTP(t, addr, nil, raw)
}

// dialHTTP is sendHTTP over TLS with tc, if not nil.
func dialHTTP(t *testing.T, addr string, tc *tls.Config, raw string) net.Conn {
	t.Helper()
	var nc net.Conn
	var err error
	if tc == nil {
		nc, err = net.DialTimeout("tcp", addr, wait)
	} else {
		nc, err = tls.DialWithDialer(&net.Dialer{Timeout: wait}, "tcp", addr, tc)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	if _, err := nc.Write([]byte(raw)); err != nil {
		t.Fatal(err)
	}
	return nc
}

// askHealth asks GET /healthz on a new connection (over TLS with tc) and
// returns it, with the reader that read the answer and whether the server
// said it closes the connection.
func askHealth(t *testing.T, addr string, tc *tls.Config) (net.Conn, *bufio.Reader, bool) {
	t.Helper()
	nc := dialHTTP(t, addr, tc, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /healthz: %d", resp.StatusCode)
	}
	return nc, br, resp.Close
}

// TestIdleKeepAliveReclaimed: on a plain listener an HTTP request that is
// not a WebSocket handshake is the connection's last (the server says
// Connection: close and closes it); over TLS a keep-alive connection that
// asked once and went quiet is closed after IdleTimeout. Either way its
// fd is freed.
func TestIdleKeepAliveReclaimed(t *testing.T) {
	cert, err := selfsigned.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		srv, clt  *tls.Config
		keepAlive bool
	}{{"plain", nil, nil, false}, {"tls", cert.ServerTLS(), cert.ClientTLS(), true}} {
		t.Run(tc.name, func(t *testing.T) {
			r := apptest.Start(t, tickerd.Config{Sim: sim.Config{Rate: 100, Symbols: 2}, HTTP: shortHTTP, TLS: tc.srv, DrainWindow: -1})
			base := testutil.TakeBaseline()
			nc, br, closing := askHealth(t, r.Addr, tc.clt)
			if closing == tc.keepAlive {
				t.Fatalf("Connection: close is %v; want %v", closing, !tc.keepAlive)
			}
			d, err := testutil.ReadEOF(nc, br, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("connection closed %v after its response (IdleTimeout 300ms)", d.Round(time.Millisecond))
			nc.Close()
			if err := base.Check(wait, 0); err != nil {
				t.Errorf("after the connection was closed: %v", err)
			}
		})
	}
}

// TestWaitingCapped: past HTTP.MaxWaiting connections that send nothing
// useful (half a header; over TLS also one keep-alive request, then
// nothing), the one that has waited longest is closed at once instead of
// at its timeout, and a WebSocket client still gets in.
func TestWaitingCapped(t *testing.T) {
	const max = 8
	cert, err := selfsigned.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		srv, clt *tls.Config
		scheme   string
	}{{"plain", nil, nil, "ws"}, {"tls", cert.ServerTLS(), cert.ClientTLS(), "wss"}} {
		t.Run(tc.name, func(t *testing.T) {
			r := apptest.Start(t, tickerd.Config{Sim: sim.Config{Rate: 100, Symbols: 2}, DrainWindow: -1, TLS: tc.srv,
				HTTP: tickerd.HTTPConfig{MaxWaiting: max, ReadHeaderTimeout: time.Minute, IdleTimeout: time.Minute}})
			var first net.Conn
			var br io.Reader
			if tc.srv != nil { // a kept-alive connection that asked once and idles
				first, br, _ = askHealth(t, r.Addr, tc.clt)
			} else {
				first = sendHTTP(t, r.Addr, "GET /healthz HTTP/1.1\r\n")
				br = first
			}
			// Then 3*max send half a header.
			var silent []net.Conn
			for range 3 * max {
				silent = append(silent, dialHTTP(t, r.Addr, tc.clt, "GET /healthz HTTP/1.1\r\n"))
			}
			if _, err := testutil.ReadEOF(first, br, 5*time.Second); err != nil { // long before its minute of timeout
				t.Fatal(err)
			}
			for _, nc := range silent[:2*max] {
				if _, err := testutil.ReadEOF(nc, nc, 5*time.Second); err != nil {
					t.Fatal(err)
				}
			}
			// The newest max are still open.
			for _, nc := range silent[2*max:] {
				_ = nc.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
				if _, err := nc.Read(make([]byte, 1)); !testutil.IsTimeout(err) {
					t.Fatalf("one of the %d newest waiting connections was closed: %v", max, err)
				}
			}
			d := &websocket.Dialer{HandshakeTimeout: wait, TLSClientConfig: tc.clt}
			ws, _, err := d.Dial(tc.scheme+"://"+r.Addr+"/ws", nil)
			if err != nil {
				t.Fatalf("a WebSocket client beside %d waiting connections: %v", max, err)
			}
			ws.Close()
			waitMetric(t, r.Server, "tickerd_http_waiting_closed_total", func(v float64) bool { return v >= 2*max+1 }, "at least 2*max+1")
		})
	}
}

// TestSlowBodyCut: a request whose body never finishes is cut at
// ReadTimeout, after its answer.
func TestSlowBodyCut(t *testing.T) {
	r := apptest.Start(t, tickerd.Config{Sim: sim.Config{Rate: 100, Symbols: 2}, HTTP: shortHTTP, DrainWindow: -1})
	// 10 of the 1,000 bytes announced: the server answers, then waits
	// for the rest to reuse the connection.
	nc := sendHTTP(t, r.Addr, "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n0123456789")
	d, err := testutil.ReadEOF(nc, nc, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("connection with an unfinished body closed after %v (ReadTimeout 300ms)", d.Round(time.Millisecond))
}

// TestStalledReaderCut: a client that asks for responses and never reads
// them is cut at WriteTimeout instead of holding the connection (and the
// responses) until it reads.
func TestStalledReaderCut(t *testing.T) {
	r := apptest.Start(t, tickerd.Config{Sim: sim.Config{Rate: 2000, Steady: true}, HTTP: shortHTTP, DrainWindow: -1})
	waitStatus(t, "http://"+r.Addr+"/readyz", 200)
	_, one := get(t, "http://"+r.Addr+"/api/symbols")
	nc, err := testutil.SmallRecvBufDialer(4096, wait).Dial("tcp", r.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	// Enough pipelined requests that their responses overflow every
	// buffer between the server and us (the kernel's send buffer grows to
	// a few MiB).
	n := max(400, (16<<20)/max(len(one), 1))
	req := strings.Repeat("GET /api/symbols HTTP/1.1\r\nHost: x\r\n\r\n", n)
	go func() { _, _ = nc.Write([]byte(req)) }() // the server may stop reading first
	time.Sleep(2 * time.Second)                  // stalled well past WriteTimeout
	_ = nc.SetReadDeadline(time.Now().Add(wait))
	got, err := io.Copy(io.Discard, nc)
	want := int64(n * len(one))
	if testutil.IsTimeout(err) {
		t.Fatalf("read %d bytes, then the connection stayed open: want it cut at WriteTimeout", got)
	}
	if got >= want {
		t.Errorf("read %d bytes, every response (%d × %d bytes): want the connection cut at WriteTimeout", got, n, len(one))
	}
	t.Logf("stalled reader got %d of %d bytes before the server cut it", got, want)
}

// TestWebSocketOutlivesHTTPTimeouts: WebSocket connections leave the HTTP
// server at the upgrade, so its read, write and idle timeouts do not touch
// them, over plain TCP and TLS: a client that stays quiet longer than all
// of them still gets its ticks and an answer to a ping.
func TestWebSocketOutlivesHTTPTimeouts(t *testing.T) {
	cert, err := selfsigned.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		tls    *tls.Config
		scheme string
		dialer *websocket.Dialer
	}{
		{"ws", nil, "ws", &websocket.Dialer{HandshakeTimeout: wait}},
		{"wss", cert.ServerTLS(), "wss", &websocket.Dialer{HandshakeTimeout: wait, TLSClientConfig: cert.ClientTLS()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := apptest.Start(t, tickerd.Config{Sim: sim.Config{Rate: 200, Symbols: 2, Steady: true}, HTTP: shortHTTP, TLS: tc.tls, DrainWindow: -1})
			c, err := testutil.DialWith(tc.dialer, tc.scheme+"://"+r.Addr+"/ws?symbols=AAPL")
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			// Read ticks for four times the timeouts, sending nothing.
			var ticks int
			for end := time.Now().Add(1200 * time.Millisecond); time.Now().Before(end); {
				m, err := c.Next(time.Now().Add(wait))
				if err != nil {
					t.Fatalf("after %d ticks: %v", ticks, err)
				}
				if m.IsData() {
					ticks++
				}
			}
			if err := c.Ping(`"late"`, wait); err != nil {
				t.Errorf("ping after 1.2 s of quiet (HTTP timeouts 300ms): %v", err)
			}
			if ticks < 20 {
				t.Errorf("%d ticks in 1.2 s at 100 a second, want the stream to go on", ticks)
			}
		})
	}
}

// metricValue reads one sample of a metric from the server's /metrics,
// without a socket.
func metricValue(t *testing.T, s *tickerd.Server, name string) (float64, bool) {
	t.Helper()
	w := httptest.NewRecorder()
	s.Handlers().Metrics.ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` (\S+)$`).FindStringSubmatch(w.Body.String())
	if m == nil {
		return 0, false
	}
	v, err := strconv.ParseFloat(m[1], 64)
	return v, err == nil
}

// TestAcceptErrorsCounted runs itself in a child process whose open-file
// limit it lowers until accept fails with EMFILE: the error is logged at
// warn and counted in tickerd_accept_errors_total, and the server accepts
// again once descriptors are free.
func TestAcceptErrorsCounted(t *testing.T) {
	if os.Getenv("TICKERD_TEST_EMFILE") == "1" {
		acceptEMFILE(t)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestAcceptErrorsCounted$", "-test.v")
	cmd.Env = append(os.Environ(), "TICKERD_TEST_EMFILE=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("--- PASS: TestAcceptErrorsCounted")) {
		t.Errorf("child: %v\n%s", err, out)
	}
}

// acceptEMFILE is TestAcceptErrorsCounted in the child process.
func acceptEMFILE(t *testing.T) {
	var logs testutil.Logs
	r := apptest.Start(t, tickerd.Config{Sim: sim.Config{Rate: 10, Symbols: 1}, Logger: logs.Logger(), DrainWindow: -1})
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	low := lim
	low.Cur = uint64(testutil.OpenFDs() + 32)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim) }()
	// Take every free descriptor, then give one back for the client's
	// socket: the server has none left to accept it with.
	var fill []*os.File
	defer func() {
		for _, f := range fill {
			f.Close()
		}
	}()
	for {
		f, err := os.Open(os.DevNull)
		if err != nil {
			if !errors.Is(err, syscall.EMFILE) {
				t.Fatal(err)
			}
			break
		}
		fill = append(fill, f)
	}
	fill[len(fill)-1].Close()
	fill = fill[:len(fill)-1]
	nc, err := net.DialTimeout("tcp", r.Addr, wait) // the kernel completes the handshake; accept fails
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if !testutil.Eventually(wait, func() bool { v, _ := metricValue(t, r.Server, "tickerd_accept_errors_total"); return v > 0 }) {
		t.Fatal("tickerd_accept_errors_total did not rise while accept had no descriptor")
	}
	for _, f := range fill {
		f.Close()
	}
	fill = nil
	// The server accepts the waiting connection and answers on it.
	_ = nc.SetDeadline(time.Now().Add(wait))
	if _, err := nc.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
	if err != nil {
		t.Fatalf("after descriptors were freed: %v", err)
	}
	resp.Body.Close()
	warn := regexp.MustCompile(`level=WARN msg="accept failed; retrying" err=.*too many open files.* accept_errors_total=\d+`)
	if !warn.MatchString(logs.String()) {
		t.Errorf("no warning about the accept error in the log:\n%s", logs.String())
	}
	fmt.Println("accept errors counted and logged")
}
