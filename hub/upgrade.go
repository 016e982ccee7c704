package hub

import (
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/gobwas/ws"
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
	sc, ok := nc.(syscall.Conn)
	if !ok {
		h.stats.rejected[rejectTransport].Add(1)
		_ = nc.Close()
		return
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		h.stats.rejected[rejectTransport].Add(1)
		_ = nc.Close()
		return
	}
	// net/http may have set deadlines; they would fail raw reads.
	_ = nc.SetDeadline(time.Time{})
	c := &conn{nc: nc, raw: raw, idx: -1}
	_ = raw.Control(func(fd uintptr) { c.fd = int(fd) })
	if n := rw.Reader.Buffered(); n > 0 {
		b, _ := rw.Reader.Peek(n)
		c.rbuf = append([]byte(nil), b...)
	}
	c.shard = h.shards[int(h.next.Add(1))%len(h.shards)]
	open.kind, open.c = cmdOpen, c
	c.shard.post(open)
	registered = true
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
