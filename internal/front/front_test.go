package front_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"github.com/gorilla/websocket"

	"github.com/tickerd/tickerd/internal/front"
	"github.com/tickerd/tickerd/internal/testutil"
)

const wait = 5 * time.Second

// echo is an Upgrade handler: it upgrades with gobwas/ws, sends "hello",
// then echoes each text message, reading first what the client sent
// behind its handshake (rw.Reader).
var echo = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("panic") != "" {
		panic("handler panics")
	}
	if r.URL.Query().Get("refuse") != "" {
		http.Error(w, "refused: "+r.URL.Query().Get("refuse"), http.StatusForbidden)
		return
	}
	nc, rw, _, err := ws.HTTPUpgrader{}.Upgrade(r, w)
	if err != nil {
		return
	}
	go func() {
		defer nc.Close()
		_ = wsutil.WriteServerText(nc, []byte("hello"))
		rd := struct {
			io.Reader
			io.Writer
		}{rw.Reader, nc}
		for {
			msg, err := wsutil.ReadClientText(rd)
			if err != nil {
				return
			}
			if err := wsutil.WriteServerText(nc, msg); err != nil {
				return
			}
		}
	}()
})

// start serves a Front on a new listener: handshakes for /ws go to echo
// (or cfg.Upgrade if set), the rest to an http.Server without keep-alive
// that answers "path body".
func start(t *testing.T, cfg front.Config) (*front.Front, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Upgrade == nil {
		cfg.Upgrade = echo
	}
	cfg.IsUpgrade = front.UpgradePath("/ws")
	f, err := front.New(ln, cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		_, _ = io.WriteString(w, r.URL.Path+" "+string(b))
	})}
	srv.SetKeepAlivesEnabled(false)
	served, fronted := make(chan error, 1), make(chan error, 1)
	go func() { served <- srv.Serve(f.Listener()) }()
	go func() { fronted <- f.Serve() }()
	t.Cleanup(func() {
		_ = srv.Close()
		if err := f.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			t.Errorf("Close: %v", err)
		}
		if err := <-fronted; err != nil {
			t.Errorf("Serve: %v", err)
		}
		<-served
	})
	return f, ln.Addr().String()
}

func dial(t *testing.T, addr, raw string) net.Conn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, wait)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	if raw != "" {
		if _, err := io.WriteString(nc, raw); err != nil {
			t.Fatal(err)
		}
	}
	return nc
}

// closedWithin reports whether the server closes nc within d (reading
// and dropping whatever comes first): an end of file, or a reset (a
// socket closed with bytes unread sends one).
func closedWithin(nc net.Conn, d time.Duration) bool {
	_ = nc.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, nc) // nil at EOF
	var ne net.Error
	return !errors.As(err, &ne) || !ne.Timeout()
}

func TestWebSocket(t *testing.T) {
	_, addr := start(t, front.Config{})
	c, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(wait))
	if _, m, err := c.ReadMessage(); err != nil || string(m) != "hello" {
		t.Fatalf("first message %q, %v; want hello", m, err)
	}
	if err := c.WriteMessage(websocket.TextMessage, []byte("ping 1")); err != nil {
		t.Fatal(err)
	}
	if _, m, err := c.ReadMessage(); err != nil || string(m) != "ping 1" {
		t.Fatalf("echo %q, %v", m, err)
	}
}

// TestEarlyBytes: a message sent in the same write as the handshake
// reaches the upgraded connection's reader.
func TestEarlyBytes(t *testing.T) {
	_, addr := start(t, front.Config{})
	var frame bytes.Buffer
	if err := wsutil.WriteClientText(&frame, []byte("early")); err != nil {
		t.Fatal(err)
	}
	nc := dial(t, addr, "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"+frame.String())
	_ = nc.SetReadDeadline(time.Now().Add(wait))
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %v, %v", resp, err)
	}
	for _, want := range []string{"hello", "early"} {
		m, err := wsutil.ReadServerText(struct {
			io.Reader
			io.Writer
		}{br, nc})
		if err != nil || string(m) != want {
			t.Fatalf("got %q, %v; want %q", m, err, want)
		}
	}
}

// TestRefusal: a handshake the handler refuses gets its status and text,
// and the connection is closed.
func TestRefusal(t *testing.T) {
	_, addr := start(t, front.Config{})
	c, r, err := (&websocket.Dialer{HandshakeTimeout: wait}).Dial("ws://"+addr+"/ws?refuse=no", nil)
	if err == nil {
		c.Close()
		t.Fatal("refused handshake accepted")
	}
	if r == nil || r.StatusCode != http.StatusForbidden || !r.Close {
		t.Fatalf("response %+v, want 403 and Connection: close", r)
	}
}

