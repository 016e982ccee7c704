// Package front accepts plain HTTP connections and waits for each one's
// request header on epoll, holding nothing but the bytes received, before
// any goroutine or buffer is spent on it. A connection whose header has
// come waits its turn in arrival order for one of a few handshake
// goroutines (Config.Handshakes): a WebSocket handshake for the upgrade
// path goes to the upgrade handler there; every other request is handed,
// with the bytes already read, to an http.Server through the Listener,
// which serves that one request and closes the connection.
//
// Handshakes are few at a time so that a storm of them (every client of a
// node reconnecting at once) does not fill the Go scheduler's run queue,
// where the goroutines that serve the connections already open (their
// requests, their replays) would wait behind a thousand handshakes each
// time they are descheduled.
//
// net/http gives a connection a goroutine and about 20 KiB of buffers
// from accept until its header arrives (and again while it idles between
// keep-alive requests), so a client that opens connections and sends
// nothing, or a header a byte a second, holds that much per connection.
// Here such a connection holds its socket, about 300 bytes of
// bookkeeping, and what it has sent, up to the header limit.
//
//	f, err := front.New(ln, front.Config{Upgrade: hub, IsUpgrade: front.UpgradePath("/ws")})
//	go srv.Serve(f.Listener()) // srv.SetKeepAlivesEnabled(false)
//	go f.Serve()
//	...
//	f.Close()
//
// Hand-written: net/http cannot hand a connection back to its caller
// between requests, and no kept library waits for an HTTP header on epoll
// without a goroutine per connection.
package front

import (
	"bufio"
	"bytes"
	"container/list"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tickerd/tickerd/internal/epoll"
)

// Config is what a Front does with the connections it accepts.
type Config struct {
	// Upgrade serves WebSocket handshakes (requests IsUpgrade picks). It
	// runs on a goroutine of the Front's own per request and may hijack
	// the connection; if it does not, the response it wrote is sent and
	// the connection closed.
	Upgrade http.Handler
	// IsUpgrade picks the requests for Upgrade. Nil: none.
	IsUpgrade func(r *http.Request) bool
	// ReadHeaderTimeout bounds the wait for a request's header. Default 5 s.
	ReadHeaderTimeout time.Duration
	// WriteTimeout bounds writing Upgrade's response when it does not
	// hijack. Default 10 s.
	WriteTimeout time.Duration
	// MaxHeaderBytes caps a request's header as net/http does: a header
	// longer than this plus 4 KiB gets 431. Default 1 MiB, as net/http.
	MaxHeaderBytes int
	// MaxWaiting caps the connections whose header has not arrived; past
	// it the one that has waited longest is closed. Default 1,024. It
	// also caps, apart, the connections whose header has arrived and
	// that wait for a handshake goroutine: past it a new one gets 503.
	MaxWaiting int
	// Handshakes is how many requests (WebSocket handshakes and
	// hand-offs to net/http) are served at once, each on a goroutine of
	// the Front's own; the others wait in arrival order. An Upgrade that
	// waits (on another service, say) needs more. Default: half of
	// GOMAXPROCS, at least 1.
	Handshakes int
	// ErrorLog, if set, is told of a panic in Upgrade (the request's
	// connection is closed, as net/http does) and of the epoll wait's
	// failure.
	ErrorLog *slog.Logger
	// OnAcceptError is told of every accept error but the listener's
	// closing (EMFILE when out of file descriptors); accepting goes on
	// after a pause.
	OnAcceptError func(error)
}

// DefaultHandshakes is Config.Handshakes when it is not set: half of
// GOMAXPROCS, at least 1.
func DefaultHandshakes() int { return max(1, runtime.GOMAXPROCS(0)/2) }

// headerSlack is what net/http reads past MaxHeaderBytes before it
// refuses a header (its bufio.Reader's size).
const headerSlack = 4096

// Front owns a listener, the goroutine that accepts on it (Serve), an
// epoll instance whose goroutine reads the headers, a goroutine that
// closes connections past ReadHeaderTimeout, and up to
// Config.Handshakes goroutines that serve the requests whose header has
// come (handshake), while there are some. Close stops them all.
type Front struct {
	cfg  Config
	ln   *net.TCPListener
	ep   *epoll.Set[pending]
	rest *listener // hand-off to net/http

	evicted atomic.Uint64 // closed for MaxWaiting
	busy    atomic.Uint64 // refused with 503: MaxWaiting headers waited for a handshake goroutine

	mu      sync.Mutex
	scratch [headerSlack]byte // the read buffer
	closed  bool
	waiting list.List // of *pending, oldest first
	ready   []request // headers come, oldest first, waiting for a handshake goroutine
	shaking int       // handshake goroutines running
	wg      sync.WaitGroup
	stop    chan struct{}
}

