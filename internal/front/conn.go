package front

import (
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tickerd/tickerd/internal/rawfd"
)

// The Front accepts with accept4 on the listener's descriptor instead of
// net.TCPListener.Accept, which would register each socket with the
// runtime's poller, set TCP keep-alive on it and wrap it in a net.TCPConn,
// all of which the hub undoes to drive the socket with its own epoll (a
// dup, a removal from the poller and a close). That is seven system calls
// of about twenty per WebSocket connection, and the netFD's allocations,
// paid on one core by a reconnect storm of 10,000 clients. Hand-written
// for that hot path: no kept library hands an accepted socket over
// without Go's poller.

// conn is a handshake's socket as the Upgrade handler sees it. The hub
// writes its 101 (which fits in a fresh socket's buffer) and takes the
// descriptor (TakeFD, through rawfd). Anything that would wait, a read
// with nothing to read or a write to a full socket, first moves the
// socket onto Go's poller (net.FileConn), and from then on conn is that
// net.TCPConn. Its methods run on the handshake's goroutine.
type conn struct {
	fd       int          // -1 once taken, closed or moved to tc
	tc       *net.TCPConn // the socket on Go's poller, once moved
	remote   net.Addr
	rdl, wdl time.Time
}

func newConn(fd int, sa unix.Sockaddr) *conn {
	return &conn{fd: fd, remote: tcpAddr(sa)}
}

// move puts the socket on Go's poller, with the deadlines set so far.
func (c *conn) move() (*net.TCPConn, error) {
	if c.tc != nil {
		return c.tc, nil
	}
	if c.fd < 0 {
		return nil, net.ErrClosed
	}
	f := os.NewFile(uintptr(c.fd), "")
	nc, err := net.FileConn(f) // a duplicate of the descriptor
	_ = f.Close()
	c.fd = -1
	if err != nil {
		return nil, err
	}
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		_ = nc.Close()
		return nil, errors.New("front: not a TCP socket")
	}
	_ = tc.SetReadDeadline(c.rdl)
	_ = tc.SetWriteDeadline(c.wdl)
	c.tc = tc
	return tc, nil
}

func (c *conn) Read(b []byte) (int, error) {
	if c.tc == nil && c.fd >= 0 && len(b) > 0 {
		for {
			n, err := unix.Read(c.fd, b)
			if n > 0 {
				return n, nil
			}
			if err == nil {
				return 0, io.EOF
			}
			if err == unix.EINTR {
				continue
			}
			if err != unix.EAGAIN {
				return 0, os.NewSyscallError("read", err)
			}
			break // nothing to read yet: wait on Go's poller
		}
	}
	tc, err := c.move()
	if err != nil {
		return 0, err
	}
	return tc.Read(b)
}

func (c *conn) Write(b []byte) (int, error) {
	n := 0
	if c.tc == nil && c.fd >= 0 {
		for n < len(b) {
			m, err := unix.Write(c.fd, b[n:])
			if m > 0 {
				n += m
				continue
			}
			if err == unix.EINTR {
				continue
			}
			if err == unix.EAGAIN {
				break // a full socket: wait on Go's poller
			}
			if err == nil {
				err = io.ErrShortWrite
			}
			return n, os.NewSyscallError("write", err)
		}
		if n == len(b) {
			return n, nil
		}
	}
	tc, err := c.move()
	if err != nil {
		return n, err
	}
	m, err := tc.Write(b[n:])
	return n + m, err
}

func (c *conn) Close() error {
	if c.tc != nil {
		return c.tc.Close()
	}
	if c.fd < 0 {
		return net.ErrClosed
	}
	fd := c.fd
	c.fd = -1
	return unix.Close(fd)
}

// CloseWrite shuts down the writing side of the socket.
func (c *conn) CloseWrite() error {
	if c.tc != nil {
		return c.tc.CloseWrite()
	}
	if c.fd < 0 {
		return net.ErrClosed
	}
	return unix.Shutdown(c.fd, unix.SHUT_WR)
}

// TakeFD hands the socket's descriptor over; conn no longer has it
// (rawfd.Take and rawfd.TakeInto call it).
func (c *conn) TakeFD() (int, error) {
	if c.tc != nil {
		tc := c.tc
		c.tc = nil
		return rawfd.Take(tc)
	}
	if c.fd < 0 {
		return -1, net.ErrClosed
	}
	fd := c.fd
	c.fd = -1
	return fd, nil
}

func (c *conn) RemoteAddr() net.Addr { return c.remote }

func (c *conn) LocalAddr() net.Addr {
	if c.tc != nil {
		return c.tc.LocalAddr()
	}
	if c.fd >= 0 {
		if sa, err := unix.Getsockname(c.fd); err == nil {
			return tcpAddr(sa)
		}
	}
	return nil
}

func (c *conn) SetDeadline(t time.Time) error {
	c.rdl, c.wdl = t, t
	if c.tc != nil {
		return c.tc.SetDeadline(t)
	}
	return nil
}

func (c *conn) SetReadDeadline(t time.Time) error {
	c.rdl = t
	if c.tc != nil {
		return c.tc.SetReadDeadline(t)
	}
	return nil
}

func (c *conn) SetWriteDeadline(t time.Time) error {
	c.wdl = t
	if c.tc != nil {
		return c.tc.SetWriteDeadline(t)
	}
	return nil
}

// tcpAddr is sa as a net.Addr; nil if sa is not an IP address.
func tcpAddr(sa unix.Sockaddr) net.Addr {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return &net.TCPAddr{IP: net.IPv4(a.Addr[0], a.Addr[1], a.Addr[2], a.Addr[3]), Port: a.Port}
	case *unix.SockaddrInet6:
		var zone string
		if a.ZoneId != 0 {
			zone = strconv.Itoa(int(a.ZoneId))
		}
		return &net.TCPAddr{IP: append(net.IP(nil), a.Addr[:]...), Port: a.Port, Zone: zone}
	}
	return nil
}
