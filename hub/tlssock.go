package hub

import (
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// TLSListener wraps ln, a TCP listener, for a server that terminates TLS
// itself and hands its wss:// connections to a Hub: give it to
// http.Server.ServeTLS (or tls.NewListener) in place of ln.
//
//	srv := &http.Server{Handler: mux, TLSConfig: cfg}
//	err := srv.ServeTLS(hub.TLSListener(ln), "", "")
//
// Under a connection it yields, once the hub owns it, a TLS write never
// waits for the socket: what the socket cannot take at once waits in a
// buffer of its own, and the batch it was made from, crypto/tls's record
// buffer and the writer goroutine are let go; the hub's shard writes the
// rest when its epoll says the socket can take more. The buffer's bound
// is the hub's: it writes one batch at a time (replies within
// Config.MaxPendingReplyBytes and at most maxTLSBatch of data frames, one
// record, and no more than the socket has room for) and the next only
// once the socket has taken all of it. A stalled wss:// client then costs
// its TLS state and about a frame's records, and no goroutine. A wss://
// connection that does not come from a TLSListener is served all the
// same, its writer goroutine waiting on the full socket with its batch.
func TLSListener(ln net.Listener) net.Listener { return tlsListener{ln} }

type tlsListener struct{ net.Listener }

func (l tlsListener) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return nc, nil
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return nc, nil
	}
	return &sock{TCPConn: tc, raw: raw}, nil
}

// sock is a TCP connection under crypto/tls whose writes stop waiting for
// the socket once the hub owns the connection (own). Before that (the
// handshake, the upgrade response) it is a plain net.TCPConn.
//
// Its methods run on the goroutines crypto/tls calls them from: the TLS
// writer (Write, for a batch and its close_notify), the TLS reader (Write,
// for an alert or a key update crypto/tls answers while reading), and the
// shard (flushNow). mu orders them: a write goes behind what is pending.
// None of them waits, so none takes the descriptor's write lock
// (RawConn.Control, not Write).
//
// Hand-written: no kept library gives a net.Conn whose Write keeps what a
// non-blocking socket refused instead of waiting.
type sock struct {
	*net.TCPConn
	raw   syscall.RawConn
	owned atomic.Bool // the hub owns the connection: writes do not wait

	mu      sync.Mutex
	pending []byte // what the socket has not taken yet, in order
	err     error  // the first write error: every later write fails with it
}

// own makes every later Write return at once. Deadlines set from then on
// apply to reads only: crypto/tls sets a write deadline around its
// close_notify, which would cut the flush of what is pending short, and
// the hub bounds a blocked connection itself (BacklogTimeout,
// CloseTimeout).
func (s *sock) own() { s.owned.Store(true) }

// Write writes p, or what the socket takes of it and keeps the rest for
// flushNow, and reports all of p written unless the socket failed.
func (s *sock) Write(p []byte) (int, error) {
	if !s.owned.Load() {
		return s.TCPConn.Write(p)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return 0, s.err
	}
	if len(s.pending) > 0 {
		s.pending = append(s.pending, p...)
		return len(p), nil
	}
	n := s.writeLocked(p)
	if s.err != nil {
		return n, s.err
	}
	if n < len(p) {
		s.pending = append(make([]byte, 0, len(p)-n), p[n:]...)
	}
	return len(p), nil
}

// writeLocked writes p to the socket without waiting (RawConn.Control:
// the descriptor's write lock is not taken, mu orders the writers) and
// returns how much the socket took. A failure other than a full socket,
// or a closed descriptor, is left in s.err.
func (s *sock) writeLocked(p []byte) int {
	n := 0
	cerr := s.raw.Control(func(fd uintptr) {
		for n < len(p) {
			m, err := unix.Write(int(fd), p[n:])
			switch {
			case err == unix.EINTR:
				continue
			case err == unix.EAGAIN:
				return
			case err != nil:
				s.err = &net.OpError{Op: "write", Net: "tcp", Source: s.LocalAddr(), Addr: s.RemoteAddr(), Err: err}
				return
			}
			n += m
		}
	})
	if cerr != nil && s.err == nil {
		s.err = cerr
	}
	return n
}

// hasPending reports whether some of what was written waits for the
// socket.
func (s *sock) hasPending() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pending) > 0
}

// flushNow writes what is pending, as much as the socket takes without
// waiting, and reports whether some is still pending; a failure drops it.
func (s *sock) flushNow() (more bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil && len(s.pending) > 0 {
		s.pending = s.pending[s.writeLocked(s.pending):]
	}
	if s.err != nil {
		s.pending = nil
		return false, s.err
	}
	if len(s.pending) == 0 {
		s.pending = nil
		return false, nil
	}
	return true, nil
}

// SetDeadline sets the read deadline only once the hub owns s (see own).
func (s *sock) SetDeadline(t time.Time) error {
	if s.owned.Load() {
		return s.TCPConn.SetReadDeadline(t)
	}
	return s.TCPConn.SetDeadline(t)
}

// SetWriteDeadline does nothing once the hub owns s (see own).
func (s *sock) SetWriteDeadline(t time.Time) error {
	if s.owned.Load() {
		return nil
	}
	return s.TCPConn.SetWriteDeadline(t)
}
