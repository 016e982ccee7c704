package hub_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tickerd/tickerd/feed/sim"
	"github.com/tickerd/tickerd/hub"
	"github.com/tickerd/tickerd/internal/testutil"
)

// frames concatenates the wire form of fs.
func frames(fs ...testutil.Frame) []byte {
	var b []byte
	for _, f := range fs {
		b = testutil.AppendFrame(b, f)
	}
	return b
}

func text(fin bool, s string) testutil.Frame {
	return testutil.Frame{Fin: fin, Op: testutil.OpText, Payload: []byte(s)}
}

func cont(fin bool, s string) testutil.Frame {
	return testutil.Frame{Fin: fin, Op: testutil.OpContinuation, Payload: []byte(s)}
}

func closeWith(code uint16, reason string) testutil.Frame {
	return testutil.Frame{Fin: true, Op: testutil.OpClose, Payload: testutil.CloseBody(code, reason)}
}

const pingReq = `{"op":"ping","id":1}`

// TestProtocolViolations sends each kind of RFC 6455 violation and
// oversized message on its own connection: that connection must get the
// close code, the others must keep being served, and no goroutine or fd
// may be left behind.
func TestProtocolViolations(t *testing.T) { forTransports(t, testProtocolViolations) }

func testProtocolViolations(t *testing.T, tr transport) {
	srv := startHubOn(t, tr, hub.Config{MessageRate: -1}, &sim.Config{Seed: 1, Rate: 500})
	other := srv.dial(t, "?symbols=AAPL,MSFT")
	checkServed(t, other, "0")

	big := 64 << 10 // the default MaxMessageBytes
	type tc struct {
		name string
		send []byte
		want uint16
	}
	cases := []tc{
		{"unmasked", frames(testutil.Frame{Fin: true, Op: testutil.OpText, NoMask: true, Payload: []byte(pingReq)}), 1002},
		{"rsv1", frames(testutil.Frame{Fin: true, Rsv: 4, Op: testutil.OpText, Payload: []byte(pingReq)}), 1002},
		{"rsv2", frames(testutil.Frame{Fin: true, Rsv: 2, Op: testutil.OpText, Payload: []byte(pingReq)}), 1002},
		{"rsv3", frames(testutil.Frame{Fin: true, Rsv: 1, Op: testutil.OpText, Payload: []byte(pingReq)}), 1002},
		{"rsv on ping", frames(testutil.Frame{Fin: true, Rsv: 4, Op: testutil.OpPing}), 1002},
		{"fragmented ping", frames(testutil.Frame{Fin: false, Op: testutil.OpPing, Payload: []byte("x")}), 1002},
		{"fragmented close", frames(testutil.Frame{Fin: false, Op: testutil.OpClose, Payload: testutil.CloseBody(1000, "")}), 1002},
		{"ping 126 bytes", frames(testutil.Frame{Fin: true, Op: testutil.OpPing, Payload: bytes.Repeat([]byte("p"), 126)}), 1002},
		{"pong 200 bytes", frames(testutil.Frame{Fin: true, Op: testutil.OpPong, Payload: bytes.Repeat([]byte("p"), 200)}), 1002},
		{"close 126 bytes", frames(closeWith(1000, strings.Repeat("r", 124))), 1002},
		{"continuation without start", frames(cont(true, pingReq)), 1002},
		{"unfinished continuation without start", frames(cont(false, "{")), 1002},
		{"text inside fragmented text", frames(text(false, `{"op":`), text(true, pingReq)), 1002},
		{"binary inside fragmented text", frames(text(false, `{"op":`), testutil.Frame{Fin: true, Op: testutil.OpBinary, Payload: []byte("x")}), 1002},
		{"invalid utf-8", frames(text(true, "{\"op\":\"ping\",\"id\":\"\xff\"}")), 1007},
		{"invalid utf-8 across fragments", frames(text(false, "{\"op\":\"ping\",\"id\":\"\xe2\x82"), cont(true, "(\"}")), 1007},
		{"utf-8 cut at the end of a fragmented message", frames(text(false, "\"\xe2"), cont(true, "\x82")), 1007},
		{"surrogate half in utf-8", frames(text(true, "\"\xed\xa0\x80\"")), 1007},
		{"close 1-byte body", frames(testutil.Frame{Fin: true, Op: testutil.OpClose, Payload: []byte{3}}), 1002},
		{"close reason invalid utf-8", frames(closeWith(1000, "bad \xff")), 1007},
		{"header announcing 1 MiB", testutil.AppendFrame(nil, testutil.Frame{Fin: true, Op: testutil.OpText, Length: 1 << 20, Payload: []byte("{")}), 1009},
		{"header announcing 2^63", testutil.AppendFrame(nil, testutil.Frame{Fin: true, Op: testutil.OpBinary, Length: 1<<63 - 1}), 1009},
		{"one byte over the limit", frames(text(true, strings.Repeat(" ", big+1))), 1009},
		{"fragments summing over the limit", frames(
			text(false, strings.Repeat(" ", 16<<10)), cont(false, strings.Repeat(" ", 16<<10)),
			cont(false, strings.Repeat(" ", 16<<10)), cont(false, strings.Repeat(" ", 16<<10)),
			cont(true, strings.Repeat(" ", 16<<10))), 1009},
		{"continuation header over what is left", append(frames(text(false, strings.Repeat(" ", 40<<10))),
			testutil.AppendFrame(nil, testutil.Frame{Fin: true, Op: testutil.OpContinuation, Length: 30 << 10})...), 1009},
		{"many tiny fragments over the limit", func() []byte {
			var fs []testutil.Frame
			fs = append(fs, text(false, strings.Repeat(" ", 1000)))
			for range 70 {
				fs = append(fs, cont(false, strings.Repeat(" ", 1000)))
			}
			return frames(fs...)
		}(), 1009},
	}
	for _, op := range []byte{3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF} {
		cases = append(cases, tc{fmt.Sprintf("reserved opcode %#x", op),
			frames(testutil.Frame{Fin: true, Op: op, Payload: []byte("x")}), 1002})
	}
	for _, code := range []uint16{0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535} {
		cases = append(cases, tc{fmt.Sprintf("close code %d", code), frames(closeWith(code, "")), 1002})
	}

	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			base := testutil.TakeBaseline()
			errsBefore := srv.h.Stats().ProtocolErrors
			rc := srv.dialRaw(t, "")
			if _, err := rc.Write(c.send); err != nil && !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE) {
				// A reset is allowed: the server may decide from a frame's
				// header (1009) and close before the client has written
				// the rest. The close frame it sent is still readable.
				t.Fatalf("write: %v", err)
			}
			code, reason, err := rc.ReadClose(wait)
			if err != nil {
				t.Fatalf("got no close frame: %v", err)
			}
			if code != c.want {
				t.Errorf("close code = %d (%q), want %d", code, reason, c.want)
			}
			if err := rc.ReadEOF(wait); err != nil {
				t.Errorf("after the close frame: %v", err)
			}
			rc.Close()
			if got := srv.h.Stats().ProtocolErrors; got <= errsBefore {
				t.Errorf("Stats().ProtocolErrors = %d, want > %d", got, errsBefore)
			}
			checkServed(t, other, fmt.Sprint(i+1))
			if err := base.Check(wait, 0); err != nil {
				t.Errorf("after the connection closed: %v", err)
			}
		})
	}
}

