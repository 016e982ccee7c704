package front

import (
	"bytes"
	"testing"
)

// FuzzHeaderEnd checks headerEnd against bytes.Index: the header ends at
// the first blank line, CRLF or bare LF, and feeding the bytes in two
// reads (searching the second from three bytes before it) finds the same
// end.
func FuzzHeaderEnd(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET / HTTP/1.1\nHost: x\n\nbody",
		"GET / HTTP/1.1\r\nHost: x\r\n",
		"\r\n\r\n", "\n\n", "\n\r\n", "", "\r\n\r",
	} {
		f.Add([]byte(s), uint16(len(s)/2))
	}
	f.Fuzz(func(t *testing.T, b []byte, cut uint16) {
		want := 0
		if i := bytes.Index(b, []byte("\n\n")); i >= 0 {
			want = i + 2
		}
		if i := bytes.Index(b, []byte("\n\r\n")); i >= 0 && (want == 0 || i+3 < want) {
			want = i + 3
		}
		if got := headerEnd(b, 0); got != want {
			t.Fatalf("headerEnd(%q) = %d, want %d", b, got, want)
		}
		k := int(cut) % (len(b) + 1)
		got := headerEnd(b[:k], 0)
		if got == 0 {
			got = headerEnd(b, max(k-3, 0))
		}
		if got != want {
			t.Fatalf("headerEnd of %q in reads of %d and %d bytes = %d, want %d", b, k, len(b)-k, got, want)
		}
	})
}
