package load

import (
	"errors"
	"net"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// TestStampedRecv reads what a real loopback socket received with its
// kernel receive timestamp: asked for, the stamp falls between the send
// and the read; not asked for, there is none.
func TestStampedRecv(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	pair := func(stamped bool) (client net.Conn, server net.Conn) {
		t.Helper()
		var d net.Dialer
		if stamped {
			d.Control = control(stamps)
		}
		c, err := d.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		s, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return c, s
	}
	stamped, sStamped := pair(true)
	plain, sPlain := pair(false)
	time.Sleep(50 * time.Millisecond) // the kernel turns stamping on a moment after the first ask

	read := func(c net.Conn) (string, int64) {
		t.Helper()
		rc, err := c.(*net.TCPConn).SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		var sr stampedRecv
		buf := make([]byte, 64)
		deadline := time.Now().Add(5 * time.Second)
		for {
			var n int
			var ts int64
			var rerr error
			if err := rc.Control(func(fd uintptr) { n, ts, rerr = sr.recv(int(fd), buf) }); err != nil {
				t.Fatal(err)
			}
			if errors.Is(rerr, unix.EAGAIN) && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
				continue
			}
			if rerr != nil {
				t.Fatal(rerr)
			}
			return string(buf[:n]), ts
		}
	}

	before := time.Now().UnixNano()
	if _, err := sStamped.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	if _, err := sPlain.Write([]byte("world")); err != nil {
		t.Fatal(err)
	}
	got, ts := read(stamped)
	after := time.Now().UnixNano()
	if got != "hello" || ts < before || ts > after {
		t.Errorf("stamped read %q at %d, want \"hello\" stamped in [%d, %d]", got, ts, before, after)
	}
	if got, ts := read(plain); got != "world" || ts != 0 {
		t.Errorf("plain read %q stamped %d, want \"world\" and no stamp", got, ts)
	}
}

// TestParseStamp: control messages that are short, overlong or of another
// kind give no stamp rather than a wrong one or a panic.
func TestParseStamp(t *testing.T) {
	msg := func(level, typ int32, data []byte, claim int) []byte {
		b := make([]byte, unix.CmsgSpace(len(data)))
		h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
		h.Level, h.Type = level, typ
		h.SetLen(claim)
		copy(b[unix.CmsgLen(0):], data)
		return b
	}
	ts := unix.NsecToTimespec(1_700_000_000_123_456_789)
	good := msg(unix.SOL_SOCKET, unix.SCM_TIMESTAMPNS, timespecBytes(&ts), unix.CmsgLen(16))
	for _, c := range []struct {
		name string
		oob  []byte
		want int64
	}{
		{"stamp", good, 1_700_000_000_123_456_789},
		{"another message first", append(msg(unix.SOL_SOCKET, unix.SCM_RIGHTS, make([]byte, 4), unix.CmsgLen(4)), good...), 1_700_000_000_123_456_789},
		{"none", nil, 0},
		{"short header", good[:8], 0},
		{"length past the buffer", msg(unix.SOL_SOCKET, unix.SCM_TIMESTAMPNS, timespecBytes(&ts), 4096), 0},
		{"length below a header", msg(unix.SOL_SOCKET, unix.SCM_TIMESTAMPNS, timespecBytes(&ts), 3), 0},
		{"stamp too short", msg(unix.SOL_SOCKET, unix.SCM_TIMESTAMPNS, make([]byte, 8), unix.CmsgLen(8)), 0},
		{"other level", msg(unix.IPPROTO_IP, unix.SCM_TIMESTAMPNS, timespecBytes(&ts), unix.CmsgLen(16)), 0},
	} {
		if got := parseStamp(c.oob); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
}

func timespecBytes(ts *unix.Timespec) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(ts)), unsafe.Sizeof(*ts))
}