// TestValidFrames checks frames a server must accept: control frames
// between fragments, the size limit exactly, UTF-8 split across fragments,
// frames sent in the same write as the upgrade request.
func TestValidFrames(t *testing.T) { forTransports(t, testValidFrames) }

func testValidFrames(t *testing.T, tr transport) {
	srv := startHubOn(t, tr, hub.Config{MessageRate: -1}, nil)
	padded := func(n int) string { // a ping request of exactly n bytes
		return pingReq[:len(pingReq)-1] + strings.Repeat(" ", n-len(pingReq)) + "}"
	}
	cases := []struct {
		name string
		send []byte
		want []string // substrings of the text replies, in order
	}{
		{"one frame", frames(text(true, pingReq)), []string{`"type":"pong","id":1,`}},
		{"fragmented", frames(text(false, `{"op":`), cont(false, `"ping",`), cont(true, `"id":1}`)), []string{`"type":"pong","id":1,`}},
		{"empty fragments", frames(text(false, ""), cont(false, pingReq), cont(true, "")), []string{`"type":"pong","id":1,`}},
		{"ping between fragments", frames(text(false, `{"op":"ping",`),
			testutil.Frame{Fin: true, Op: testutil.OpPing, Payload: []byte("mid")}, cont(true, `"id":1}`)),
			[]string{"mid", `"type":"pong","id":1,`}},
		{"utf-8 split across fragments", frames(text(false, "{\"op\":\"ping\",\"id\":\"\xe2\x82"), cont(true, "\xac\"}")),
			[]string{`"type":"pong","id":"€",`}},
		{"exactly the size limit", frames(text(true, padded(64<<10))), []string{`"type":"pong","id":1,`}},
		{"fragments exactly at the limit", frames(text(false, padded(64 << 10)[:32<<10]), cont(true, padded(64 << 10)[32<<10:])),
			[]string{`"type":"pong","id":1,`}},
		{"unsolicited pong", frames(testutil.Frame{Fin: true, Op: testutil.OpPong, Payload: []byte("x")}, text(true, pingReq)),
			[]string{`"type":"pong","id":1,`}},
		{"two requests in one write", frames(text(true, `{"op":"ping","id":1}`), text(true, `{"op":"ping","id":2}`)),
			[]string{`"id":1,`, `"id":2,`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rc := srv.dialRaw(t, "")
			if _, err := rc.Write(c.send); err != nil {
				t.Fatal(err)
			}
			for _, w := range c.want {
				f, err := rc.ReadFrame(time.Now().Add(wait))
				if err != nil {
					t.Fatalf("waiting for %q: %v", w, err)
				}
				if f.Op == testutil.OpClose {
					code, reason := f.CloseCode()
					t.Fatalf("closed %d %q, want a reply with %q", code, reason, w)
				}
				if !strings.Contains(string(f.Payload), w) {
					t.Errorf("got frame op %#x %q, want one containing %q", f.Op, f.Payload, w)
				}
			}
		})
	}

	t.Run("frames behind the upgrade request", func(t *testing.T) {
		for i := range 50 {
			after := frames(text(true, `{"op":"ping","id":1}`), text(false, `{"op":"ping",`))
			rc, err := srv.rawConn("/ws", after)
			if err != nil {
				t.Fatal(err)
			}
			// The rest of the second request, right away: it races the
			// hub registering the connection.
			if err := rc.WriteFrame(cont(true, `"id":2}`)); err != nil {
				t.Fatal(err)
			}
			for _, id := range []string{"1", "2"} {
				if _, err := rc.ReadText(wait, testutil.HasID(id)); err != nil {
					t.Fatalf("connection %d: reply %s: %v", i, id, err)
				}
			}
			rc.Close()
		}
	})
}

