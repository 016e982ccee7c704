package hub

import (
	"crypto/tls"
	"hash/fnv"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gobwas/ws"
	"golang.org/x/sys/unix"

	"github.com/tickerd/tickerd/internal/rawfd"
	"github.com/tickerd/tickerd/protocol"
)

// rejectCause says why an upgrade was refused; each has a counter.
type rejectCause uint8

const (
	rejectDraining  rejectCause = iota // shutting down
	rejectFull                         // MaxConns reached
	rejectOrigin                       // CheckOrigin said no
	rejectRequest                      // bad ?symbols= or not a WebSocket handshake
	rejectTransport                    // the connection has no file descriptor
	rejectAuth                         // missing or bad token where one is required
	rejectPerIP                        // MaxConnsPerIP reached
	rejectFDLimit                      // the process is out of file descriptors
	numRejects
)

var rejectNames = [numRejects]string{"draining", "max_conns", "origin", "bad_request", "transport", "auth", "max_conns_per_ip", "fd_limit"}

func (r rejectCause) String() string { return rejectNames[r] }

// ServeHTTP upgrades the request to a WebSocket connection and hands it to
// a shard. Mount it at the WebSocket path (e.g. /ws). The query parameter
// symbols=A,B subscribes at connect time; more than MaxSymbolsPerRequest
// names (duplicates counted) or a name over 32 bytes gets 400. Out of
// file descriptors, an upgrade gets 503 before anything is committed.
//
// Once upgraded, the connection has no goroutine of its own: epoll wakes a
// reader when the client sends something, and the shard writes to it.
// ServeHTTP and the unexported methods of Hub in this file run on the
// http.Server's goroutine for the request.
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
	c := &conn{idx: -1}
	if h.cfg.MaxConnsPerIP > 0 {
		c.ipKey = ipKey(r.RemoteAddr)
		if !h.perIP.take(c.ipKey, h.cfg.MaxConnsPerIP) {
			h.reject(w, rejectPerIP, http.StatusTooManyRequests, "too many connections from your address")
			return
		}
		defer func() {
			if !registered {
				h.perIP.put(c.ipKey)
			}
		}()
	}
	var ident *Identity
	if h.cfg.Authenticate != nil {
		c.auth = &connAuth{deadline: time.Now().Add(h.cfg.AuthTimeout).UnixNano()}
		if tok := h.cfg.Token(r); tok != "" {
			var err error
			if ident, err = h.cfg.Authenticate(tok); err != nil {
				h.reject(w, rejectAuth, http.StatusUnauthorized, "unauthorized: "+err.Error())
				return
			}
			c.auth.id.Store(ident)
		}
	}
	var open openCmd
	if q := r.URL.Query().Get("symbols"); q != "" {
		names, msg := splitSymbols(q, h.cfg.MaxSymbolsPerRequest, protocol.DefaultMaxSymbolLen)
		if msg != "" {
			h.reject(w, rejectRequest, http.StatusBadRequest, msg)
			return
		}
		if c.auth != nil {
			if ident == nil {
				h.reject(w, rejectAuth, http.StatusUnauthorized, "?symbols= needs a token in the request (Authorization header or ?token=)")
				return
			}
			names, open.forbidden = splitAllowed(ident, names)
		}
		open.set = h.resolve(names)
	}

	// A plain connection's socket moves to a descriptor of the hub's own
	// (rawfd): reserve its number now, so that a server out of
	// descriptors refuses the upgrade with 503 instead of dropping the
	// connection right after 101.
	spare := -1
	if r.TLS == nil {
		var err error
		if spare, err = rawfd.Reserve(); err != nil {
			h.warnFDLimit(err)
			h.reject(w, rejectFDLimit, http.StatusServiceUnavailable, "server is out of file descriptors")
			return
		}
		defer func() {
			if spare >= 0 {
				_ = unix.Close(spare)
			}
		}()
	}

	up := ws.HTTPUpgrader{Timeout: h.cfg.HandshakeTimeout}
	negotiated := h.z.negotiate(&up)
	nc, rw, _, err := up.Upgrade(r, w)
	if err != nil {
		// The upgrader hijacked the connection before checking it and
		// has answered the client; the socket is ours to close.
		if nc != nil {
			_ = nc.Close()
		}
		h.stats.rejected[rejectRequest].Add(1)
		return
	}
	c.deflate = negotiated()
	var early []byte
	if n := rw.Reader.Buffered(); n > 0 {
		early, _ = rw.Reader.Peek(n)
		early = append([]byte(nil), early...)
	}
	if tc, ok := nc.(*tls.Conn); ok {
		_ = nc.SetDeadline(time.Time{})
		if c.tls, err = newTLSConn(tc, h.cfg.SendBuffer); err != nil {
			_ = nc.Close()
			h.stats.rejected[rejectTransport].Add(1)
			h.log.Warn("cannot set up the TLS connection", "err", err)
			return
		}
		c.fd = -1
		open.early = early // the reader goroutine parses these first
		h.attach(c, nil, open)
		registered = true
		return
	}
	var fd int
	if spare >= 0 {
		fd, spare = spare, -1 // TakeInto owns it now
		err = rawfd.TakeInto(nc, fd)
	} else { // TLS by another layer than crypto/tls
		fd, err = rawfd.Take(nc)
	}
	if err != nil {
		h.stats.rejected[rejectTransport].Add(1)
		h.log.Warn("cannot take the connection's fd", "err", err)
		return
	}
	c.fd = int32(fd)
	if h.cfg.SendBuffer > 0 {
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, h.cfg.SendBuffer)
	}
	h.attach(c, early, open)
	registered = true
}

