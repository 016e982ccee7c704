package hub_test

// What a hostile client can make the server hold, and for how long: each
// test tries to exceed one bound, over real sockets.

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/sys/unix"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/hub"
	"github.com/tickerd/tickerd/internal/testutil"
)

// liveMem returns the bytes of live heap objects and of goroutine stacks.
func liveMem() (heap, stacks int64) {
	ms := hub.MemAfterGC()
	return int64(ms.HeapAlloc), int64(ms.StackInuse)
}

// manySymbols returns n symbols with 16-byte names, so that a list reply
// is about 19 bytes per symbol.
func manySymbols(n int) []feed.Symbol { return hub.SymbolsNamed("SYMBOL-%09d", n) }

// TestUnreadRepliesBounded sends 200 list requests, each answered with
// about 38 KB, and does not read: under the count cap (256), so only the
// byte budget (MaxPendingReplyBytes) can stop the hub from holding 7.6 MB
// for the client. The client must be closed with 1008 after a handful of
// replies, and others served meanwhile.
func TestUnreadRepliesBounded(t *testing.T) { forTransports(t, testUnreadRepliesBounded) }

func testUnreadRepliesBounded(t *testing.T, tr transport) {
	srv := startHubWith(t, tr, hub.Config{MessageRate: -1}, manySymbols(2000), nil)
	other := srv.dial(t, "")
	flood, err := testutil.DialWith(srv.dialer(4096), srv.url)
	if err != nil {
		t.Fatal(err)
	}
	defer flood.Close()
	const n = 200
	var reqs []byte
	for i := range n {
		reqs = testutil.AppendFrame(reqs, text(true, fmt.Sprintf(`{"op":"list","id":%d}`, i)))
	}
	nc := flood.C.NetConn()
	_ = nc.SetWriteDeadline(time.Now().Add(wait))
	if _, err := nc.Write(reqs); err != nil {
		t.Logf("write stopped early (server closed): %v", err)
	}
	checkServed(t, other, "1")
	// Read only now: whatever the server kept for the client, then its
	// close frame.
	got := 0
	_ = flood.C.SetReadDeadline(time.Now().Add(wait))
	for {
		_, _, err := flood.C.ReadMessage()
		if err == nil {
			got++
			continue
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) {
			t.Fatalf("after %d replies: %v; want a close frame (1008)", got, err)
		}
		if ce.Code != 1008 || !strings.Contains(ce.Text, "unread replies") {
			t.Errorf("closed %d %q, want 1008 about unread replies", ce.Code, ce.Text)
		}
		break
	}
	t.Logf("the client got %d of %d replies before the close", got, n)
	if got > 20 {
		t.Errorf("the client got %d replies of about 38 KB before the close, want at most 20: the hub held them for it", got)
	}
	if !testutil.Eventually(wait, func() bool { return srv.h.Stats().Closed["unread_replies"] == 1 }) {
		t.Errorf(`Stats().Closed = %v, want unread_replies: 1`, srv.h.Stats().Closed)
	}
	checkServed(t, other, "2")
}

// TestErrorEchoBounded subscribes to 1,000 unknown 32-byte names, in a
// request and in ?symbols=: the error names a few of them and says how
// many more, instead of echoing 35 KB per request.
func TestErrorEchoBounded(t *testing.T) {
	srv := startHub(t, hub.Config{MessageRate: -1}, nil)
	names := make([]string, 1000)
	for i := range names {
		names[i] = fmt.Sprintf("U%031d", i)
	}
	check := func(t *testing.T, m testutil.Msg, n int) {
		t.Helper()
		if m.Type != "error" || m.Code != "unknown_symbol" {
			t.Fatalf("reply %.200s, want error unknown_symbol", m.Raw)
		}
		if len(m.Raw) > 2048 {
			t.Errorf("error reply of %d bytes, want at most 2 KiB", len(m.Raw))
		}
		if len(m.Symbols) == 0 || len(m.Symbols) > 32 || m.Symbols[0] != names[0] {
			t.Errorf("error names %d symbols, want the first few (1 to 32) of the %d", len(m.Symbols), n)
		}
		if more := fmt.Sprint(n - len(m.Symbols)); !strings.Contains(m.Message, more+" more") {
			t.Errorf("message %.200q, want it to say %s more", m.Message, more)
		}
	}
	t.Run("request", func(t *testing.T) {
		c := srv.dial(t, "")
		m, err := c.Request(`{"op":"subscribe","id":1,"symbols":["`+strings.Join(names, `","`)+`"]}`, "1", wait)
		if err != nil {
			t.Fatal(err)
		}
		check(t, m, len(names))
	})
	t.Run("query", func(t *testing.T) {
		const n = 200 // what fits in the 8 KiB request header
		_, m := srv.dialReply(t, "?symbols="+strings.Join(names[:n], ","))
		check(t, m, n)
	})
}