// TestPingPong checks that a ping gets a pong with the same payload.
func TestPingPong(t *testing.T) { forTransports(t, testPingPong) }

func testPingPong(t *testing.T, tr transport) {
	srv := startHubOn(t, tr, hub.Config{MessageRate: -1}, nil)
	rc := srv.dialRaw(t, "")
	for _, n := range []int{0, 1, 125} {
		p := bytes.Repeat([]byte{byte(n)}, n)
		if err := rc.WriteFrame(testutil.Frame{Fin: true, Op: testutil.OpPing, Payload: p}); err != nil {
			t.Fatal(err)
		}
		f, err := rc.ReadFrame(time.Now().Add(wait))
		if err != nil {
			t.Fatal(err)
		}
		if f.Op != testutil.OpPong || !f.Fin || f.Rsv != 0 || !bytes.Equal(f.Payload, p) {
			t.Errorf("ping with %d bytes: got op %#x fin %v rsv %d payload %q, want a final pong with the same payload", n, f.Op, f.Fin, f.Rsv, f.Payload)
		}
	}
}

// TestClientClose checks the closing handshake started by the client: the
// server echoes the code and closes the connection.
func TestClientClose(t *testing.T) { forTransports(t, testClientClose) }

func testClientClose(t *testing.T, tr transport) {
	srv := startHubOn(t, tr, hub.Config{MessageRate: -1}, &sim.Config{Seed: 1, Rate: 500})
	base := testutil.TakeBaseline()
	codes := []uint16{1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999}
	for _, code := range codes {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			rc := srv.dialRaw(t, "?symbols=AAPL")
			if err := rc.WriteFrame(closeWith(code, "bye")); err != nil {
				t.Fatal(err)
			}
			got, _, err := rc.ReadClose(wait)
			if err != nil {
				t.Fatal(err)
			}
			if got != code {
				t.Errorf("server echoed close code %d, want %d", got, code)
			}
			if err := rc.ReadEOF(wait); err != nil {
				t.Error(err)
			}
			rc.Close()
		})
	}
	t.Run("no body", func(t *testing.T) {
		rc := srv.dialRaw(t, "")
		if err := rc.WriteFrame(testutil.Frame{Fin: true, Op: testutil.OpClose}); err != nil {
			t.Fatal(err)
		}
		f, err := rc.ReadFrame(time.Now().Add(wait))
		for err == nil && f.Op != testutil.OpClose {
			f, err = rc.ReadFrame(time.Now().Add(wait))
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(f.Payload) != 0 {
			t.Errorf("close reply body %q, want none (the client sent none)", f.Payload)
		}
		if err := rc.ReadEOF(wait); err != nil {
			t.Error(err)
		}
		rc.Close()
	})
	if err := base.Check(wait, 0); err != nil {
		t.Error(err)
	}
	if !testutil.Eventually(wait, func() bool { return srv.h.Conns() == 0 }) {
		t.Errorf("Conns() = %d after every client closed, want 0", srv.h.Conns())
	}
}