// attach hands a WebSocket connection to a shard: the shard registers it
// with epoll and subscribes it to open.set. early holds bytes the client
// sent right behind its handshake. It runs on the HTTP goroutine that
// upgraded c.
func (h *Hub) attach(c *conn, early []byte, open openCmd) {
	if len(early) > 0 {
		c.part = &partial{rbuf: append([]byte(nil), early...)}
	}
	c.shard = h.shards[int(h.next.Add(1))%len(h.shards)]
	h.z.opened(c)
	c.shard.post(c, &open)
}

// dropNew closes a connection that was upgraded but never reached a
// shard, because the hub was closing: no goroutine of the hub knows it.
func (h *Hub) dropNew(c *conn) {
	c.state = stateClosed
	c.rstate.Or(rDead)
	c.release()
	if h.cfg.MaxConnsPerIP > 0 {
		h.perIP.put(c.ipKey)
	}
	h.conns.Add(-1)
	h.z.closed(c)
}

// splitSymbols splits a ?symbols= list. The count (duplicates counted,
// as in a subscribe request) and each name's length are checked in one
// pass over q before any work per name, so a list over the limits costs
// microseconds; then names are split, empty ones skipped and duplicates
// dropped (keeping the first) in linear time. msg says why q is refused.
func splitSymbols(q string, maxNames, maxLen int) (names []string, msg string) {
	n := strings.Count(q, ",") + 1
	if n > maxNames {
		return nil, "more than " + strconv.Itoa(maxNames) + " names in ?symbols="
	}
	for rest := q; ; {
		i := strings.IndexByte(rest, ',')
		if i < 0 {
			i = len(rest)
		}
		if i > maxLen {
			return nil, "a name in ?symbols= is longer than " + strconv.Itoa(maxLen) + " bytes"
		}
		if i == len(rest) {
			break
		}
		rest = rest[i+1:]
	}
	names = make([]string, 0, n)
	seen := make(map[string]struct{}, n)
	for name := range strings.SplitSeq(q, ",") {
		if _, dup := seen[name]; dup || name == "" {
			continue
		}
		seen[name] = struct{}{}
		names = append(names, name)
	}
	return names, ""
}

// warnFDLimit logs that the process ran out of descriptors, at most once
// every ten seconds (Stats().Rejected["fd_limit"] counts every refusal).
func (h *Hub) warnFDLimit(err error) {
	now := time.Now().UnixNano()
	last := h.fdWarned.Load()
	if now-last > int64(10*time.Second) && h.fdWarned.CompareAndSwap(last, now) {
		h.log.Warn("out of file descriptors: refusing upgrades with 503", "err", err)
	}
}

// ipKey hashes the host part of a remote address.
func ipKey(remote string) uint32 {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	f := fnv.New32a()
	_, _ = f.Write([]byte(host))
	return f.Sum32()
}

// ipCounts counts connections per source address hash.
type ipCounts struct {
	mu sync.Mutex
	n  map[uint32]int32 // guarded by mu
}

func (p *ipCounts) take(k uint32, max int) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.n == nil {
		p.n = make(map[uint32]int32)
	}
	if int(p.n[k]) >= max {
		return false
	}
	p.n[k]++
	return true
}

func (p *ipCounts) put(k uint32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.n[k]--; p.n[k] <= 0 {
		delete(p.n, k)
	}
}

// reject refuses an upgrade with status and msg, counted under why.
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
