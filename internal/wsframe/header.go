package wsframe

import "encoding/binary"

// OpCode is a frame's opcode, 0..15. It is a byte, so a test can build a
// frame with any opcode from a plain number.
type OpCode = byte

// Opcodes of RFC 6455 section 5.2.
const (
	OpContinuation OpCode = 0x0
	OpText         OpCode = 0x1
	OpBinary       OpCode = 0x2
	OpClose        OpCode = 0x8
	OpPing         OpCode = 0x9
	OpPong         OpCode = 0xA
)

// IsControl reports whether h is a control frame's header (close, ping,
// pong or a reserved 0xB..0xF).
func (h Header) IsControl() bool { return h.Op&0x8 != 0 }

// RSV bits, as Header.Rsv holds them.
const (
	Rsv1 byte = 4 // permessage-deflate's "compressed" bit (RFC 7692)
	Rsv2 byte = 2
	Rsv3 byte = 1
)

// Header sizes.
const (
	MaxHeaderLen       = 14 // 2 + 8 bytes of length + 4 of mask
	MaxServerHeaderLen = 10 // a server does not mask
	MaxControlPayload  = 125
)

// Header is a frame's header.
type Header struct {
	Fin    bool
	Rsv    byte // the three RSV bits, 0..7 (Rsv1 is 4)
	Op     OpCode
	Masked bool
	Mask   [4]byte // the masking key when Masked
	Length int64   // payload bytes announced
}

// ParseHeader parses the header at the start of b and returns it and its
// size. It returns n == 0 and a nil error while b holds only part of the
// header, and ErrLengthMSB for a 64-bit length with the top bit set. It
// checks nothing else: see Check.
func ParseHeader(b []byte) (h Header, n int, err error) {
	if len(b) < 2 {
		return h, 0, nil
	}
	h.Fin = b[0]&0x80 != 0
	h.Rsv = b[0] >> 4 & 7
	h.Op = b[0] & 0x0F
	h.Masked = b[1]&0x80 != 0
	n = 2
	switch l := b[1] & 0x7F; l {
	case 126:
		if len(b) < 4 {
			return h, 0, nil
		}
		h.Length = int64(binary.BigEndian.Uint16(b[2:]))
		n = 4
	case 127:
		if len(b) < 10 {
			return h, 0, nil
		}
		u := binary.BigEndian.Uint64(b[2:])
		if u>>63 != 0 {
			return h, 0, ErrLengthMSB
		}
		h.Length = int64(u)
		n = 10
	default:
		h.Length = int64(l)
	}
	if h.Masked {
		if len(b) < n+4 {
			return h, 0, nil
		}
		h.Mask = [4]byte(b[n : n+4])
		n += 4
	}
	return h, n, nil
}

// Len returns the size of h's encoding.
func (h Header) Len() int {
	n := 2
	switch {
	case h.Length > 0xFFFF:
		n = 10
	case h.Length > 125:
		n = 4
	}
	if h.Masked {
		n += 4
	}
	return n
}

// AppendHeader appends h to dst in the shortest length encoding, as given:
// any RSV bits and opcode, masked or not. A negative Length is written
// as 0. With cap(dst)-len(dst) >= MaxHeaderLen it does not allocate.
func AppendHeader(dst []byte, h Header) []byte {
	b0 := h.Rsv&7<<4 | h.Op&0x0F
	if h.Fin {
		b0 |= 0x80
	}
	var m byte
	if h.Masked {
		m = 0x80
	}
	n := max(h.Length, 0)
	switch {
	case n <= 125:
		dst = append(dst, b0, m|byte(n))
	case n <= 0xFFFF:
		dst = append(dst, b0, m|126, byte(n>>8), byte(n))
	default:
		dst = append(dst, b0, m|127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	if h.Masked {
		dst = append(dst, h.Mask[:]...)
	}
	return dst
}