// TestRegisteredCloseCodes: 1012-1014 are registered with IANA (service
// restart, try again later, bad gateway) and valid in a close frame.
func TestRegisteredCloseCodes(t *testing.T) { forTransports(t, testRegisteredCloseCodes) }

func testRegisteredCloseCodes(t *testing.T, tr transport) {
	srv := startHubOn(t, tr, hub.Config{MessageRate: -1}, nil)
	for _, code := range []uint16{1012, 1013, 1014} {
		rc := srv.dialRaw(t, "")
		if err := rc.WriteFrame(closeWith(code, "")); err != nil {
			t.Fatal(err)
		}
		got, _, err := rc.ReadClose(wait)
		if err != nil {
			t.Fatal(err)
		}
		if got != code {
			t.Errorf("client close %d: server answered %d, want the code echoed", code, got)
		}
		rc.Close()
	}
}

// TestGarbageAfterHandshake sends random bytes that do not start a valid
// frame; the server must close with 1002 and keep serving the others.
func TestGarbageAfterHandshake(t *testing.T) { forTransports(t, testGarbageAfterHandshake) }

func testGarbageAfterHandshake(t *testing.T, tr transport) {
	srv := startHubOn(t, tr, hub.Config{MessageRate: -1}, &sim.Config{Seed: 1, Rate: 500})
	other := srv.dial(t, "?symbols=AAPL")
	base := testutil.TakeBaseline()
	for seed := range uint64(20) {
		r := rand.New(rand.NewPCG(seed, 7))
		junk := make([]byte, 1+r.IntN(8<<10))
		for i := range junk {
			junk[i] = byte(r.Uint32())
		}
		junk[0] |= 0x40 // RSV1 set: never a valid frame start
		rc := srv.dialRaw(t, "")
		if _, err := rc.Write(junk); err != nil {
			t.Fatal(err)
		}
		code, _, err := rc.ReadClose(wait)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if code != 1002 {
			t.Errorf("seed %d: close code %d, want 1002", seed, code)
		}
		rc.Close()
		checkServed(t, other, fmt.Sprint(seed))
	}
	if err := base.Check(wait, 0); err != nil {
		t.Error(err)
	}
}