// request is a connection whose header, buf[:end], has come; buf holds
// what followed it.
type request struct {
	nc  *net.TCPConn
	buf []byte
	end int
}

// pending is a connection whose request header has not all arrived.
type pending struct {
	nc    *net.TCPConn
	fd    int
	since time.Time
	buf   []byte // what the client sent so far
	elem  *list.Element
	done  bool // guarded by Front.mu: closed, or handed on
}

// New returns a Front accepting on ln, a TCP listener. Call Serve to start
// accepting.
func New(ln net.Listener, cfg Config) (*Front, error) {
	tl, ok := ln.(*net.TCPListener)
	if !ok {
		return nil, errors.New("front: not a TCP listener")
	}
	if cfg.ReadHeaderTimeout <= 0 {
		cfg.ReadHeaderTimeout = 5 * time.Second
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 10 * time.Second
	}
	if cfg.MaxHeaderBytes <= 0 {
		cfg.MaxHeaderBytes = http.DefaultMaxHeaderBytes
	}
	if cfg.MaxWaiting <= 0 {
		cfg.MaxWaiting = 1024
	}
	if cfg.Handshakes <= 0 {
		cfg.Handshakes = DefaultHandshakes()
	}
	f := &Front{cfg: cfg, ln: tl, stop: make(chan struct{})}
	var err error
	f.ep, err = epoll.New(f.readable, func(err error) {
		// The wait has stopped: headers go unread and time out.
		if cfg.ErrorLog != nil {
			cfg.ErrorLog.Error("front: epoll wait failed; request headers are no longer read", "err", err)
		}
	})
	if err != nil {
		return nil, err
	}
	f.rest = newListener(tl.Addr())
	return f, nil
}

// Listener returns the listener an http.Server serves the requests that
// are not WebSocket handshakes from: each connection it yields replays
// the bytes the Front read before it. Keep-alive should be off on that
// server (http.Server.SetKeepAlivesEnabled), or idle connections wait in
// net/http again.
func (f *Front) Listener() net.Listener { return f.rest }

// Waiting returns how many connections wait for their header.
func (f *Front) Waiting() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.waiting.Len()
}

// Evicted returns how many connections were closed because more than
// MaxWaiting waited for their header.
func (f *Front) Evicted() uint64 { return f.evicted.Load() }

// Queued returns how many connections whose header has come wait for a
// handshake goroutine.
func (f *Front) Queued() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.ready)
}

// Busy returns how many requests got 503 because MaxWaiting others had
// come and waited for a handshake goroutine.
func (f *Front) Busy() uint64 { return f.busy.Load() }

// Serve accepts connections until Close; it returns nil after Close, or
// the listener's error.
func (f *Front) Serve() error {
	f.wg.Go(f.expire)
	var pause time.Duration
	for {
		nc, err := f.ln.AcceptTCP()
		if err != nil {
			select {
			case <-f.stop:
				return nil
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			if f.cfg.OnAcceptError != nil {
				f.cfg.OnAcceptError(err)
			}
			// As net/http: back off from 5 ms to 1 s while it fails.
			pause = min(max(2*pause, 5*time.Millisecond), time.Second)
			select {
			case <-time.After(pause):
			case <-f.stop:
				return nil
			}
			continue
		}
		pause = 0
		f.watch(nc)
	}
}

// watch puts nc on epoll until its header has arrived.
func (f *Front) watch(nc *net.TCPConn) {
	p := &pending{nc: nc, fd: -1, since: time.Now()}
	if rc, err := nc.SyscallConn(); err == nil {
		_ = rc.Control(func(fd uintptr) { p.fd = int(fd) })
	}
	if p.fd < 0 {
		_ = nc.Close()
		return
	}
	var evict *pending
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		_ = nc.Close()
		return
	}
	p.elem = f.waiting.PushBack(p)
	if f.waiting.Len() > f.cfg.MaxWaiting {
		evict = f.waiting.Front().Value.(*pending)
		f.dropLocked(evict)
	}
	// A client sends its request as soon as it has connected: it is
	// often here already, and then goes on without epoll.
	f.readLocked(p)
	if !p.done {
		// Level-triggered: an event comes while bytes are unread. The
		// callback runs on the epoll goroutine.
		err := f.ep.Add(p.fd, unix.EPOLLIN|unix.EPOLLRDHUP, p)
		if err != nil {
			f.dropLocked(p)
		}
	}
	f.mu.Unlock()
	if evict != nil {
		f.evicted.Add(1)
	}
}

