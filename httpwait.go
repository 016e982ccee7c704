package tickerd

import (
	"container/list"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
)

// waiter counts the connections that wait on their client: a Serve's
// front.Front on a plain listener, its waitingConns otherwise.
type waiter interface {
	Waiting() int    // waiting now
	Evicted() uint64 // closed because too many waited
	Queued() int     // complete requests waiting to be served
	Busy() uint64    // refused with 503: too many complete requests waited to be served
}

// waitingConns caps, where net/http holds every connection from accept
// (TLS, or a listener the front does not take), the HTTP connections that
// hold server memory while the client sends nothing useful: new ones
// whose first request's header has not arrived, and keep-alive ones idle
// between requests. net/http
// gives each a goroutine and its read and write buffers (about 20 KiB
// here, measured by `go run ./bench -scenario hostile -attacks
// idle-http,slow-headers`) until ReadHeaderTimeout or IdleTimeout. Past
// the cap the connection that has waited longest is closed, so many
// silent connections cost at most max of them.
//
// Its methods run on net/http's connection goroutines (ConnState) and may
// run at once; mu guards the list. Hand-written: net/http has no such
// cap, and no kept library adds one.
type waitingConns struct {
	max     int
	evicted atomic.Uint64

	mu      sync.Mutex
	order   list.List // of net.Conn, the longest waiting first
	waiting map[net.Conn]*list.Element
}

func newWaitingConns(max int) *waitingConns {
	return &waitingConns{max: max, waiting: make(map[net.Conn]*list.Element)}
}

// connState is an http.Server's ConnState hook.
func (w *waitingConns) connState(c net.Conn, st http.ConnState) {
	var evict net.Conn
	w.mu.Lock()
	switch st {
	case http.StateNew, http.StateIdle:
		if _, ok := w.waiting[c]; !ok {
			w.waiting[c] = w.order.PushBack(c)
		}
		if w.order.Len() > w.max {
			e := w.order.Front()
			evict = e.Value.(net.Conn)
			w.order.Remove(e)
			delete(w.waiting, evict)
		}
	default: // active, hijacked (a WebSocket), closed
		if e, ok := w.waiting[c]; ok {
			w.order.Remove(e)
			delete(w.waiting, c)
		}
	}
	w.mu.Unlock()
	if evict != nil {
		w.evicted.Add(1)
		_ = evict.Close() // its goroutine sees the error and reports StateClosed
	}
}

// Evicted returns how many connections were closed for the cap.
func (w *waitingConns) Evicted() uint64 { return w.evicted.Load() }

// Queued and Busy are 0: net/http serves a request as soon as its
// header has come.
func (w *waitingConns) Queued() int { return 0 }

func (w *waitingConns) Busy() uint64 { return 0 }

// Waiting returns how many connections are waiting.
func (w *waitingConns) Waiting() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.order.Len()
}