// TestDribbledFrame writes a request one byte per TCP segment with pauses:
// the partial frame must not hold a reader, so another client is answered
// meanwhile, and the dribbled request is answered in the end.
func TestDribbledFrame(t *testing.T) {
	srv := startHub(t, hub.Config{Readers: 1, MessageRate: -1}, nil) // one reader: a blocked one would show
	slow := srv.dialRaw(t, "")
	other := srv.dial(t, "")
	msg := frames(text(true, `{"op":"ping","id":"dribbled"}`))
	done := make(chan error, 1)
	go func() {
		for _, b := range msg {
			if _, err := slow.Write([]byte{b}); err != nil {
				done <- err
				return
			}
			time.Sleep(15 * time.Millisecond)
		}
		done <- nil
	}()
	answered := 0
	for i := 0; ; i++ {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			if answered < 10 {
				t.Errorf("other client got %d answers while the frame was dribbled, want at least 10", answered)
			}
			if _, err := slow.ReadText(wait, testutil.HasID(`"dribbled"`)); err != nil {
				t.Errorf("dribbled request: %v", err)
			}
			return
		default:
		}
		if err := other.Ping(fmt.Sprint(i), wait); err != nil {
			t.Fatalf("other client while a frame is dribbled: %v", err)
		}
		answered++
	}
}

// TestRequestFlood sends 10,000 requests in one write without reading a
// reply, from a client with a small receive buffer: the hub must close it
// with 1008 and keep serving the others. With the default message rate
// the rate limit closes it; without one, the cap on unread replies does.
// (Pings do not close a client: see TestPingBurst.)
func TestRequestFlood(t *testing.T) { forTransports(t, testRequestFlood) }

