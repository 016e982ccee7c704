package hub

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"

	"github.com/gobwas/ws"
	"golang.org/x/sys/unix"
)

// rejectCause says why an upgrade was refused; each has a counter.
type rejectCause uint8

const (
	rejectDraining  rejectCause = iota // shutting down
	rejectFull                         // MaxConns reached
	rejectOrigin                       // CheckOrigin said no
	rejectRequest                      // bad ?symbols= or not a WebSocket handshake
	rejectTransport                    // the connection has no file descriptor
	numRejects
)

var rejectNames = [numRejects]string{"draining", "max_conns", "origin", "bad_request", "transport"}

func (r rejectCause) String() string { return rejectNames[r] }

// ServeHTTP upgrades the request to a WebSocket connection and hands it to
// a shard. Mount it at the WebSocket path (e.g. /ws). The query parameter
// symbols=A,B subscribes at connect time.
//
// Once upgraded, the connection has no goroutine of its own: epoll wakes a
// reader when the client sends something, and the shard writes to it.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.draining.Load() {
		h.reject(w, rejectDraining, http.StatusServiceUnavailable, "server is shutting down")
		return
	}
	if h.conns.Add(1) > int64(h.cfg.MaxConns) {
		h.conns.Add(-1)
		h.reject(w, rejectFull, http.StatusServiceUnavailable, "too many connections")
		return
	}
	registered := false
	defer func() {
		if !registered {
			h.conns.Add(-1)
		}
	}()
	if !h.cfg.CheckOrigin(r) {
		h.reject(w, rejectOrigin, http.StatusForbidden, "origin not allowed")
		return
	}
	var open cmd
	if q := r.URL.Query().Get("symbols"); q != "" {
		names := strings.Split(q, ",")
		if len(names) > h.cfg.MaxSymbolsPerRequest {
			h.reject(w, rejectRequest, http.StatusBadRequest, "too many symbols in ?symbols=")
			return
		}
		open = h.resolve(names)
	}

	up := ws.HTTPUpgrader{Timeout: h.cfg.HandshakeTimeout}
	nc, rw, _, err := up.Upgrade(r, w)
	if err != nil {
		h.stats.rejected[rejectRequest].Add(1)
		return // the upgrader has answered the client
	}
	c := &conn{idx: -1}
	c.fd, err = takeFD(nc)
	if err != nil {
		h.stats.rejected[rejectTransport].Add(1)
		h.log.Warn("cannot take the connection's fd", "err", err)
		return
	}
	if n := rw.Reader.Buffered(); n > 0 {
		b, _ := rw.Reader.Peek(n)
		c.part = &partial{rbuf: append([]byte(nil), b...)}
	}
	c.shard = h.shards[int(h.next.Add(1))%len(h.shards)]
	open.kind, open.c = cmdOpen, c
	c.shard.post(open)
	registered = true
}

// takeFD gives the hub its own non-blocking descriptor of nc's socket and
// closes nc. The net.Conn, its netFD, its runtime poll descriptor and its
// two addresses all go, which is most of what a Go connection costs; the
// hub then reads and writes the fd with plain system calls, driven by its
// own epoll. nc is closed on every path.
func takeFD(nc net.Conn) (int, error) {
	defer nc.Close()
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return -1, fmt.Errorf("hub: %T has no file descriptor", nc)
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	var derr error
	if err := raw.Control(func(s uintptr) {
		fd, derr = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0)
	}); err != nil {
		return -1, err
	}
	if derr != nil {
		return -1, derr
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		_ = unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

func (h *Hub) reject(w http.ResponseWriter, why rejectCause, status int, msg string) {
	h.stats.rejected[why].Add(1)
	http.Error(w, msg, status)
}

// sameOrigin allows requests without an Origin header (programs) and those
// whose Origin names the host they were sent to (the dashboard).
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	if err != nil {
		return false
	}
	return strings.EqualFold(u.Host, r.Host)
}
