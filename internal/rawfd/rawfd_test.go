package rawfd_test

import (
	"net"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/tickerd/tickerd/internal/rawfd"
)

// TestTake takes the server side of a loopback TCP connection: the fd is
// non-blocking, carries the connection's bytes both ways, and the
// net.Conn is closed.
func TestTake(t *testing.T) {
	client, nc := loopback(t)
	fd, err := rawfd.Take(nc)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)

	if _, err := nc.Write([]byte("x")); err == nil {
		t.Error("the net.Conn still writes after Take")
	}
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil || fl&unix.O_NONBLOCK == 0 {
		t.Errorf("flags %#x, %v: want O_NONBLOCK", fl, err)
	}
	if _, err := unix.Read(fd, make([]byte, 8)); err != unix.EAGAIN {
		t.Errorf("read with nothing sent: %v, want EAGAIN", err)
	}
	if _, err := client.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 8)
	var n int
	for n == 0 { // the byte is on loopback, but may not be queued yet
		var err error
		if n, err = unix.Read(fd, buf); err != nil && err != unix.EAGAIN {
			t.Fatal(err)
		}
	}
	if string(buf[:n]) != "ping" {
		t.Errorf("read %q, want ping", buf[:n])
	}
	if _, err := unix.Write(fd, []byte("pong")); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Read(buf); err != nil || string(buf[:4]) != "pong" {
		t.Errorf("client read %q, %v; want pong", buf[:4], err)
	}
}

// TestTakeNotASocket: a net.Conn without a descriptor is refused, and
// closed.
func TestTakeNotASocket(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	if _, err := rawfd.Take(a); err == nil {
		t.Fatal("Take(net.Pipe) succeeded")
	}
	if _, err := a.Write([]byte("x")); err == nil {
		t.Error("the pipe was not closed")
	}
}

// TestTakeInto takes a connection into a reserved descriptor: the socket
// then lives under the reserved number, and works.
func TestTakeInto(t *testing.T) {
	client, nc := loopback(t)
	spare, err := rawfd.Reserve()
	if err != nil {
		t.Fatal(err)
	}
	if err := rawfd.TakeInto(nc, spare); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(spare)
	if _, err := unix.Write(spare, []byte("pong")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := client.Read(buf); err != nil || string(buf) != "pong" {
		t.Errorf("client read %q, %v; want pong", buf, err)
	}
	if fl, err := unix.FcntlInt(uintptr(spare), unix.F_GETFL, 0); err != nil || fl&unix.O_NONBLOCK == 0 {
		t.Errorf("flags %#x, %v: want O_NONBLOCK", fl, err)
	}
}

// loopback returns both ends of a TCP connection on 127.0.0.1; the client
// end is closed at the end of the test.
func loopback(t *testing.T) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	server, err = ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	return client, server
}