func testRequestFlood(t *testing.T, tr transport) {
	list := func(i int) testutil.Frame { return text(true, fmt.Sprintf(`{"op":"list","id":%d}`, i)) }
	for _, c := range []struct {
		name  string
		cfg   hub.Config
		frame func(i int) testutil.Frame
	}{
		{"rate limit", hub.Config{}, list},
		{"unread replies", hub.Config{MessageRate: -1}, list},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := startHubOn(t, tr, c.cfg, &sim.Config{Seed: 1, Rate: 500})
			other := srv.dial(t, "?symbols=AAPL")
			base := testutil.TakeBaseline()

			flood, err := testutil.DialWith(srv.dialer(4096), srv.url)
			if err != nil {
				t.Fatal(err)
			}
			defer flood.Close()
			var reqs []byte
			for i := range 10_000 {
				reqs = testutil.AppendFrame(reqs, c.frame(i))
			}
			// The raw bytes through the gorilla conn's socket.
			nc := flood.C.NetConn()
			_ = nc.SetWriteDeadline(time.Now().Add(wait))
			if _, err := nc.Write(reqs); err != nil {
				t.Logf("write stopped early (server closed): %v", err)
			}
			checkServed(t, other, "1")
			code, err := flood.CloseCode(wait)
			if err != nil {
				t.Fatalf("flooding client: %v, want close 1008", err)
			}
			if code != 1008 {
				t.Errorf("flooding client closed with %d, want 1008", code)
			}
			flood.Close()
			checkServed(t, other, "2")
			if err := base.Check(wait, 0); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestServerPing checks the keep-alive: the server pings every
// PingInterval and closes a client that sends nothing for two of them,
// while one that reads (and so answers pings) stays.
func TestServerPing(t *testing.T) { forTransports(t, testServerPing) }

func testServerPing(t *testing.T, tr transport) {
	srv := startHubOn(t, tr, hub.Config{PingInterval: time.Second, MessageRate: -1}, nil)
	quiet := srv.dialRaw(t, "")
	alive := srv.dial(t, "")
	type result struct {
		code uint16
		err  error
	}
	closed := make(chan result, 1)
	go func() {
		f, err := quiet.ReadFrame(time.Now().Add(wait))
		if err == nil && f.Op != testutil.OpPing {
			err = fmt.Errorf("first server frame op %#x, want a ping", f.Op)
		}
		var code uint16
		if err == nil {
			code, _, err = quiet.ReadClose(wait)
		}
		if err == nil {
			err = quiet.ReadEOF(wait) // the client never answers the close
		}
		closed <- result{code, err}
	}()
	// alive reads (gorilla answers pings while reading) and sends.
	for i := 0; ; i++ {
		select {
		case r := <-closed:
			if r.err != nil {
				t.Fatalf("silent client: %v", r.err)
			}
			if r.code != 1001 {
				t.Errorf("silent client closed with %d, want 1001", r.code)
			}
			if err := alive.Ping("-1", wait); err != nil {
				t.Errorf("client answering pings: %v", err)
			}
			quiet.Close()
			testutil.Eventually(wait, func() bool { return srv.h.Conns() == 1 })
			if got := srv.h.Stats().Closed; got["idle"] != 1 {
				t.Errorf(`Stats().Closed["idle"] = %d, want 1 (Closed = %v)`, got["idle"], got)
			}
			return
		case <-time.After(200 * time.Millisecond):
		}
		if err := alive.Ping(fmt.Sprint(i), wait); err != nil {
			t.Fatalf("client answering pings: %v", err)
		}
	}
}

// TestReaderFairness: with a single reader goroutine, a client streaming
// large requests as fast as it can must not starve another client.
func TestReaderFairness(t *testing.T) {
	srv := startHub(t, hub.Config{Readers: 1, MessageRate: -1}, nil)
	flooder := srv.dialRaw(t, "")
	other := srv.dial(t, "")
	big := frames(text(true, `{"op":"ping","id":0`+strings.Repeat(" ", 60<<10)+`}`))
	stop := make(chan struct{})
	var sent, answered atomic.Int64
	done := make(chan error, 2)
	stopped := func(err error) error {
		select {
		case <-stop:
			return nil
		default:
			return err
		}
	}
	go func() { // write as fast as the socket takes it
		for {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			_ = flooder.SetWriteDeadline(time.Now().Add(wait))
			if _, err := flooder.Write(big); err != nil {
				done <- stopped(fmt.Errorf("flooder write: %w", err))
				return
			}
			sent.Add(1)
		}
	}()
	go func() { // and read the pongs, so it is not a slow consumer
		for {
			f, err := flooder.ReadFrame(time.Now().Add(wait))
			if err != nil {
				done <- stopped(fmt.Errorf("flooder read: %w", err))
				return
			}
			if f.Op == testutil.OpClose {
				done <- fmt.Errorf("flooder closed: %q", f.Payload)
				return
			}
			answered.Add(1)
		}
	}()
	for i := range 30 {
		if err := other.Ping(fmt.Sprint(i), wait); err != nil {
			t.Errorf("other client, ping %d while one floods: %v", i, err)
			break
		}
	}
	close(stop)
	flooder.Close()
	for range 2 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
	t.Logf("the flooder sent %d 60 KiB requests meanwhile, %d answered", sent.Load(), answered.Load())
}

// TestSlowFrameCost sends one 60 KiB request in 4-byte writes, pausing
// now and then so the server reads it in thousands of pieces. Holding the
// partial frame must cost about its size, not a copy of everything so far
// on every read (quadratic: a slow client would make the server allocate
// and copy ~1,000 times what it sends).
func TestSlowFrameCost(t *testing.T) {
	srv := startHub(t, hub.Config{MessageRate: -1}, nil)
	rc := srv.dialRaw(t, "")
	msg := frames(text(true, `{"op":"ping","id":1`+strings.Repeat(" ", 60<<10)+`}`))
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	before := ms.TotalAlloc
	for i := 0; i < len(msg); i += 4 {
		if _, err := rc.Write(msg[i:min(i+4, len(msg))]); err != nil {
			t.Fatal(err)
		}
		if i%64 == 0 {
			time.Sleep(50 * time.Microsecond)
		}
	}
	if _, err := rc.ReadText(wait, testutil.HasID("1")); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&ms)
	if got := ms.TotalAlloc - before; got > 8<<20 {
		t.Errorf("the process allocated %d MiB while a %d KiB frame came in slowly, want under 8 MiB", got>>20, len(msg)>>10)
	}
}