// TestOtherRequests: requests that are not handshakes for /ws, the body
// and a pipelined second request included, reach the http.Server with
// every byte; each connection serves one.
func TestOtherRequests(t *testing.T) {
	_, addr := start(t, front.Config{})
	for _, tc := range []struct{ req, want string }{
		{"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", "/healthz "},
		{"POST /api HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", "/api hello"},
		{"GET /ws HTTP/1.1\r\nHost: x\r\n\r\n", "/ws "},                     // /ws, but no handshake
		{"GET /a HTTP/1.1\nHost: x\n\nGET /b HTTP/1.1\nHost: x\n\n", "/a "}, // bare LF, pipelined
	} {
		req := tc.req
		nc := dial(t, addr, req)
		_ = nc.SetReadDeadline(time.Now().Add(wait))
		resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
		if err != nil {
			t.Fatalf("%q: %v", req, err)
		}
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || string(body) != tc.want || !resp.Close {
			t.Errorf("%q: %d %q close %v; want 200 %q and Connection: close", req, resp.StatusCode, body, resp.Close, tc.want)
		}
		if !closedWithin(nc, wait) {
			t.Errorf("%q: connection not closed after the response", req)
		}
	}
}

// TestSlowHeader: a header that does not arrive within ReadHeaderTimeout
// has its connection closed.
func TestSlowHeader(t *testing.T) {
	f, addr := start(t, front.Config{ReadHeaderTimeout: 200 * time.Millisecond})
	nc := dial(t, addr, "GET / HTTP/1.1\r\n")
	start := time.Now()
	for range 3 {
		time.Sleep(20 * time.Millisecond)
		_, _ = io.WriteString(nc, "X")
	}
	if !closedWithin(nc, wait) {
		t.Fatal("slow header not cut")
	}
	t.Logf("closed after %v (ReadHeaderTimeout 200ms)", time.Since(start).Round(time.Millisecond))
	if n := f.Waiting(); n != 0 {
		t.Errorf("%d waiting after the cut, want 0", n)
	}
}

// TestMaxWaiting: past MaxWaiting silent connections, the oldest are
// closed.
func TestMaxWaiting(t *testing.T) {
	const max = 4
	f, addr := start(t, front.Config{MaxWaiting: max, ReadHeaderTimeout: time.Minute})
	var ncs []net.Conn
	for range max + 2 {
		ncs = append(ncs, dial(t, addr, "GET"))
	}
	for _, nc := range ncs[:2] {
		if !closedWithin(nc, wait) {
			t.Fatal("one of the two oldest is still open")
		}
	}
	for _, nc := range ncs[2:] {
		if closedWithin(nc, 50*time.Millisecond) {
			t.Fatal("one of the newest was closed")
		}
	}
	if f.Evicted() != 2 || f.Waiting() != max {
		t.Errorf("evicted %d, waiting %d; want 2 and %d", f.Evicted(), f.Waiting(), max)
	}
}

// TestHeaderTooLarge: a header past MaxHeaderBytes plus net/http's 4 KiB
// of slack gets 431 and is closed, however much more the client sends.
func TestHeaderTooLarge(t *testing.T) {
	const limit = 1024
	_, addr := start(t, front.Config{MaxHeaderBytes: limit})
	nc := dial(t, addr, "GET / HTTP/1.1\r\nX: ")
	go func() { // far more than the limit, never a blank line
		line := strings.Repeat("a", 1000)
		for range 100 {
			if _, err := io.WriteString(nc, line); err != nil {
				return
			}
		}
	}()
	_ = nc.SetReadDeadline(time.Now().Add(wait))
	resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
	if err != nil || resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("%v, %v; want 431", resp, err)
	}
	// A header just within the limit is served.
	ok := dial(t, addr, "GET /ok HTTP/1.1\r\nHost: x\r\nX: "+strings.Repeat("a", limit+4000)+"\r\n\r\n")
	_ = ok.SetReadDeadline(time.Now().Add(wait))
	if resp, err := http.ReadResponse(bufio.NewReader(ok), nil); err != nil || resp.StatusCode != 200 {
		t.Fatalf("header within the limit: %v, %v", resp, err)
	}
}

// TestWaitingMemory: a connection waiting for its header holds about
// what it sent, not a goroutine and buffers.
func TestWaitingMemory(t *testing.T) {
	const conns = 500
	f, addr := start(t, front.Config{MaxWaiting: 2 * conns, ReadHeaderTimeout: time.Minute})
	var ncs []net.Conn
	before := heap()
	head := "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slow/1.0\r\n" // 58 bytes, no blank line
	for range conns {
		ncs = append(ncs, dial(t, addr, head))
	}
	deadline := time.Now().Add(wait)
	for f.Waiting() < conns && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // the last reads
	after := heap()
	per := float64(after-before) / conns
	t.Logf("%d waiting connections: %.0f B of Go memory each (the client's end included)", f.Waiting(), per)
	// The test's own end of each connection is in the same process
	// (about 400 B); net/http would hold about 20 KiB per connection.
	if per > 2048 {
		t.Errorf("%.0f B per waiting connection, want at most 2 KiB", per)
	}
	runtime.KeepAlive(ncs)
}

// heap returns the Go memory in use, heap and stacks, after a collection.
func heap() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapInuse + m.StackInuse)
}

