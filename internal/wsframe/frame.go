package wsframe

// Frame is a whole frame: its header and its unmasked payload.
type Frame struct {
	Header
	Payload []byte
}

// Next scans the whole frame at the start of b. It returns n == 0 and a nil
// error while b holds only part of the frame, and ErrTooLarge as soon as a
// header announcing more than limit payload bytes is in. A masked payload
// is unmasked in place once the whole frame is in, so calling Next again
// on the same bytes after a "need more" is safe; f.Payload points into b.
func Next(b []byte, limit int64) (f Frame, n int, err error) {
	h, hlen, err := ParseHeader(b)
	if err != nil || hlen == 0 {
		return f, 0, err
	}
	if h.Length > limit {
		return f, 0, ErrTooLarge
	}
	end := hlen + int(h.Length)
	if len(b) < end {
		return f, 0, nil
	}
	f.Header, f.Payload = h, b[hlen:end:end]
	if h.Masked {
		Cipher(f.Payload, h.Mask, 0)
	}
	return f, end, nil
}

// AppendFrame appends a frame of header h carrying p: h.Length is set to
// len(p), and p is masked with h.Mask when h.Masked (p itself is not
// changed). With room in dst for the frame it does not allocate.
func AppendFrame(dst []byte, h Header, p []byte) []byte {
	h.Length = int64(len(p))
	dst = AppendHeader(dst, h)
	start := len(dst)
	dst = append(dst, p...)
	if h.Masked {
		Cipher(dst[start:], h.Mask, 0)
	}
	return dst
}

// AppendClient appends a final client frame of opcode op carrying p,
// masked with a fresh key (NewMask).
func AppendClient(dst []byte, op OpCode, p []byte) []byte {
	return AppendFrame(dst, Header{Fin: true, Op: op, Masked: true, Mask: NewMask()}, p)
}
