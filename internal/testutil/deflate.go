package testutil

import (
	"bytes"
	"compress/flate"
	"testing"
)

// Deflate compresses p at level as a permessage-deflate client does
// (RFC 7692 7.2.1): a fresh window, a sync flush, its four-byte tail
// removed. It uses compress/flate, independently of package deflate.
//
//	z := testutil.Deflate(t, []byte(`{"op":"ping","id":1}`), flate.BestCompression)
//	rc.WriteFrame(testutil.Frame{Fin: true, Rsv: 4, Op: testutil.OpText, Payload: z})
func Deflate(t testing.TB, p []byte, level int) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := flate.NewWriter(&b, level)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(p); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	z, ok := bytes.CutSuffix(b.Bytes(), []byte{0, 0, 0xff, 0xff})
	if !ok {
		t.Fatal("testutil: no sync tail after a flush")
	}
	return z
}
