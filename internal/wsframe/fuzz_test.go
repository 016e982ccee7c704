package wsframe

import (
	"bytes"
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/gobwas/ws"
)

// scan runs Next over stream fed in pieces of chunk bytes, as a reader
// does, and returns the frames (payloads copied) and the error it ends on.
func scan(stream []byte, chunk int) ([]Frame, error) {
	var out []Frame
	var pending []byte
	for off := 0; off < len(stream); off += chunk {
		pending = append(pending, stream[off:min(off+chunk, len(stream))]...)
		for {
			f, n, err := Next(pending, 1<<16)
			if err != nil {
				return out, err
			}
			if n == 0 {
				break
			}
			f.Payload = bytes.Clone(f.Payload)
			out = append(out, f)
			pending = pending[n:]
		}
	}
	return out, nil
}

// FuzzNext checks that Next gives the same frames however the stream is cut,
// that every header reads as gobwas/ws reads it, and that AppendFrame gives
// back the bytes of each frame sent in the shortest length encoding.
func FuzzNext(f *testing.F) {
	f.Add(AppendFrame(nil, Header{Fin: true, Op: OpText, Masked: true, Mask: [4]byte{1, 2, 3, 4}}, []byte(`{"op":"ping"}`)), uint8(3))
	f.Add(AppendFrame(nil, Header{Op: OpBinary}, bytes.Repeat([]byte("b"), 200)), uint8(1))
	f.Add([]byte{0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0}, uint8(4))
	f.Add([]byte{0x81, 0xFE, 0xFF, 0xFF, 1, 2, 3, 4, 'x'}, uint8(2))
	f.Fuzz(func(t *testing.T, stream []byte, chunk uint8) {
		whole, werr := scan(bytes.Clone(stream), max(len(stream), 1))
		cut, cerr := scan(bytes.Clone(stream), int(chunk%16)+1)
		if werr != cerr || len(whole) != len(cut) {
			t.Fatalf("whole: %d frames, %v; in pieces of %d: %d frames, %v", len(whole), werr, chunk%16+1, len(cut), cerr)
		}
		off := 0
		for i, fr := range whole {
			if fr.Header != cut[i].Header || !bytes.Equal(fr.Payload, cut[i].Payload) {
				t.Fatalf("frame %d differs when the stream is cut: %+v vs %+v", i, fr.Header, cut[i].Header)
			}
			raw := stream[off:]
			gh, err := ws.ReadHeader(bytes.NewReader(raw))
			if err != nil || gh.Fin != fr.Fin || gh.Rsv != fr.Rsv || byte(gh.OpCode) != fr.Op ||
				gh.Masked != fr.Masked || gh.Mask != fr.Mask || gh.Length != fr.Length {
				t.Fatalf("frame %d: ours %+v, gobwas %+v, %v", i, fr.Header, gh, err)
			}
			size := fr.Header.Len() + len(fr.Payload)
			if _, hlen, _ := ParseHeader(raw); hlen == fr.Header.Len() {
				if re := AppendFrame(nil, fr.Header, fr.Payload); !bytes.Equal(re, raw[:size]) {
					t.Fatalf("frame %d: AppendFrame = %x, sent %x", i, re, raw[:size])
				}
			} else {
				size = hlen + len(fr.Payload)
			}
			off += size
		}
		if rest := stream[off:]; errors.Is(werr, ErrLengthMSB) && len(rest) >= MaxHeaderLen {
			// gobwas reads the mask before it looks at the length; we
			// answer as soon as the length is in.
			if _, err := ws.ReadHeader(bytes.NewReader(rest)); err != ws.ErrHeaderLengthMSB {
				t.Fatalf("we say %v; gobwas says %v", werr, err)
			}
		}
	})
}

// FuzzHeader round-trips every header through AppendHeader and ParseHeader.
func FuzzHeader(f *testing.F) {
	f.Add(byte(0x81), true, uint32(0x01020304), int64(125))
	f.Add(byte(0x0F), false, uint32(0), int64(1<<16))
	f.Add(byte(0x7A), true, uint32(7), int64(1<<62))
	f.Fuzz(func(t *testing.T, b0 byte, masked bool, mask uint32, length int64) {
		h := Header{Fin: b0&0x80 != 0, Rsv: b0 >> 4 & 7, Op: b0 & 0x0F, Masked: masked, Length: max(length, 0)}
		if masked {
			h.Mask = [4]byte{byte(mask), byte(mask >> 8), byte(mask >> 16), byte(mask >> 24)}
		}
		b := AppendHeader(make([]byte, 0, MaxHeaderLen), h)
		got, n, err := ParseHeader(b)
		if err != nil || n != len(b) || n != h.Len() || got != h {
			t.Fatalf("ParseHeader(AppendHeader(%+v) = %x) = %+v, %d, %v", h, b, got, n, err)
		}
	})
}

// FuzzCipher checks the word-at-a-time masking against a byte-wise XOR,
// with the payload masked in two pieces.
func FuzzCipher(f *testing.F) {
	f.Add([]byte("hello, world; more than thirty-two bytes of it"), uint32(0xDEADBEEF), uint16(5))
	f.Fuzz(func(t *testing.T, p []byte, k uint32, split uint16) {
		key := [4]byte{byte(k), byte(k >> 8), byte(k >> 16), byte(k >> 24)}
		want := bytes.Clone(p)
		for i := range want {
			want[i] ^= key[i&3]
		}
		s := int(split) % (len(p) + 1)
		got := bytes.Clone(p)
		Cipher(got[s:], key, Cipher(got[:s], key, 0))
		if !bytes.Equal(got, want) {
			t.Fatalf("Cipher(%x, %x, split %d) = %x, want %x", p, key, s, got, want)
		}
	})
}

// FuzzCloseBody checks ParseCloseBody against its own encoder: whatever it
// accepts has a code an endpoint may send and a UTF-8 reason, and encodes
// back to the same bytes.
func FuzzCloseBody(f *testing.F) {
	f.Add(AppendCloseBody(nil, 1000, "bye"))
	f.Add(AppendCloseBody(nil, 1005, ""))
	f.Add([]byte{3})
	f.Add(AppendCloseBody(nil, 3000, "\xc3"))
	f.Fuzz(func(t *testing.T, p []byte) {
		code, reason, err := ParseCloseBody(p)
		if err != nil {
			return
		}
		if len(p) == 0 {
			if code != StatusNoStatus {
				t.Fatalf("empty body: code %d", code)
			}
			return
		}
		if code < 1000 || code == 1004 || code == 1005 || code == 1006 || (code > 1014 && code < 3000) || code > 4999 || !utf8.Valid(reason) {
			t.Fatalf("accepted code %d reason %q", code, reason)
		}
		if b := AppendCloseBody(nil, code, string(reason)); !bytes.Equal(b, p) {
			t.Fatalf("AppendCloseBody(%d, %q) = %x, want %x", code, reason, b, p)
		}
	})
}