// dropLocked closes p, which is still waiting. f.mu is held.
func (f *Front) dropLocked(p *pending) {
	p.done = true
	f.waiting.Remove(p.elem)
	_ = f.ep.Del(p.fd)
	_ = p.nc.Close()
	p.buf = nil
}

// readable is p's epoll callback; it runs on the epoll goroutine.
func (f *Front) readable(p *pending, _ uint32) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if p.done {
		return
	}
	f.readLocked(p)
}

// readLocked reads what has arrived for p and, once the header is whole,
// hands p on. It runs under f.mu, so that nothing closes p's fd (whose
// number a new connection could take) while it reads; the socket is
// non-blocking.
func (f *Front) readLocked(p *pending) {
	limit := f.cfg.MaxHeaderBytes + headerSlack
	for {
		n, err := unix.Read(p.fd, f.scratch[:])
		if n > 0 {
			start := max(len(p.buf)-3, 0)
			p.buf = append(p.buf, f.scratch[:n]...)
			if end := headerEnd(p.buf, start); end > 0 {
				f.handOn(p, end)
				return
			}
			if len(p.buf) > limit {
				f.handOff(p)
				f.wg.Go(func() { sendAndClose(p.nc, tooLarge, f.cfg.WriteTimeout) })
				return
			}
			continue
		}
		if err == unix.EINTR {
			continue
		}
		if err == unix.EAGAIN {
			return
		}
		f.dropLocked(p) // the client closed, or the socket failed
		return
	}
}

var tooBusy = []byte("HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nRetry-After: 1\r\nConnection: close\r\n\r\n503 Service Unavailable: too many handshakes waiting")

var tooLarge = []byte("HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n431 Request Header Fields Too Large")

// headerEnd returns the length of the request header at the start of b
// (through its blank line), or 0 if it has not all arrived; from is where
// the search may start. Lines end in CRLF or, as net/http also accepts,
// LF.
func headerEnd(b []byte, from int) int {
	for i := from; i < len(b); i++ {
		if b[i] != '\n' {
			continue
		}
		switch {
		case i >= 1 && b[i-1] == '\n':
			return i + 1
		case i >= 2 && b[i-1] == '\r' && b[i-2] == '\n':
			return i + 1
		}
	}
	return 0
}

// handOn takes p off epoll and queues its request for a handshake
// goroutine, starting one if fewer than Config.Handshakes run; past
// MaxWaiting queued, the request gets 503. f.mu is held.
func (f *Front) handOn(p *pending, end int) {
	buf := p.buf
	f.handOff(p)
	if len(f.ready) >= f.cfg.MaxWaiting {
		f.busy.Add(1)
		f.wg.Go(func() { sendAndClose(p.nc, tooBusy, f.cfg.WriteTimeout) })
		return
	}
	f.ready = append(f.ready, request{p.nc, buf, end})
	if f.shaking < f.cfg.Handshakes {
		f.shaking++
		f.wg.Go(f.handshake)
	}
}

// handshake serves the oldest queued request, then hands the rest of the
// queue on to a new goroutine; it returns when none is left. It runs on
// a goroutine of its own, one of at most Config.Handshakes.
//
// One request per goroutine, not a loop: the new goroutine runs next, as
// the loop would, but through the scheduler's schedule(), which every 61
// switches takes work from the global run queue. That is where a
// preempted shard waits, and a goroutine the runtime's poller readied
// while every P was busy (sysmon's poll); a loop passes there only when
// it is preempted, every 10 ms. Measured in the resume storm (`go run
// ./bench -scenario trades -compare-quotes=false -spawn -server-cpus 0
// -cpus 1`, two Ps on one core), in one session: subscribe-to-replay p99 270-509 ms in nine
// runs with a loop, 153-366 ms in six with the relay.
func (f *Front) handshake() {
	f.mu.Lock()
	if len(f.ready) == 0 {
		f.shaking--
		f.ready = nil // a storm's queue is not kept
		f.mu.Unlock()
		return
	}
	r := f.ready[0]
	f.ready[0] = request{}
	f.ready = f.ready[1:]
	f.mu.Unlock()
	f.serve(r.nc, r.buf, r.end)
	f.wg.Go(f.handshake)
}

