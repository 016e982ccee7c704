package wsframe

import (
	"bytes"
	"strings"
	"testing"

	"github.com/gobwas/ws"
)

// serverFrames encodes unmasked frames with gobwas/ws, an independent encoder.
func serverFrames(t *testing.T, payloads ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	for _, p := range payloads {
		if err := ws.WriteFrame(&buf, ws.NewTextFrame([]byte(p))); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

// scanAll feeds stream to Next in chunks of the given size, carrying a
// partial frame over as a reader does, and returns the payloads seen.
func scanAll(t *testing.T, stream []byte, chunk int) []string {
	t.Helper()
	var got []string
	var pending []byte
	for off := 0; off < len(stream); off += chunk {
		end := min(off+chunk, len(stream))
		pending = append(pending, stream[off:end]...)
		for {
			f, n, err := Next(pending)
			if err != nil {
				t.Fatalf("Next: %v", err)
			}
			if n == 0 {
				break
			}
			if !f.Fin || f.Op != OpText || f.Masked {
				t.Fatalf("frame = %+v, want final unmasked text", f)
			}
			got = append(got, string(f.Payload))
			pending = pending[n:]
		}
	}
	if len(pending) != 0 {
		t.Fatalf("%d bytes left over", len(pending))
	}
	return got
}

func TestNextSplitFrames(t *testing.T) {
	payloads := []string{
		`{"type":"tick","symbol":"AAPL","seq":1}`,
		"",
		strings.Repeat("x", 125),
		strings.Repeat("y", 126),
		strings.Repeat("z", 70000), // 64-bit length
		`{"type":"tick","symbol":"MSFT","seq":2}`,
	}
	stream := serverFrames(t, payloads...)
	for _, chunk := range []int{1, 2, 3, 7, 100, 4096, len(stream)} {
		got := scanAll(t, stream, chunk)
		if len(got) != len(payloads) {
			t.Fatalf("chunk %d: got %d frames, want %d", chunk, len(got), len(payloads))
		}
		for i := range got {
			if got[i] != payloads[i] {
				t.Errorf("chunk %d: frame %d = %.20q (len %d), want %.20q (len %d)", chunk, i, got[i], len(got[i]), payloads[i], len(payloads[i]))
			}
		}
	}
}

func TestNextErrors(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		err  error
	}{
		{"rsv bit", []byte{0x80 | 0x40 | 0x1, 0}, ErrReserved},
		{"reserved opcode", []byte{0x83, 0}, ErrReserved},
		{"too large", []byte{0x82, 127, 0, 0, 0, 0, 0xFF, 0, 0, 0}, ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, n, err := Next(tt.in); err != tt.err || n != 0 {
				t.Errorf("Next(%x) = n %d, err %v, want 0, %v", tt.in, n, err, tt.err)
			}
		})
	}
}

func TestAppendMasked(t *testing.T) {
	for _, size := range []int{0, 10, 125, 126, 65535, 65536} {
		payload := bytes.Repeat([]byte{'a'}, size)
		b := Append(nil, OpText, payload, [4]byte{1, 2, 3, 4})
		//lint:ignore SA1019 an independent decoder of frames this test just wrote, at most 64 KiB
		f, err := ws.ReadFrame(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("size %d: gobwas ReadFrame: %v", size, err)
		}
		if !f.Header.Masked || !f.Header.Fin || f.Header.OpCode != ws.OpText {
			t.Errorf("size %d: header %+v, want final masked text", size, f.Header)
		}
		ws.Cipher(f.Payload, f.Header.Mask, 0)
		if !bytes.Equal(f.Payload, payload) {
			t.Errorf("size %d: payload differs after unmasking", size)
		}
		// Our own scanner unmasks too.
		g, n, err := Next(b)
		if err != nil || n != len(b) || !bytes.Equal(g.Payload, payload) {
			t.Errorf("size %d: Next = n %d, err %v; want whole frame", size, n, err)
		}
	}
}

func TestCloseCode(t *testing.T) {
	if got := CloseCode([]byte{0x03, 0xF0, 's'}); got != 1008 {
		t.Errorf("CloseCode(1008) = %d, want 1008", got)
	}
	if got := CloseCode(nil); got != 1005 {
		t.Errorf("CloseCode(nil) = %d, want 1005", got)
	}
}
