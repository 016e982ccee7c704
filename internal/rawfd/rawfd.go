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
	defer nc.Close()
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return -1, fmt.Errorf("rawfd: %T has no file descriptor", nc)
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
		return -1, os.NewSyscallError("dup", derr)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		_ = unix.Close(fd)
		return -1, os.NewSyscallError("setnonblock", err)
	}
	return fd, nil
}
