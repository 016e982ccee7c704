package web_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/tickerd/tickerd/internal/testutil"
)

// link carries TCP connections from a listener of its own on 127.0.0.1 to
// a server, so that a test can break the network between a client and the
// server as a real network does, with neither of them told:
//
//	l := newLink(t, srv.Addr)       // clients dial l.Addr
//	l.cut(time.Second)              // every connection drops; for 1 s new ones are refused
//	l.stall(3 * time.Second)        // for 3 s nothing the server sends gets through
//
// Its socket to the server has a small receive buffer, set before connect,
// so that a stall backs the server's socket up within a fraction of a
// second. It stops with the test and waits for its goroutines.
type link struct {
	Addr   string
	ln     net.Listener
	target string
	wg     sync.WaitGroup

	done chan struct{} // closed by close

	mu        sync.Mutex
	conns     map[net.Conn]struct{} // both ends of every live connection
	downUntil time.Time             // connections accepted before then are closed at once
	stalled   chan struct{}         // non-nil while a stall lasts; closed at its end
	closed    bool
}

// linkRecvBuf is the receive buffer of the link's sockets to the server
// (the kernel doubles it).
const linkRecvBuf = 4096

func newLink(t *testing.T, target string) *link {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &link{Addr: ln.Addr().String(), ln: ln, target: target, done: make(chan struct{}), conns: make(map[net.Conn]struct{})}
	l.wg.Go(l.accept)
	t.Cleanup(l.close)
	return l
}

// accept is the listener's goroutine; close stops it.
func (l *link) accept() {
	for {
		c, err := l.ln.Accept()
		if err != nil {
			return
		}
		l.mu.Lock()
		down := time.Now().Before(l.downUntil)
		l.mu.Unlock()
		if down {
			c.Close()
			continue
		}
		l.wg.Go(func() { l.carry(c) })
	}
}

// carry connects c to the server and copies both ways until either side
// closes or the link cuts them.
func (l *link) carry(c net.Conn) {
	s, err := testutil.SmallRecvBufDialer(linkRecvBuf, 5*time.Second).Dial("tcp", l.target)
	if err != nil {
		c.Close()
		return
	}
	if !l.track(c, s) {
		c.Close()
		s.Close()
		return
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		_, _ = io.Copy(s, c)
		s.Close()
	})
	buf := make([]byte, 4096)
	for {
		l.mu.Lock()
		stalled := l.stalled
		l.mu.Unlock()
		if stalled != nil {
			select {
			case <-stalled:
			case <-l.done:
			}
		}
		n, err := s.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	c.Close()
	s.Close()
	wg.Wait()
	l.mu.Lock()
	delete(l.conns, c)
	delete(l.conns, s)
	l.mu.Unlock()
}

// track adds c and s to the live connections; false if the link closed.
func (l *link) track(c, s net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	l.conns[c], l.conns[s] = struct{}{}, struct{}{}
	return true
}

// cut drops every connection the link carries, and refuses new ones for
// down (accepted, then closed at once: the client sees a connection reset
// or an end of stream, as when a server host goes away).
func (l *link) cut(down time.Duration) {
	l.mu.Lock()
	l.downUntil = time.Now().Add(down)
	for c := range l.conns {
		c.Close()
	}
	l.mu.Unlock()
}

// stall holds back everything the server sends, on every connection, for
// d, then lets it through. Clients' requests still reach the server.
func (l *link) stall(d time.Duration) {
	end := make(chan struct{})
	l.mu.Lock()
	l.stalled = end
	l.mu.Unlock()
	select {
	case <-time.After(d):
	case <-l.done:
	}
	l.mu.Lock()
	l.stalled = nil
	l.mu.Unlock()
	close(end)
}

// close stops the link: the listener and every connection; it waits for
// its goroutines.
func (l *link) close() {
	close(l.done)
	l.ln.Close()
	l.mu.Lock()
	l.closed = true
	for c := range l.conns {
		c.Close()
	}
	l.mu.Unlock()
	l.wg.Wait()
}

// handler lets a script act on the link:
//
//	POST /cut?down_ms=N     cut, refusing new connections for N ms
//	POST /stall?ms=N        stall for N ms; answers when the stall ends
func (l *link) handler(mux *http.ServeMux) {
	ms := func(r *http.Request, name string) (time.Duration, error) {
		n, err := strconv.Atoi(r.FormValue(name))
		if err != nil || n < 0 || n > 60_000 {
			return 0, errors.New(name + " must be 0 to 60000")
		}
		return time.Duration(n) * time.Millisecond, nil
	}
	mux.HandleFunc("POST /cut", func(w http.ResponseWriter, r *http.Request) {
		d, err := ms(r, "down_ms")
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		l.cut(d)
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /stall", func(w http.ResponseWriter, r *http.Request) {
		d, err := ms(r, "ms")
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		l.stall(d)
		fmt.Fprint(w, d.Milliseconds())
	})
}
