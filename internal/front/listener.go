package front

import (
	"net"
	"sync"
)

// listener yields the connections the Front hands to net/http. Its
// Accept runs on the http.Server's accept goroutine; push on the
// Front's.
type listener struct {
	addr  net.Addr
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newListener(addr net.Addr) *listener {
	return &listener{addr: addr, conns: make(chan net.Conn), done: make(chan struct{})}
}

// push waits until net/http accepts nc, which replays head first; after
// Close it closes nc.
func (l *listener) push(nc *net.TCPConn, head []byte) {
	select {
	case l.conns <- &replayConn{TCPConn: nc, head: head}:
	case <-l.done:
		_ = nc.Close()
	}
}

func (l *listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *listener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *listener) Addr() net.Addr { return l.addr }

// replayConn is a connection whose first bytes the Front has read: Read
// returns them before what follows on the socket.
type replayConn struct {
	*net.TCPConn
	head []byte
}

func (c *replayConn) Read(b []byte) (int, error) {
	if len(c.head) > 0 {
		n := copy(b, c.head)
		c.head = c.head[n:]
		if len(c.head) == 0 {
			c.head = nil
		}
		return n, nil
	}
	return c.TCPConn.Read(b)
}
