package hub

import (
	"testing"
	"unsafe"
)

// TestConnSize: conn stays in the 208-byte malloc size class. An idle
// connection's memory is mostly this struct and its subscriptions, so a
// field that pushes it into the next class (224 or 256 bytes) costs every
// connection; rarely needed state goes in connExt instead.
func TestConnSize(t *testing.T) {
	if n := unsafe.Sizeof(conn{}); n > 208 {
		t.Errorf("conn is %d bytes, want at most 208", n)
	}
}
