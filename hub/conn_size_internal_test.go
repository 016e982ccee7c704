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
