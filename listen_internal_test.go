package tickerd

import (
	"context"
	"net"
	"testing"

	"golang.org/x/sys/unix"
)

// TestListenNoKeepAlive: what ListenAndServe's listener accepts has TCP
// keep-alive off (net.Listen's would have it on, with four setsockopt
// calls per connection); the same check on net.Listen's shows the test
// can tell.
func TestListenNoKeepAlive(t *testing.T) {
	keepAlive := func(ln net.Listener) int {
		t.Helper()
		defer ln.Close()
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		s, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		rc, err := s.(*net.TCPConn).SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		var v int
		var serr error
		if err := rc.Control(func(fd uintptr) { v, serr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_KEEPALIVE) }); err != nil {
			t.Fatal(err)
		}
		if serr != nil {
			t.Fatal(serr)
		}
		return v
	}
	ours, err := listen(context.Background(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	plain, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if got := keepAlive(ours); got != 0 {
		t.Errorf("SO_KEEPALIVE %d on a connection listen accepted, want 0", got)
	}
	if got := keepAlive(plain); got == 0 {
		t.Errorf("SO_KEEPALIVE 0 on a connection net.Listen accepted: the check cannot tell")
	}
}
