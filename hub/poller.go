package hub

import (
	"golang.org/x/sys/unix"

	"github.com/tickerd/tickerd/internal/epoll"
)

// poller watches every connection's socket with one epoll instance
// (internal/epoll: its descriptor waits in Go's runtime poller, so no
// thread blocks in epoll_wait). Its callbacks run on the set's goroutine
// and only hand work on: a readable connection goes to the readers, a
// writable one to its shard.
type poller struct {
	h  *Hub
	ep *epoll.Set[conn]
}

const connEvents = unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLET

func newPoller(h *Hub) (*poller, error) {
	p := &poller{h: h}
	var err error
	p.ep, err = epoll.New(p.event, func(err error) {
		h.log.Error("epoll wait failed", "err", err)
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// tlsEvents: a TLS connection's reads and hangups, and EPOLLOUT for the
// records its socket did not take (tlsConn.waitOut).
const tlsEvents = unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLET

// add watches c's socket for reads and writes; a TLS connection's
// readable socket wakes its TLS reader (readTLSSoon).
func (p *poller) add(c *conn) error {
	if c.tls != nil {
		return p.ep.Add(int(c.tls.fd), tlsEvents, c)
	}
	return p.ep.Add(int(c.fd), connEvents, c)
}

// del removes c before its socket is closed. A callback already running
// for c may still arrive afterwards; conn state makes it harmless.
func (p *poller) del(c *conn) {
	fd := c.fd
	if c.tls != nil {
		fd = c.tls.fd
	}
	_ = p.ep.Del(int(fd))
}

// waitsForOut reports whether c's shard waits for its socket to take more:
// a plain connection is blocked; a TLS one has records in its socket's
// pending buffer (not while its writer has the batch). Any goroutine.
func (c *conn) waitsForOut() bool {
	if c.tls != nil {
		return c.tls.waitOut.Load()
	}
	return c.blocked.Load()
}

// close stops the epoll goroutine and waits for it.
func (p *poller) close() error { return p.ep.Close() }

// event is c's epoll callback; it runs on the epoll goroutine.
func (p *poller) event(c *conn, ev uint32) {
	if ev&unix.EPOLLOUT != 0 && c.waitsForOut() && c.woken.CompareAndSwap(false, true) {
		c.shard.wakeWritable(c)
	}
	if ev&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
		if c.tls != nil {
			p.h.readTLSSoon(c, nil)
		} else {
			p.h.readers.schedule(c)
		}
	}
}