// TestPartialFrameMemory: connections that each send a frame header
// announcing 65,536 bytes and nothing more must cost the server about what
// they sent, not a buffer of the announced size; and so must connections
// that start a fragmented message and announce a 60,000-byte
// continuation.
func TestPartialFrameMemory(t *testing.T) {
	for _, c := range []struct {
		name string
		msg  []byte
	}{
		{"frame", testutil.AppendFrame(nil, testutil.Frame{Fin: true, Op: testutil.OpText, Length: 65536})},
		{"fragment", append(frames(text(false, "{")), testutil.AppendFrame(nil, testutil.Frame{Op: testutil.OpContinuation, Length: 60000})...)},
	} {
		t.Run(c.name, func(t *testing.T) {
			forTransports(t, func(t *testing.T, tr transport) { testPartialFrameMemory(t, tr, c.msg) })
		})
	}
}

func testPartialFrameMemory(t *testing.T, tr transport, header []byte) {
	srv := startHubOn(t, tr, hub.Config{MessageRate: -1}, nil)
	n := 2000
	if tr == overTLS {
		n = 300 // TLS handshakes under -race are slow
	}
	rcs := dialMany(t, srv, "/ws", n, 8)
	// Keep only the connections: the raw clients' 64 KiB read buffers
	// would hide what the server holds.
	ncs := make([]net.Conn, 0, n)
	for _, rc := range rcs {
		if rc != nil {
			ncs = append(ncs, rc.Conn)
		}
	}
	rcs = nil
	defer func() {
		for _, nc := range ncs {
			nc.Close()
		}
	}()
	if len(ncs) < n {
		t.Fatalf("%d of %d connections opened", len(ncs), n)
	}
	// A ping, then the header: the pong tells that the server has read
	// both (they go in one write).
	msg := append(testutil.AppendFrame(nil, testutil.Frame{Fin: true, Op: testutil.OpPing, Payload: []byte("x")}), header...)
	before, _ := liveMem()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Go(func() {
			buf := make([]byte, 64)
			for i := w; i < len(ncs); i += 8 {
				nc := ncs[i]
				_ = nc.SetDeadline(time.Now().Add(wait))
				if _, err := nc.Write(msg); err != nil {
					errs <- err
					return
				}
				got := 0
				for !strings.Contains(string(buf[:got]), "\x8a\x01x") {
					k, err := nc.Read(buf[got:])
					if err != nil {
						errs <- fmt.Errorf("connection %d: waiting for the pong: %w", i, err)
						return
					}
					if got += k; got == len(buf) {
						got = copy(buf, buf[got-2:])
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // the last reads keep what they got
	// The heap only: goroutine stacks are not buffers, and what TLS
	// readers' stacks cost is BenchmarkIdleConnMemory's to measure.
	after, _ := liveMem()
	per := (after - before) / int64(n)
	t.Logf("%d connections each sent %d bytes announcing up to 65,536: the heap grew by %d bytes per connection", n, len(msg), per)
	if per > 1024 {
		t.Errorf("the heap grew by %d bytes per connection that sent %d bytes, want at most 1 KiB", per, len(msg))
	}
}

// TestFrameDeadline: a frame, or a fragmented message, that is not
// finished within FrameTimeout of its start closes the connection, even
// though bytes of it keep coming; a client that sends whole frames all
// the time is not affected.
func TestFrameDeadline(t *testing.T) { forTransports(t, testFrameDeadline) }

func testFrameDeadline(t *testing.T, tr transport) {
	srv := startHubOn(t, tr, hub.Config{MessageRate: -1, FrameTimeout: time.Second}, nil)
	other := srv.dial(t, "")
	cases := []struct {
		name        string
		start, drip []byte
	}{
		{"frame", testutil.AppendFrame(nil, testutil.Frame{Fin: true, Op: testutil.OpText, Length: 1000}), []byte(" ")},
		{"fragments", frames(text(false, "{")), frames(cont(false, " "))},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			closedBefore := srv.h.Stats().Closed["frame_timeout"]
			rc := srv.dialRaw(t, "")
			type result struct {
				code   uint16
				reason string
				err    error
			}
			done := make(chan result, 1)
			go func() {
				code, reason, err := rc.ReadClose(3 * wait)
				done <- result{code, reason, err}
			}()
			start := time.Now()
			if _, err := rc.Write(c.start); err != nil {
				t.Fatal(err)
			}
			var r result
		drip:
			for {
				select {
				case r = <-done:
					break drip
				case <-time.After(100 * time.Millisecond):
				}
				if time.Since(start) > 6*time.Second {
					t.Fatalf("still open after %v of dripping, with a 1 s FrameTimeout", time.Since(start).Round(time.Millisecond))
				}
				if _, err := rc.Write(c.drip); err != nil {
					r = <-done // closed: the close frame came first
					break
				}
			}
			took := time.Since(start)
			if r.err != nil {
				t.Fatalf("after %v: %v", took, r.err)
			}
			if r.code != 1008 || !strings.Contains(r.reason, "not finished") {
				t.Errorf("closed %d %q, want 1008 about a frame not finished in time", r.code, r.reason)
			}
			if took > 4*time.Second {
				t.Errorf("closed after %v, want within a few seconds of the 1 s FrameTimeout", took)
			}
			if !testutil.Eventually(wait, func() bool { return srv.h.Stats().Closed["frame_timeout"] == closedBefore+1 }) {
				t.Errorf("Stats().Closed = %v, want frame_timeout: %d", srv.h.Stats().Closed, closedBefore+1)
			}
			checkServed(t, other, fmt.Sprint(i))
		})
	}
	t.Run("whole frames", func(t *testing.T) {
		c := srv.dial(t, "")
		pad := strings.Repeat(" ", 30<<10)
		nc := c.C.NetConn()
		for i := 0; time.Duration(i)*20*time.Millisecond < 2500*time.Millisecond; i++ {
			// 30 KiB: the server reads each in pieces, so there is
			// nearly always a frame in progress.
			_ = nc.SetWriteDeadline(time.Now().Add(wait))
			if _, err := nc.Write(frames(text(true, fmt.Sprintf(`{"op":"ping","id":%d%s}`, i, pad)))); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Await(fmt.Sprint(i), wait); err != nil {
				t.Fatalf("request %d: %v", i, err)
			}
		}
	})
}

// TestUpgradeAtFDLimit runs a hub in a child process whose fd limit is
// just above what it has open, and connects until it is full. Every
// upgrade must either succeed for good (101 and the limits message) or be
// refused with 503 before any 101: never a 101 on a connection the
// server then cannot keep. Once a client leaves, upgrades work again.
func TestUpgradeAtFDLimit(t *testing.T) {
	ch := startChild(t, "fdlimit", "HUB_SPARE=16")
	addr := ch.line(t)
	var open []*testutil.RawConn
	defer func() {
		for _, rc := range open {
			rc.Close()
		}
	}()
	refused := 0
	for i := 0; refused < 3; i++ {
		if i == 40 {
			t.Fatalf("%d upgrades succeeded with an fd limit of 16 above the server's baseline, want some refused", len(open))
		}
		rc, err := testutil.DialRaw(addr, "/ws", wait)
		if err != nil {
			if !strings.Contains(err.Error(), "status 503") {
				t.Fatalf("upgrade %d: %v, want 101 or 503", i, err)
			}
			refused++
			continue
		}
		if err := rc.ReadLimits(wait); err != nil {
			rc.Close()
			t.Fatalf("upgrade %d: 101, then %v: the server upgraded a connection it could not keep", i, err)
		}
		if refused > 0 {
			t.Errorf("upgrade %d succeeded after a refusal with nothing closed", i)
		}
		open = append(open, rc)
	}
	t.Logf("%d upgrades succeeded, then 503", len(open))
	ch.send(t, "stats")
	if got := ch.line(t); !slices.Contains(strings.Fields(got), "fd_limit=3") {
		t.Errorf("child stats %q, want fd_limit=3 (Stats().Rejected)", got)
	}
	open[0].Close()
	open = open[1:]
	for i := 0; ; i++ {
		ch.send(t, "stats")
		if slices.Contains(strings.Fields(ch.line(t)), fmt.Sprintf("conns=%d", len(open))) {
			break
		}
		if i == 100 {
			t.Fatal("the server did not see the client leave")
		}
		time.Sleep(20 * time.Millisecond)
	}
	rc, err := testutil.DialRaw(addr, "/ws", wait)
	if err != nil {
		t.Fatalf("after a client left: %v, want the upgrade to succeed", err)
	}
	open = append(open, rc)
	if err := rc.ReadLimits(wait); err != nil {
		t.Errorf("after a client left: %v", err)
	}
}

// childFDLimit serves a hub on 127.0.0.1 with RLIMIT_NOFILE set to the
// fds it has open plus HUB_SPARE. It prints the address, then answers
// each "stats" line with the hub's connection count and fd_limit
// refusals, until its stdin closes.
func childFDLimit() int {
	h, err := hub.New(hub.Config{MessageRate: -1}, manySymbols(10), nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer h.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	srv := &http.Server{Handler: h, ErrorLog: log.New(io.Discard, "", 0)}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	spare, _ := strconv.Atoi(os.Getenv("HUB_SPARE"))
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	lim.Cur = uint64(testutil.OpenFDs() + spare)
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(ln.Addr())
	var line string
	for {
		if _, err := fmt.Scanln(&line); err != nil {
			return 0
		}
		st := h.Stats()
		fmt.Printf("conns=%d fd_limit=%d\n", st.Conns, st.Rejected["fd_limit"])
	}
}

// TestReauth: an auth request on an authenticated connection is accepted
// only for the same subject; subscriptions the new token does not allow
// end, and the client is told which.
func TestReauth(t *testing.T) { forTransports(t, testReauth) }

func testReauth(t *testing.T, tr transport) {
	all := func(string) bool { return true }
	tokens := map[string]*hub.Identity{
		"alice":      {Subject: "alice", Allows: all},
		"alice-msft": {Subject: "alice", Allows: func(s string) bool { return s == "MSFT" }},
		"bob":        {Subject: "bob", Allows: all},
	}
	cfg := hub.Config{
		MessageRate: -1,
		Authenticate: func(tok string) (*hub.Identity, error) {
			if id := tokens[tok]; id != nil {
				return id, nil
			}
			return nil, errors.New("bad token")
		},
		Token: func(r *http.Request) string { return r.URL.Query().Get("token") },
	}
	srv := startHubOn(t, tr, cfg, nil)
	c := srv.dial(t, "?token=alice&symbols=AAPL,MSFT")
	seq := uint64(1)
	publishBoth := func() {
		publish(srv.h, "AAPL", seq, "1.00")
		publish(srv.h, "MSFT", seq, "2.00")
		seq++
	}
	// expect reads data until one message of each symbol in want.
	expect := func(want ...string) {
		t.Helper()
		left := map[string]bool{}
		for _, s := range want {
			left[s] = true
		}
		for len(left) > 0 {
			m, err := c.Next(time.Now().Add(wait))
			if err != nil {
				t.Fatalf("waiting for %v: %v", want, err)
			}
			if !m.IsData() || !left[m.Symbol] {
				t.Fatalf("got %s, want data of %v", m.Raw, want)
			}
			delete(left, m.Symbol)
		}
	}
	publishBoth()
	expect("AAPL", "MSFT")

	m, err := c.Request(`{"op":"auth","token":"bob","id":1}`, "1", wait)
	if err != nil {
		t.Fatal(err)
	}
	if m.Type != "error" || m.Code != "unauthorized" || !strings.Contains(m.Message, "subject") {
		t.Errorf("auth as another subject: %s, want error unauthorized about the subject", m.Raw)
	}
	publishBoth()
	expect("AAPL", "MSFT") // alice's identity and subscriptions stay

	if err := c.Send(`{"op":"auth","token":"alice-msft","id":2}`); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"authenticated", "unsubscribed AAPL", "error forbidden_symbol AAPL"} {
		m, err := c.Await("2", wait)
		if err != nil {
			t.Fatalf("waiting for %q: %v", want, err)
		}
		if got := strings.Join(strings.Fields(m.Type+" "+m.Code+" "+strings.Join(m.Symbols, ",")), " "); got != want {
			t.Errorf("reply %s, want %s", m.Raw, want)
		}
	}
	publishBoth()
	expect("MSFT")
	if err := c.Ping("3", wait); err != nil { // no AAPL before the pong either
		t.Error(err)
	}
	if got := srv.h.Stats().Subscriptions; got != 1 {
		t.Errorf("Stats().Subscriptions = %d, want 1", got)
	}
	m, err = c.Request(`{"op":"subscribe","symbols":["AAPL"],"id":4}`, "4", wait)
	if err != nil || m.Code != "forbidden_symbol" {
		t.Errorf("subscribe AAPL with the narrowed token: %s %v, want forbidden_symbol", m.Raw, err)
	}
}

// TestQuerySymbolsLimits: ?symbols= is refused (400) when it names more
// symbols than MaxSymbolsPerRequest, duplicates counted (as in a
// subscribe request), or a name longer than a symbol can be, before any
// work per name.
func TestQuerySymbolsLimits(t *testing.T) {
	srv := startHub(t, hub.Config{MaxSymbolsPerRequest: 1000, MessageRate: -1}, nil)
	for _, c := range []struct {
		name, query string
		status      int
	}{
		{"1,000 names", strings.Repeat("AAPL,", 999) + "AAPL", 101},
		{"1,001 names, all one symbol", strings.Repeat("AAPL,", 1000) + "AAPL", 400},
		{"a 33-byte name", "AAPL," + strings.Repeat("X", 33), 400},
		{"an empty name", "AAPL,,MSFT", 101},
	} {
		t.Run(c.name, func(t *testing.T) {
			rc, err := testutil.DialRaw(srv.addr, "/ws?symbols="+c.query, wait)
			switch {
			case c.status == 101 && err != nil:
				t.Errorf("%v, want 101", err)
			case c.status != 101 && (err == nil || !strings.Contains(err.Error(), fmt.Sprintf("status %d", c.status))):
				t.Errorf("%v, want status %d", err, c.status)
			}
			if err == nil {
				rc.Close()
			}
		})
	}
}

// BenchmarkQuerySymbols measures ServeHTTP on ?symbols= lists of short
// names (about 5 bytes each, with the comma): one over the limit, refused
// before any work per name, and one at the limit, which is resolved.
//
//	go test ./hub -run '^$' -bench QuerySymbols
func BenchmarkQuerySymbols(b *testing.B) {
	syms := hub.SymbolsNamed("S%d", 1000)
	h, err := hub.New(hub.Config{}, syms, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	names := func(n int) string {
		s := make([]string, n)
		for i := range s {
			s[i] = syms[i%len(syms)].Name
		}
		return strings.Join(s, ",")
	}
	for _, c := range []struct {
		name  string
		query string
	}{
		{"4000 names, refused", names(4000)},
		{"1000 names", names(1000)},
	} {
		b.Run(c.name, func(b *testing.B) {
			r := httptest.NewRequest("GET", "/ws?symbols="+c.query, nil)
			for b.Loop() {
				h.ServeHTTP(httptest.NewRecorder(), r)
			}
		})
	}
}

// TestTLSSendBuffer: a wss:// client that stops reading must not make the
// server's kernel queue seconds of ticks for it: its socket gets the same
// fixed send buffer (SendBuffer) as a plain one.
func TestTLSSendBuffer(t *testing.T) {
	srv := startHubOn(t, overTLS, hub.Config{MessageRate: -1, BacklogTimeout: time.Minute}, nil)
	names := make([]string, len(srv.syms))
	for i, s := range srv.syms {
		names[i] = s.Name
	}
	stalled, err := testutil.DialWith(srv.dialer(4096), srv.url+"?symbols="+strings.Join(names, ","))
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()
	local := stalled.C.LocalAddr().(*net.TCPAddr).Port
	server := stalled.C.RemoteAddr().(*net.TCPAddr).Port
	pub := startPublisher(srv.h, names, 0, 200, time.Millisecond)
	defer pub.halt()
	most := 0
	for start := time.Now(); time.Since(start) < 3*time.Second; time.Sleep(50 * time.Millisecond) {
		q, err := sendQueue(server, local)
		if err != nil {
			t.Fatal(err)
		}
		most = max(most, q)
	}
	t.Logf("the server's send queue to the stalled client peaked at %d KiB", most>>10)
	// 64 KiB SO_SNDBUF, doubled by the kernel, holds at most ~128 KiB of
	// data; autotuning would let it grow to megabytes.
	if most > 192<<10 {
		t.Errorf("send queue to a stalled wss client reached %d KiB, want at most 192 KiB", most>>10)
	}
}

// sendQueue returns the bytes queued in the kernel for sending on the
// loopback TCP socket from local port to remote port (tx_queue in
// /proc/net/tcp).
func sendQueue(local, remote int) (int, error) {
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		return 0, err
	}
	lport, rem := fmt.Sprintf(":%04X", local), fmt.Sprintf("0100007F:%04X", remote)
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 5 || !strings.HasSuffix(f[1], lport) || f[2] != rem {
			continue
		}
		tx, _, _ := strings.Cut(f[4], ":")
		n, err := strconv.ParseInt(tx, 16, 64)
		return int(n), err
	}
	return 0, fmt.Errorf("no socket %d -> %d in /proc/net/tcp", local, remote)
}

// TestTLSIdleGoroutines: an idle wss:// connection has no goroutine: its
// reader runs only while bytes arrive, its writer only while there is a
// batch to write.
func TestTLSIdleGoroutines(t *testing.T) {
	srv := startHubOn(t, overTLS, hub.Config{MessageRate: -1}, nil)
	base := runtime.NumGoroutine()
	const n = 50
	conns := dialMany(t, srv, "/ws?symbols=AAPL", n, 8)
	for i := range 3 {
		publish(srv.h, "AAPL", uint64(i+1), "1.00")
	}
	for _, rc := range conns {
		if rc == nil {
			continue
		}
		defer rc.Close()
		if _, err := rc.ReadText(wait, func(p []byte) bool { return strings.Contains(string(p), `"seq":3,`) }); err != nil {
			t.Fatal(err)
		}
	}
	var g int
	if !testutil.Eventually(wait, func() bool { g = runtime.NumGoroutine(); return g <= base+2 }) {
		t.Errorf("%d goroutines for %d idle wss connections, want none", g-base, n)
	}
}

// TestTLSStalledMemory: a wss:// client that stops reading holds its TLS
// state, its subscriptions and at most one record the socket has not
// taken, with a flusher goroutine of a small stack: not the batch, the
// record buffers and the grown stack of a writer waiting on the full
// socket (52 KiB or more each before TLSListener). The clients run in a
// child process, so the figures are the server's.
func TestTLSStalledMemory(t *testing.T) {
	srv := startHubOn(t, overTLS, hub.Config{MessageRate: -1, BacklogTimeout: time.Minute}, nil)
	names := make([]string, len(srv.syms))
	for i, s := range srv.syms {
		names[i] = s.Name
	}
	heap0, stacks0 := liveMem()
	g0 := runtime.NumGoroutine()
	const n = 100
	ch := startChild(t, "clients", "HUB_ADDR="+srv.addr, "HUB_N="+strconv.Itoa(n), "HUB_TLS=1",
		"HUB_PATH=/ws?symbols="+strings.Join(names, ","), "HUB_RCVBUF=4096")
	if got := ch.line(t); got != "ready" {
		t.Fatalf("child said %q", got)
	}
	pub := startPublisher(srv.h, names, 0, 100, time.Millisecond)
	defer pub.halt()
	// Every connection stalled: the server writes no more bytes.
	if _, ok := testutil.Settles(wait, 300*time.Millisecond, func() int64 { return int64(srv.h.Stats().Bytes) }); !ok {
		t.Fatalf("the server kept writing to %d clients that read nothing", n)
	}
	pub.halt() // nothing in flight: what is left is what the connections hold
	// No goroutine waits for a stalled socket: the shard writes the rest
	// of a batch on EPOLLOUT.
	if !testutil.Eventually(wait, func() bool { return runtime.NumGoroutine() < g0+n/10 }) {
		t.Errorf("%d goroutines more with %d stalled connections, want none per connection", runtime.NumGoroutine()-g0, n)
	}
	heap, stacks := liveMem()
	per := float64(heap+stacks-heap0-stacks0) / n
	t.Logf("a stalled wss connection of %d subscriptions: %.1f KiB (%.1f KiB of stack)", len(names), per/1024, float64(stacks-stacks0)/n/1024)
	// What the sockets did not take is about a frame each: the last
	// batches held only what their socket had room for.
	pc, pb := hub.TLSPending(srv.h)
	t.Logf("%d connections hold %d bytes of records their socket did not take", pc, pb)
	if pb > n*2<<10 {
		t.Errorf("%d stalled connections hold %d bytes their socket did not take, want at most 2 KiB each", n, pb)
	}
	// TLS state ~8 KiB, the subscriptions ~3 KiB: 16-19 KiB here, more
	// under the race detector; 21-26 KiB when a batch could be larger
	// than the socket's room, 63-68 KiB with the writer waiting on it.
	if per > 48<<10 {
		t.Errorf("a stalled wss connection holds %.1f KiB, want at most 48 KiB", per/1024)
	}
}

// BenchmarkIdleConnMemory measures what an idle connection costs the
// server: Go heap and goroutine stacks, and goroutines, per connection.
// The clients run in a child process, so the figures are the server's.
// With HUB_MEMPROFILE=file it writes a heap profile while they are open.
//
//	go test ./hub -run '^$' -bench IdleConnMemory -benchtime 1x
func BenchmarkIdleConnMemory(b *testing.B) {
	const n = 1000
	for _, tr := range transports {
		b.Run(string(tr), func(b *testing.B) {
			srv := startHubOn(b, tr, hub.Config{MessageRate: -1}, nil)
			heap0, stacks0 := liveMem()
			g := runtime.NumGoroutine()
			env := []string{"HUB_ADDR=" + srv.addr, "HUB_N=" + strconv.Itoa(n)}
			if tr == overTLS {
				env = append(env, "HUB_TLS=1")
			}
			ch := startChild(b, "clients", env...)
			if got := ch.line(b); got != "ready" {
				b.Fatalf("child said %q", got)
			}
			if !testutil.Eventually(wait, func() bool { return srv.h.Conns() == n }) {
				b.Fatalf("Conns() = %d, want %d", srv.h.Conns(), n)
			}
			time.Sleep(100 * time.Millisecond)
			heap, stacks := liveMem()
			per := float64(heap+stacks-heap0-stacks0) / n
			if f := os.Getenv("HUB_MEMPROFILE"); f != "" {
				w, _ := os.Create(f)
				_ = pprof.WriteHeapProfile(w)
				w.Close()
			}
			gs := float64(runtime.NumGoroutine()-g) / n
			for b.Loop() {
			}
			b.ReportMetric(per, "B/conn")
			b.ReportMetric(float64(stacks-stacks0)/n, "stack-B/conn")
			b.ReportMetric(gs, "goroutines/conn")
		})
	}
}

// TestPingBurst: a client that reads everything but sends 1,000 pings at
// once is not closed; it gets a pong for the latest ping of each read
// (RFC 6455 5.5.3 lets a server answer only the most recent), not one per
// ping.
func TestPingBurst(t *testing.T) { forTransports(t, testPingBurst) }

func testPingBurst(t *testing.T, tr transport) {
	srv := startHubOn(t, tr, hub.Config{}, nil) // the default message rate
	rc := srv.dialRaw(t, "")
	var burst []byte
	for i := range 1000 {
		burst = testutil.AppendFrame(burst, testutil.Frame{Fin: true, Op: testutil.OpPing, Payload: []byte(fmt.Sprint("p", i))})
	}
	if _, err := rc.Write(burst); err != nil {
		t.Fatal(err)
	}
	pongs, last := 0, ""
	for {
		f, err := rc.ReadFrame(time.Now().Add(time.Second))
		if testutil.IsTimeout(err) {
			break
		}
		if err != nil {
			t.Fatalf("after %d pongs: %v", pongs, err)
		}
		if f.Op == testutil.OpClose {
			code, reason := f.CloseCode()
			t.Fatalf("closed %d %q after %d pongs, want the client served", code, reason, pongs)
		}
		if f.Op == testutil.OpPong {
			pongs++
			last = string(f.Payload)
		}
	}
	t.Logf("1,000 pings got %d pongs, the last %q", pongs, last)
	// One pong per read at most: 8 KB of pings take a read or two on
	// plain TCP, and a read per TLS record (about 1.2 KB each, early on).
	if pongs == 0 || pongs > 16 {
		t.Errorf("1,000 pings at once got %d pongs, want 1 to 16", pongs)
	}
	if last != "p999" {
		t.Errorf("last pong %q, want the payload of the latest ping, p999", last)
	}
	if err := rc.WriteText(`{"op":"ping","id":1}`); err != nil {
		t.Fatal(err)
	}
	if _, err := rc.ReadText(wait, testutil.HasID("1")); err != nil {
		t.Errorf("request after the burst: %v", err)
	}

	// 10,000 pings of 125 bytes, not read while they go: the hub holds at
	// most one pong for the client at a time, answers within the message
	// rate (the default: 20/s, burst 40), and does not close it.
	g, err := testutil.DialWith(srv.dialer(4096), srv.url)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	pongs = 0
	g.C.SetPongHandler(func(string) error { pongs++; return nil })
	var flood []byte
	for range 10_000 {
		flood = testutil.AppendFrame(flood, testutil.Frame{Fin: true, Op: testutil.OpPing, Payload: []byte(strings.Repeat("p", 125))})
	}
	nc := g.C.NetConn()
	_ = nc.SetWriteDeadline(time.Now().Add(wait))
	start := time.Now()
	if _, err := nc.Write(flood); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // the limiter refills: the request below is not refused
	m, err := g.Request(`{"op":"ping","id":2}`, "2", wait)
	if err != nil || m.Type != "pong" {
		t.Fatalf("request after 10,000 unread pings: %s %v, want its pong", m.Raw, err)
	}
	allowed := 40 + int(20*time.Since(start).Seconds())
	t.Logf("10,000 unread pings got %d pongs (the rate allowed %d)", pongs, allowed)
	if pongs == 0 || pongs > allowed {
		t.Errorf("10,000 unread pings got %d pongs, want 1 to %d", pongs, allowed)
	}
}

// TestPacedPings: pings one at a time, faster than the message rate, are
// answered within the rate (plus its burst), not all of them; the client
// is not closed for them.
func TestPacedPings(t *testing.T) { forTransports(t, testPacedPings) }

func testPacedPings(t *testing.T, tr transport) {
	srv := startHubOn(t, tr, hub.Config{MessageRate: 20, MessageBurst: 10}, nil)
	rc := srv.dialRaw(t, "")
	var pongs int
	done := make(chan error, 1)
	go func() {
		for {
			f, err := rc.ReadFrame(time.Now().Add(wait))
			if err != nil {
				done <- err
				return
			}
			switch f.Op {
			case testutil.OpPong:
				pongs++
			case testutil.OpClose:
				code, reason := f.CloseCode()
				done <- fmt.Errorf("closed %d %q", code, reason)
				return
			}
		}
	}()
	const n = 400
	start := time.Now()
	for i := range n {
		if err := rc.WriteFrame(testutil.Frame{Fin: true, Op: testutil.OpPing, Payload: []byte(fmt.Sprint(i))}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	took := time.Since(start)
	if err := rc.WriteText(`{"op":"ping","id":1}`); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	_ = rc.SetReadDeadline(time.Now()) // ends the reader
	if err := <-done; !testutil.IsTimeout(err) {
		t.Fatalf("while pinging: %v", err)
	}
	allowed := 10 + int(20*took.Seconds()) + 10
	t.Logf("%d pings over %v got %d pongs (rate 20/s, burst 10: about %d)", n, took.Round(time.Millisecond), pongs, allowed-10)
	if pongs == 0 || pongs > allowed {
		t.Errorf("%d paced pings got %d pongs, want 1 to %d", n, pongs, allowed)
	}
}

// TestRequestReplyAtBudget asks for a list whose reply is just under
// MaxPendingReplyBytes, reads it whole, and asks again, many times: a
// client that reads every reply before its next request is never over
// its reply budget, however soon after the last byte it asks.
func TestRequestReplyAtBudget(t *testing.T) { forTransports(t, testRequestReplyAtBudget) }

func testRequestReplyAtBudget(t *testing.T, tr transport) {
	srv := startHubWith(t, tr, hub.Config{MessageRate: -1}, manySymbols(3300), nil)
	c := srv.dial(t, "")
	first, err := c.Request(`{"op":"list","id":0}`, "0", wait)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(first.Raw); n < 60_000 || n > 64<<10 {
		t.Fatalf("list reply %d bytes, want just under the 64 KiB budget", n)
	}
	for i := 1; i <= 500; i++ {
		id := fmt.Sprint(i)
		m, err := c.Request(`{"op":"list","id":`+id+`}`, id, wait)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if m.Type != "symbols" {
			t.Fatalf("request %d: reply %.200s, want symbols", i, m.Raw)
		}
	}
}
