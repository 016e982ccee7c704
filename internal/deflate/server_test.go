package deflate

import (
	"bufio"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gobwas/ws"

	"github.com/tickerd/tickerd/internal/wsframe"
)

// testServer is a WebSocket server on 127.0.0.1 that uses this package as
// the hub does: gobwas/ws's HTTPUpgrader with a Negotiation per upgrade;
// frames compressed once at start by one Compressor and shared by every
// compressing connection (the greeting); client messages read with
// wsframe, RSV1 allowed on a first frame when compression was negotiated,
// and inflated by one of two Inflaters shared by all connections, as a
// hub reader pool shares them. It echoes each message back, compressed
// for a compressing client, and logs what it saw per connection.
type testServer struct {
	t     testing.TB
	url   string // ws://127.0.0.1:port/
	limit int
	off   bool // compression not offered

	comp     Compressor
	greeting []sharedFrame // sent to every connection that asks (?greet=1)
	deflates atomic.Int64  // AppendFrame calls
	readers  chan *Inflater

	ln   net.Listener
	srv  *http.Server
	logs chan *connLog
	wg   sync.WaitGroup // handlers

	mu     sync.Mutex
	conns  map[net.Conn]bool // hijacked; guarded by mu
	closed bool              // guarded by mu
}

// sharedFrame is one message as both frames.
type sharedFrame struct {
	plain, z []byte
}

// connLog is what the server saw on one connection.
type connLog struct {
	compressed bool       // permessage-deflate negotiated
	msgs       []received // whole messages, in order
	closeCode  wsframe.StatusCode
	closeWhy   string
}

type received struct {
	op         wsframe.OpCode
	compressed bool // its first frame had RSV1
	frames     int
	p          []byte
}

func newTestServer(t testing.TB, limit int, off bool) *testServer {
	t.Helper()
	s := &testServer{t: t, limit: limit, off: off, logs: make(chan *connLog, 256), conns: map[net.Conn]bool{}}
	s.readers = make(chan *Inflater, 2)
	for range cap(s.readers) {
		s.readers <- NewInflater(limit)
	}
	for _, m := range messages(t) {
		s.greeting = append(s.greeting, sharedFrame{plain: plainFrame(wsframe.OpText, m.p), z: s.compress(wsframe.OpText, m.p)})
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.ln = ln
	s.url = "ws://" + ln.Addr().String() + "/"
	s.srv = &http.Server{Handler: http.HandlerFunc(s.serveHTTP), ReadHeaderTimeout: 5 * time.Second}
	s.wg.Go(func() { _ = s.srv.Serve(ln) })
	t.Cleanup(s.close)
	return s
}

// close stops the server and waits for every handler, closing the
// hijacked connections that are still open.
func (s *testServer) close() {
	s.mu.Lock()
	s.closed = true
	for c := range s.conns {
		_ = c.Close()
	}
	s.mu.Unlock()
	_ = s.srv.Close()
	s.wg.Wait()
}

// track counts a handler in s.wg unless the server is closing.
func (s *testServer) track() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.wg.Add(1)
	}
	return !s.closed
}

// hijacked registers conn to be closed by close; false if it is closing.
func (s *testServer) hijacked(conn net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.conns[conn] = true
	}
	return !s.closed
}

// next returns the log of the next connection to end.
func (s *testServer) next() *connLog {
	s.t.Helper()
	select {
	case l := <-s.logs:
		return l
	case <-time.After(10 * time.Second):
		s.t.Fatal("no connection ended within 10 s")
		return nil
	}
}

func plainFrame(op wsframe.OpCode, p []byte) []byte {
	return wsframe.AppendFrame(nil, wsframe.Header{Fin: true, Op: op}, p)
}

// compress returns the compressed frame of p, or the plain one.
func (s *testServer) compress(op wsframe.OpCode, p []byte) []byte {
	s.deflates.Add(1)
	if z, ok := s.comp.AppendFrame(nil, op, p); ok {
		return z
	}
	return plainFrame(op, p)
}

