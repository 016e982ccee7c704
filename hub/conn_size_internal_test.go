package hub

import (
	"testing"
	"unsafe"
)

// TestConnSize: conn stays in the 192-byte malloc size class. An idle
// connection's memory is mostly this struct and its subscriptions, so a
// field that pushes it into the next class (208 or 224 bytes) costs every
// connection; rarely needed state goes in connExt instead.
func TestConnSize(t *testing.T) {
	if n := unsafe.Sizeof(conn{}); n > 192 {
		t.Errorf("conn is %d bytes, want at most 192", n)
	}
}

// TestConnWriteLines: what a shard's write of a connection reads is in
// conn's last two cache lines (see conn), so a fan-out write misses two
// lines of each connection, not three.
func TestConnWriteLines(t *testing.T) {
	var c conn
	fields := map[string]uintptr{
		"tls": unsafe.Offsetof(c.tls), "x": unsafe.Offsetof(c.x), "subs": unsafe.Offsetof(c.subs),
		"ctrl": unsafe.Offsetof(c.ctrl), "pending": unsafe.Offsetof(c.pending), "fd": unsafe.Offsetof(c.fd),
		"blocked": unsafe.Offsetof(c.blocked), "ownBytes": unsafe.Offsetof(c.ownBytes),
		"state": unsafe.Offsetof(c.state), "dirty": unsafe.Offsetof(c.dirty), "deflate": unsafe.Offsetof(c.deflate),
	}
	for name, off := range fields {
		if off < 64 {
			t.Errorf("conn.%s at offset %d, in the first cache line: a write would read three lines of each connection", name, off)
		}
	}
}