// TestClose: Close ends Serve, closes the connections still waiting, and
// refuses new ones.
func TestClose(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f, err := front.New(ln, front.Config{})
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- f.Serve() }()
	nc := dial(t, ln.Addr().String(), "GET")
	deadline := time.Now().Add(wait)
	for f.Waiting() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve after Close: %v", err)
	}
	if !closedWithin(nc, wait) {
		t.Error("waiting connection not closed")
	}
	if c, err := net.DialTimeout("tcp", ln.Addr().String(), wait); err == nil {
		c.Close()
		t.Error("dial after Close succeeded")
	}
}

// TestUpgradePanics: a panic in the upgrade handler closes that
// connection, is logged, and the Front serves the next one.
func TestUpgradePanics(t *testing.T) {
	var logged testutil.Logs
	_, addr := start(t, front.Config{ErrorLog: logged.Logger()})
	if c, _, err := (&websocket.Dialer{HandshakeTimeout: wait}).Dial("ws://"+addr+"/ws?panic=1", nil); err == nil {
		c.Close()
		t.Fatal("handshake succeeded through a panic")
	}
	c, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/ws", nil)
	if err != nil {
		t.Fatalf("after a panic: %v", err)
	}
	c.Close()
	deadline := time.Now().Add(wait)
	for !strings.Contains(logged.String(), "handler panics") && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if !strings.Contains(logged.String(), "handler panics") {
		t.Errorf("log %q, want the panic", logged.String())
	}
}

// TestHandshakeQueue: with Handshakes 1, requests whose header has come
// are served one at a time, in arrival order, while the others wait in
// the queue; past MaxWaiting queued, a new request gets 503 at once and
// is counted (Busy), however many more come.
func TestHandshakeQueue(t *testing.T) {
	const limit = 4
	release := make(chan struct{})
	var mu sync.Mutex
	var order []string
	running, most := 0, 0
	hold := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		running++
		most = max(most, running)
		order = append(order, r.URL.Query().Get("n"))
		mu.Unlock()
		<-release
		mu.Lock()
		running--
		mu.Unlock()
		http.Error(w, "served", http.StatusForbidden)
	})
	f, addr := start(t, front.Config{Handshakes: 1, MaxWaiting: limit, Upgrade: hold})
	req := func(n int) string {
		return fmt.Sprintf("GET /ws?n=%d HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", n)
	}
	var held []net.Conn
	for n := range 1 + limit {
		held = append(held, dial(t, addr, req(n)))
		// One at a time, so that the order they arrive in is known: the
		// first is in the handler, the others queue behind it.
		if !testutil.Eventually(wait, func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(order) == 1 && f.Queued() == n
		}) {
			t.Fatalf("request %d: %d served, %d queued; want 1 and %d", n, len(order), f.Queued(), n)
		}
	}
	const over = 3
	for n := range over {
		nc := dial(t, addr, req(1+limit+n))
		_ = nc.SetReadDeadline(time.Now().Add(wait))
		b, _ := io.ReadAll(nc)
		if !strings.HasPrefix(string(b), "HTTP/1.1 503 ") {
			t.Fatalf("request past the queue's cap got %q, want 503", b)
		}
	}
	if f.Busy() != over || f.Queued() != limit {
		t.Errorf("busy %d, queued %d; want %d and %d", f.Busy(), f.Queued(), over, limit)
	}
	close(release)
	for _, nc := range held {
		_ = nc.SetReadDeadline(time.Now().Add(wait))
		if b, _ := io.ReadAll(nc); !strings.Contains(string(b), "served") {
			t.Errorf("a queued request got %q, want its handler's answer", b)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if most != 1 || strings.Join(order, ",") != "0,1,2,3,4" {
		t.Errorf("handlers ran %d at once, in order %v; want 1 at a time, in arrival order 0..4", most, order)
	}
}

// TestCloseQueued: Close closes the connections that wait for a handshake
// goroutine.
func TestCloseQueued(t *testing.T) {
	release, running := make(chan struct{}), make(chan struct{}, 2)
	hold := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		running <- struct{}{}
		<-release
		http.Error(w, "served", http.StatusForbidden)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f, err := front.New(ln, front.Config{Handshakes: 1, Upgrade: hold, IsUpgrade: front.UpgradePath("/ws")})
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- f.Serve() }()
	up := "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
	first := dial(t, ln.Addr().String(), up)
	select {
	case <-running:
	case <-time.After(wait):
		t.Fatal("the first request's handler did not run")
	}
	queued := dial(t, ln.Addr().String(), up)
	if !testutil.Eventually(wait, func() bool { return f.Queued() == 1 }) {
		t.Fatalf("%d queued, want 1", f.Queued())
	}
	closed := make(chan error, 1)
	go func() { closed <- f.Close() }() // waits for the handler in progress
	if !closedWithin(queued, wait) {
		t.Error("Close left a queued connection open")
	}
	close(release)
	if err := <-closed; err != nil && !errors.Is(err, net.ErrClosed) {
		t.Errorf("Close: %v", err)
	}
	<-served
	if !closedWithin(first, wait) {
		t.Error("the connection in the handler was not answered and closed")
	}
}
