package wsframe

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/gobwas/ws"
)

// gobwasFrames encodes frames with gobwas/ws, an independent encoder:
// unmasked as a server sends them, or masked as a client does.
func gobwasFrames(t testing.TB, masked bool, payloads ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	for _, p := range payloads {
		f := ws.NewTextFrame([]byte(p))
		if masked {
			f = ws.MaskFrameInPlace(f)
		}
		if err := ws.WriteFrame(&buf, f); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

// scanAll feeds stream to Next in chunks of the given size, carrying a
// partial frame over as a reader does, and returns the payloads seen.
func scanAll(t *testing.T, stream []byte, chunk int, side Side) []string {
	t.Helper()
	var got []string
	var pending []byte
	for off := 0; off < len(stream); off += chunk {
		end := min(off+chunk, len(stream))
		pending = append(pending, stream[off:end]...)
		for {
			f, n, err := Next(pending, 1<<20)
			if err != nil {
				t.Fatalf("Next: %v", err)
			}
			if n == 0 {
				break
			}
			if err := f.Check(side, false, 0); err != nil || !f.Fin || f.Op != OpText {
				t.Fatalf("frame %+v: Check = %v, want a valid final text frame", f.Header, err)
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
	for _, tc := range []struct {
		name   string
		masked bool
		side   Side
	}{{"server frames", false, ClientSide}, {"client frames", true, ServerSide}} {
		stream := gobwasFrames(t, tc.masked, payloads...)
		for _, chunk := range []int{1, 2, 3, 7, 100, 4096, len(stream)} {
			got := scanAll(t, bytes.Clone(stream), chunk, tc.side)
			if len(got) != len(payloads) {
				t.Fatalf("%s, chunk %d: got %d frames, want %d", tc.name, chunk, len(got), len(payloads))
			}
			for i := range got {
				if got[i] != payloads[i] {
					t.Errorf("%s, chunk %d: frame %d = %.20q (len %d), want %.20q (len %d)", tc.name, chunk, i, got[i], len(got[i]), payloads[i], len(payloads[i]))
				}
			}
		}
	}
}

func TestParseHeaderNeedsMore(t *testing.T) {
	for _, h := range []Header{
		{Fin: true, Op: OpText, Length: 5},
		{Fin: true, Op: OpText, Length: 300, Masked: true, Mask: [4]byte{1, 2, 3, 4}},
		{Op: OpBinary, Length: 1 << 40, Masked: true, Mask: [4]byte{9, 8, 7, 6}},
		{Fin: true, Op: OpPing},
	} {
		b := AppendHeader(nil, h)
		if len(b) != h.Len() {
			t.Errorf("AppendHeader(%+v) wrote %d bytes, Len says %d", h, len(b), h.Len())
		}
		for i := range len(b) {
			if _, n, err := ParseHeader(b[:i]); n != 0 || err != nil {
				t.Errorf("ParseHeader(%d of %d bytes) = n %d, err %v; want 0, nil", i, len(b), n, err)
			}
		}
		got, n, err := ParseHeader(b)
		if err != nil || n != len(b) || got != h {
			t.Errorf("ParseHeader(AppendHeader(%+v)) = %+v, %d, %v", h, got, n, err)
		}
	}
}

func TestNextErrors(t *testing.T) {
	tests := []struct {
		name  string
		in    []byte
		limit int64
		err   error
	}{
		{"announces one byte too many", AppendHeader(nil, Header{Fin: true, Op: OpText, Length: 65537, Masked: true}), 65536, ErrTooLarge},
		{"64-bit length MSB", []byte{0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0}, 1 << 62, ErrLengthMSB},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, n, err := Next(tt.in, tt.limit); err != tt.err || n != 0 {
				t.Errorf("Next(%x) = n %d, err %v, want 0, %v", tt.in, n, err, tt.err)
			}
		})
	}
	// The limit itself is allowed; Next waits for the payload.
	b := AppendHeader(nil, Header{Fin: true, Op: OpText, Length: 65536, Masked: true})
	if _, n, err := Next(b, 65536); n != 0 || err != nil {
		t.Errorf("Next(header of exactly the limit) = %d, %v; want 0, nil", n, err)
	}
}

func TestAppendFrameGobwasReads(t *testing.T) {
	for _, size := range []int{0, 10, 125, 126, 65535, 65536} {
		for _, masked := range []bool{false, true} {
			payload := bytes.Repeat([]byte{'a'}, size)
			orig := bytes.Clone(payload)
			h := Header{Fin: true, Op: OpBinary, Masked: masked, Mask: [4]byte{1, 2, 3, 4}}
			b := AppendFrame(nil, h, payload)
			if !bytes.Equal(payload, orig) {
				t.Fatalf("AppendFrame changed its payload")
			}
			//lint:ignore SA1019 an independent decoder of frames this test just wrote, at most 64 KiB
			f, err := ws.ReadFrame(bytes.NewReader(b))
			if err != nil {
				t.Fatalf("size %d masked %v: gobwas ReadFrame: %v", size, masked, err)
			}
			if f.Header.Masked != masked || !f.Header.Fin || f.Header.OpCode != ws.OpBinary {
				t.Errorf("size %d: gobwas header %+v, want final binary, masked %v", size, f.Header, masked)
			}
			if masked {
				ws.Cipher(f.Payload, f.Header.Mask, 0)
			}
			if !bytes.Equal(f.Payload, payload) {
				t.Errorf("size %d masked %v: payload differs", size, masked)
			}
		}
	}
}

func TestCheck(t *testing.T) {
	c := func(op OpCode) Header { return Header{Fin: true, Op: op, Masked: true} }
	with := func(h Header, f func(*Header)) Header { f(&h); return h }
	tests := []struct {
		name       string
		h          Header
		side       Side
		fragmented bool
		rsv        byte
		want       error
	}{
		{"text", c(OpText), ServerSide, false, 0, nil},
		{"unmasked client", with(c(OpText), func(h *Header) { h.Masked = false }), ServerSide, false, 0, ErrUnmasked},
		{"masked server", c(OpText), ClientSide, false, 0, ErrMasked},
		{"unmasked server", with(c(OpText), func(h *Header) { h.Masked = false }), ClientSide, false, 0, nil},
		{"rsv1", with(c(OpText), func(h *Header) { h.Rsv = Rsv1 }), ServerSide, false, 0, ErrReservedBits},
		{"rsv1 negotiated", with(c(OpText), func(h *Header) { h.Rsv = Rsv1 }), ServerSide, false, Rsv1, nil},
		{"rsv2 with rsv1 negotiated", with(c(OpText), func(h *Header) { h.Rsv = Rsv2 }), ServerSide, false, Rsv1, ErrReservedBits},
		{"rsv1 on continuation", with(c(OpContinuation), func(h *Header) { h.Rsv = Rsv1 }), ServerSide, true, Rsv1, ErrReservedBits},
		{"rsv1 on ping", with(c(OpPing), func(h *Header) { h.Rsv = Rsv1 }), ServerSide, false, Rsv1, ErrReservedBits},
		{"opcode 3", c(3), ServerSide, false, 0, ErrReservedOpcode},
		{"opcode 0xB", c(0xB), ServerSide, false, 0, ErrReservedOpcode},
		{"fragmented ping", with(c(OpPing), func(h *Header) { h.Fin = false }), ServerSide, false, 0, ErrControlFragmented},
		{"ping 125", with(c(OpPing), func(h *Header) { h.Length = 125 }), ServerSide, false, 0, nil},
		{"ping 126", with(c(OpPing), func(h *Header) { h.Length = 126 }), ServerSide, false, 0, ErrControlTooLong},
		{"ping inside a message", c(OpPing), ServerSide, true, 0, nil},
		{"continuation alone", c(OpContinuation), ServerSide, false, 0, ErrNoMessage},
		{"continuation", c(OpContinuation), ServerSide, true, 0, nil},
		{"text inside a message", c(OpText), ServerSide, true, 0, ErrInterleaved},
	}
	for _, tt := range tests {
		if got := tt.h.Check(tt.side, tt.fragmented, tt.rsv); got != tt.want {
			t.Errorf("%s: Check = %v, want %v", tt.name, got, tt.want)
		}
	}
	for op := range OpCode(16) {
		if got, want := (Header{Op: op}).IsControl(), op >= 8; got != want {
			t.Errorf("Header{Op: %#x}.IsControl() = %v, want %v", op, got, want)
		}
	}
	var pe *ProtocolError
	if err := error(ErrTooLarge); !errors.As(err, &pe) || pe.Status != StatusMessageTooBig {
		t.Errorf("ErrTooLarge carries %v, want status 1009", pe)
	}
}

func TestCipherPieces(t *testing.T) {
	key := [4]byte{0xA1, 0xB2, 0xC3, 0xD4}
	for _, size := range []int{0, 1, 3, 7, 8, 9, 31, 32, 33, 100, 1000} {
		p := make([]byte, size)
		for i := range p {
			p[i] = byte(i * 7)
		}
		want := bytes.Clone(p)
		for i := range want {
			want[i] ^= key[i&3]
		}
		for split := 0; split <= size; split += max(1, size/5) {
			got := bytes.Clone(p)
			pos := Cipher(got[:split], key, 0)
			if end := Cipher(got[split:], key, pos); end != size {
				t.Errorf("size %d split %d: Cipher returned %d, want %d", size, split, end, size)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("size %d split %d: masked differently from byte-wise XOR", size, split)
			}
		}
	}
}

func TestCloseBody(t *testing.T) {
	tests := []struct {
		in     []byte
		code   StatusCode
		reason string
		err    error
	}{
		{nil, StatusNoStatus, "", nil},
		{[]byte{3}, 0, "", ErrCloseBodyShort},
		{AppendCloseBody(nil, 1000, ""), 1000, "", nil},
		{AppendCloseBody(nil, 1008, "too slow"), 1008, "too slow", nil},
		{AppendCloseBody(nil, 1012, "restart"), 1012, "restart", nil},
		{AppendCloseBody(nil, 4999, ""), 4999, "", nil},
		{AppendCloseBody(nil, 999, ""), 999, "", ErrCloseCode},
		{AppendCloseBody(nil, 1005, ""), 1005, "", ErrCloseCode},
		{AppendCloseBody(nil, 1006, ""), 1006, "", ErrCloseCode},
		{AppendCloseBody(nil, 1015, ""), 1015, "", ErrCloseCode},
		{AppendCloseBody(nil, 2999, ""), 2999, "", ErrCloseCode},
		{AppendCloseBody(nil, 5000, ""), 5000, "", ErrCloseCode},
		{AppendCloseBody(nil, 1000, "\xff"), 1000, "\xff", ErrCloseUTF8},
	}
	for _, tt := range tests {
		code, reason, err := ParseCloseBody(tt.in)
		if code != tt.code || string(reason) != tt.reason || err != tt.err {
			t.Errorf("ParseCloseBody(%x) = %d, %q, %v; want %d, %q, %v", tt.in, code, reason, err, tt.code, tt.reason, tt.err)
		}
	}
	long := strings.Repeat("é", 100) // 200 bytes
	if got := TrimReason(long); len(got) != 122 || !strings.HasPrefix(long, got) {
		t.Errorf("TrimReason(100 x é) = %d bytes, want 122 (a whole character under 123)", len(got))
	}
	if got := TrimReason("short"); got != "short" {
		t.Errorf("TrimReason(short) = %q", got)
	}
}

func TestZeroAllocs(t *testing.T) {
	frame := AppendFrame(nil, Header{Fin: true, Op: OpText, Masked: true, Mask: NewMask()}, []byte(strings.Repeat("p", 300)))
	buf := make([]byte, len(frame))
	out := make([]byte, 0, 512)
	body := AppendCloseBody(nil, 1000, "bye")
	for name, f := range map[string]func(){
		"Next": func() {
			copy(buf, frame)
			if _, n, err := Next(buf, 1<<16); n != len(frame) || err != nil {
				t.Fatal(n, err)
			}
		},
		"ParseHeader+Check": func() {
			h, _, _ := ParseHeader(frame)
			_ = h.Check(ServerSide, false, 0)
		},
		"AppendFrame": func() {
			out = AppendFrame(out[:0], Header{Fin: true, Op: OpText, Masked: true, Mask: [4]byte{1, 2, 3, 4}}, frame[8:])
		},
		"AppendHeader": func() {
			out = AppendHeader(out[:0], Header{Fin: true, Op: OpText, Length: 70000})
		},
		"Cipher":         func() { Cipher(buf, [4]byte{1, 2, 3, 4}, 1) },
		"ParseCloseBody": func() { _, _, _ = ParseCloseBody(body) },
	} {
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s: %v allocations per run, want 0", name, n)
		}
	}
}

func BenchmarkNext(b *testing.B) {
	for _, size := range []int{100, 1 << 10, 16 << 10} {
		frame := AppendFrame(nil, Header{Fin: true, Op: OpText, Masked: true, Mask: NewMask()}, bytes.Repeat([]byte("x"), size))
		buf := make([]byte, len(frame))
		b.Run(byteSize(size), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(size))
			for b.Loop() {
				copy(buf, frame)
				if _, n, err := Next(buf, 1<<20); n == 0 || err != nil {
					b.Fatal(n, err)
				}
			}
		})
	}
}

func BenchmarkAppendServerFrame(b *testing.B) {
	p := []byte(`{"type":"tick","symbol":"AAPL","seq":88123,"price":"187.24","ts":1763718000123456789}`)
	out := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		out = AppendHeader(out[:0], Header{Fin: true, Op: OpText, Length: int64(len(p))})
		out = append(out, p...)
	}
}

func BenchmarkCipher(b *testing.B) {
	for _, size := range []int{16, 1 << 10, 64 << 10} {
		buf := make([]byte, size)
		b.Run(byteSize(size), func(b *testing.B) {
			b.SetBytes(int64(size))
			for b.Loop() {
				Cipher(buf, [4]byte{1, 2, 3, 4}, 0)
			}
		})
	}
}

func byteSize(n int) string { return strconv.Itoa(n) + "B" }
