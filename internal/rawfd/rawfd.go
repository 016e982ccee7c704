// Package rawfd turns a net.Conn into a bare, non-blocking socket
// descriptor, for code that drives sockets with its own epoll and plain
// system calls (the hub, the load tester).
//
//	fd, err := rawfd.Take(nc) // nc is closed, whatever happens
//	if err != nil {
//		return err
//	}
//	defer unix.Close(fd)
package rawfd

import (
	"fmt"
	"net"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// Take duplicates nc's socket into a new non-blocking, close-on-exec
// descriptor and closes nc. The net.Conn, its netFD, its runtime poll
// descriptor and its two addresses all go, which is most of what a Go
// connection costs, and the runtime's poller no longer watches the socket:
// one fd stays per connection. nc is closed on every path.
func Take(nc net.Conn) (int, error) {
	return take(nc, -1)
}

// Reserve returns a new descriptor that only holds a number for TakeInto.
// With it a server finds out that it is out of descriptors (EMFILE)
// before it commits to a connection, e.g. before it answers an upgrade
// with 101:
//
//	spare, err := rawfd.Reserve()
//	if err != nil {
//		return err // refuse the connection: no descriptor for it
//	}
//	// ... commit ...
//	if err := rawfd.TakeInto(nc, spare); err != nil {
//		return err
//	}
//	defer unix.Close(spare)
//
// Close it if it goes unused.
func Reserve() (int, error) {
	fd, err := unix.Eventfd(0, unix.EFD_CLOEXEC)
	if err != nil {
		return -1, os.NewSyscallError("eventfd", err)
	}
	return fd, nil
}

// TakeInto is Take into fd, a descriptor from Reserve, which it replaces
// atomically (dup3): it needs no free descriptor. nc is closed on every
// path, and so is fd if TakeInto fails.
func TakeInto(nc net.Conn, fd int) error {
	_, err := take(nc, fd)
	return err
}

// take is Take (into < 0) or TakeInto.
func take(nc net.Conn, into int) (fd int, err error) {
	defer nc.Close()
	defer func() {
		if err != nil && into >= 0 {
			_ = unix.Close(into)
		}
	}()
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return -1, fmt.Errorf("rawfd: %T has no file descriptor", nc)
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd = -1
	var derr error
	if err := raw.Control(func(s uintptr) {
		if into < 0 {
			fd, derr = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0)
		} else if derr = unix.Dup3(int(s), into, unix.O_CLOEXEC); derr == nil {
			fd = into
		}
	}); err != nil {
		return -1, err
	}
	if derr != nil {
		return -1, os.NewSyscallError("dup", derr)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		if into < 0 {
			_ = unix.Close(fd)
		}
		return -1, os.NewSyscallError("setnonblock", err)
	}
	return fd, nil
}
