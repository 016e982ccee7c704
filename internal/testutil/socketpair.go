package testutil

import (
	"testing"

	"golang.org/x/sys/unix"
)

// SocketPair returns the two ends of a connected, non-blocking Unix
// stream socket pair, for tests that drive a raw descriptor without a
// listener. Both are closed when the test ends.
//
//	fd, peer := testutil.SocketPair(t)
//	unix.Write(peer, []byte("x")) // fd is readable now
func SocketPair(t testing.TB) (fd, peer int) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fds[0]); unix.Close(fds[1]) })
	return fds[0], fds[1]
}

// FillSocket writes to the non-blocking socket fd until it takes nothing
// more: its send buffer and its peer's receive buffer are full.
func FillSocket(fd int) {
	junk := make([]byte, 4096)
	for {
		if _, err := unix.Write(fd, junk); err != nil {
			return
		}
	}
}

// DrainSocket reads the non-blocking socket fd until it has nothing more
// to give, and returns how many bytes it read.
func DrainSocket(fd int) int {
	buf := make([]byte, 64<<10)
	total := 0
	for {
		n, err := unix.Read(fd, buf)
		if err != nil || n == 0 {
			return total
		}
		total += n
	}
}