func (s *testServer) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.track() {
		http.Error(w, "closing", http.StatusServiceUnavailable)
		return
	}
	defer s.wg.Done()
	var neg Negotiation
	up := ws.HTTPUpgrader{Timeout: 5 * time.Second}
	if !s.off {
		up.Negotiate = neg.Negotiate
	}
	conn, rw, _, err := up.Upgrade(r, w)
	if err != nil {
		if conn != nil {
			_ = conn.Close()
		}
		return
	}
	if !s.hijacked(conn) {
		_ = conn.Close()
		return
	}
	defer func() {
		s.mu.Lock()
		delete(s.conns, conn)
		s.mu.Unlock()
		_ = conn.Close()
	}()
	log := &connLog{compressed: neg.Accepted()}
	defer func() {
		select {
		case s.logs <- log:
		default: // no test reads it
		}
	}()
	if r.URL.Query().Get("greet") == "1" {
		for _, f := range s.greeting {
			frame := f.plain
			if log.compressed {
				frame = f.z
			}
			if _, err := conn.Write(frame); err != nil {
				return
			}
		}
	}
	s.readLoop(conn, rw.Reader, log)
}

// readLoop reads client frames until the client closes or breaks a rule.
func (s *testServer) readLoop(conn net.Conn, r *bufio.Reader, log *connLog) {
	rsv := byte(0)
	if log.compressed {
		rsv = wsframe.Rsv1
	}
	buf := make([]byte, 0, s.limit+wsframe.MaxHeaderLen)
	var msg *received
	fail := func(e *wsframe.ProtocolError) {
		log.closeCode, log.closeWhy = e.Status, e.Reason
		_, _ = conn.Write(plainFrame(wsframe.OpClose, wsframe.AppendCloseBody(nil, e.Status, e.Reason)))
	}
	for {
		f, n, err := wsframe.Next(buf, int64(s.limit))
		if err != nil {
			fail(err.(*wsframe.ProtocolError)) // Next fails with nothing else
			return
		}
		if n == 0 {
			_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			m, err := r.Read(buf[len(buf):cap(buf)])
			if err != nil {
				return
			}
			buf = buf[:len(buf)+m]
			continue
		}
		if err := f.Check(wsframe.ServerSide, msg != nil, rsv); err != nil {
			fail(err.(*wsframe.ProtocolError))
			return
		}
		switch {
		case f.Op == wsframe.OpPing:
			_, _ = conn.Write(plainFrame(wsframe.OpPong, f.Payload))
		case f.Op == wsframe.OpClose:
			code, _, err := wsframe.ParseCloseBody(f.Payload)
			if err != nil {
				fail(err.(*wsframe.ProtocolError))
				return
			}
			log.closeCode = code
			_, _ = conn.Write(plainFrame(wsframe.OpClose, f.Payload))
			return
		case f.IsControl(): // pong
		default:
			if msg == nil {
				msg = &received{op: f.Op, compressed: f.Rsv&wsframe.Rsv1 != 0}
			}
			msg.frames++
			if len(msg.p)+len(f.Payload) > s.limit {
				fail(ErrTooBig)
				return
			}
			msg.p = append(msg.p, f.Payload...)
			if f.Fin {
				if err := s.deliver(conn, log, msg); err != nil {
					fail(err)
					return
				}
				msg = nil
			}
		}
		buf = buf[:copy(buf, buf[n:])]
	}
}

// deliver inflates a whole message if it came compressed, logs it and
// echoes it.
func (s *testServer) deliver(conn net.Conn, log *connLog, m *received) *wsframe.ProtocolError {
	if m.compressed {
		inf := <-s.readers
		p, err := inf.Inflate(m.p)
		m.p = append([]byte(nil), p...) // p is the Inflater's until its next call
		s.readers <- inf
		if err != nil {
			return err.(*wsframe.ProtocolError)
		}
	}
	if m.op == wsframe.OpText && !utf8.Valid(m.p) {
		return &wsframe.ProtocolError{Status: wsframe.StatusInvalidFramePayloadData, Reason: "invalid utf-8"}
	}
	log.msgs = append(log.msgs, *m)
	echo := plainFrame(m.op, m.p)
	if log.compressed {
		echo = s.compress(m.op, m.p)
	}
	_, _ = conn.Write(echo) // a dead connection ends the read loop
	return nil
}