// handOff takes p off epoll and out of the waiting list, for a goroutine
// to own its connection. f.mu is held.
func (f *Front) handOff(p *pending) {
	p.done = true
	f.waiting.Remove(p.elem)
	_ = f.ep.Del(p.fd)
	p.buf = nil
}

// expire closes connections whose header is late. It runs on its own
// goroutine until Close.
func (f *Front) expire() {
	t := time.NewTicker(f.cfg.ReadHeaderTimeout / 10)
	defer t.Stop()
	for {
		select {
		case <-f.stop:
			return
		case now := <-t.C:
			f.mu.Lock()
			for e := f.waiting.Front(); e != nil; e = f.waiting.Front() {
				p := e.Value.(*pending)
				if now.Sub(p.since) < f.cfg.ReadHeaderTimeout {
					break
				}
				f.dropLocked(p)
			}
			f.mu.Unlock()
		}
	}
}

// Close stops accepting, closes the connections whose header has not
// arrived or that wait for a handshake goroutine and the hand-off
// listener, and waits for the Front's goroutines (an Upgrade in progress
// finishes). Connections already handed on are
// their new owners'.
func (f *Front) Close() error {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil
	}
	f.closed = true
	close(f.stop)
	err := f.ln.Close()
	for e := f.waiting.Front(); e != nil; e = f.waiting.Front() {
		f.dropLocked(e.Value.(*pending))
	}
	for _, r := range f.ready {
		_ = r.nc.Close()
	}
	f.ready = nil
	f.mu.Unlock()
	_ = f.ep.Close()
	_ = f.rest.Close()
	f.wg.Wait()
	return err
}

// serve parses the header in buf[:end] and runs Upgrade for a handshake
// IsUpgrade picks; anything else goes to net/http with every byte read.
// It runs on a goroutine of its own.
func (f *Front) serve(nc *net.TCPConn, buf []byte, end int) {
	if f.cfg.IsUpgrade == nil || f.cfg.Upgrade == nil {
		f.rest.push(nc, buf)
		return
	}
	head := buf[:end]
	r, err := http.ReadRequest(bufio.NewReaderSize(bytes.NewReader(head), len(head)))
	if err != nil || !f.cfg.IsUpgrade(r) {
		// net/http answers a malformed request as it always does.
		f.rest.push(nc, buf)
		return
	}
	r.RemoteAddr = nc.RemoteAddr().String()
	w := &response{nc: nc, early: buf[end:], header: http.Header{}}
	defer func() {
		// As net/http: a panic in the handler (a Config.Authenticate,
		// say) ends this request, not the process.
		if v := recover(); v != nil {
			if v != http.ErrAbortHandler && f.cfg.ErrorLog != nil {
				f.cfg.ErrorLog.Error("panic serving a WebSocket handshake", "remote", r.RemoteAddr, "panic", v, "stack", string(debug.Stack()))
			}
			if !w.hijacked {
				_ = nc.Close()
			}
		}
	}()
	f.cfg.Upgrade.ServeHTTP(w, r)
	if !w.hijacked {
		// On a goroutine of its own: finish waits up to rstWait for the
		// client to close, which the handshake goroutine must not (a
		// client refused, 403 or 429, would hold every handshake behind
		// it).
		f.wg.Go(func() { w.finish(f.cfg.WriteTimeout) })
	}
}

// UpgradePath returns an IsUpgrade that picks GET requests for path that
// ask for a WebSocket ("Upgrade: websocket").
func UpgradePath(path string) func(r *http.Request) bool {
	return func(r *http.Request) bool {
		return r.Method == http.MethodGet && r.URL.Path == path && hasToken(r.Header.Get("Upgrade"), "websocket")
	}
}

// hasToken reports whether the comma-separated list v holds tok, in any
// case.
func hasToken(v, tok string) bool {
	for t := range strings.SplitSeq(v, ",") {
		if strings.EqualFold(strings.TrimSpace(t), tok) {
			return true
		}
	}
	return false
}
