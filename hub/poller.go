package hub

import (
	"github.com/mailru/easygo/netpoll"
)

// poller watches every connection's socket with one epoll instance. Its
// callbacks run on the epoll goroutine and only hand work on: a readable
// connection goes to the readers, a writable one to its shard.
//
// It uses the raw EpollCreate/Add/Del layer on the connection's own fd:
// netpoll.Handle would dup the fd (two per connection) and leave it in
// blocking mode.
type poller struct {
	h  *Hub
	ep *netpoll.Epoll
}

const connEvents = netpoll.EPOLLIN | netpoll.EPOLLOUT | netpoll.EPOLLRDHUP | netpoll.EPOLLET

func newPoller(h *Hub) (*poller, error) {
	ep, err := netpoll.EpollCreate(&netpoll.EpollConfig{OnWaitError: func(err error) {
		h.log.Error("epoll wait failed", "err", err)
	}})
	if err != nil {
		return nil, err
	}
	return &poller{h: h, ep: ep}, nil
}

func (p *poller) add(c *conn) error {
	return p.ep.Add(int(c.fd), connEvents, func(ev netpoll.EpollEvent) { p.event(c, uint32(ev)) })
}

// del removes c before its fd is closed. A callback already running for c
// may still arrive afterwards; conn state makes it harmless.
func (p *poller) del(c *conn) {
	_ = p.ep.Del(int(c.fd))
}

func (p *poller) close() error { return p.ep.Close() }

// event is c's epoll callback; it runs on the epoll goroutine.
func (p *poller) event(c *conn, ev uint32) {
	if ev&0x20 != 0 { // netpoll's closed marker: the hub is stopping
		return
	}
	if ev&netpoll.EPOLLOUT != 0 && c.blocked.Load() && c.woken.CompareAndSwap(false, true) {
		c.shard.wakeWritable(c)
	}
	if ev&(netpoll.EPOLLIN|netpoll.EPOLLRDHUP|netpoll.EPOLLHUP|netpoll.EPOLLERR) != 0 {
		p.h.readers.schedule(c)
	}
}
