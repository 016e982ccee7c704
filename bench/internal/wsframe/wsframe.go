// Package wsframe reads and writes the few WebSocket frames (RFC 6455) a load
// generator needs, without allocating: Next scans one frame out of a byte
// slice that may end in the middle of a frame, and Append builds a masked
// client frame.
//
//	for {
//		f, n, err := wsframe.Next(buf)
//		if err != nil { ... }       // protocol violation: drop the connection
//		if n == 0 { break }         // partial frame: keep buf and read more
//		handle(f)
//		buf = buf[n:]
//	}
package wsframe

import (
	"encoding/binary"
	"errors"
)

// Opcodes.
const (
	OpContinuation byte = 0x0
	OpText         byte = 0x1
	OpBinary       byte = 0x2
	OpClose        byte = 0x8
	OpPing         byte = 0x9
	OpPong         byte = 0xA
)

// MaxPayload bounds a frame Next accepts; the server's own limit is 64 KiB.
const MaxPayload = 1 << 20

var (
	// ErrTooLarge is returned for a frame whose payload exceeds MaxPayload.
	ErrTooLarge = errors.New("wsframe: frame too large")
	// ErrReserved is returned for a frame with reserved bits or opcodes set.
	ErrReserved = errors.New("wsframe: reserved bits or opcode")
)

// Frame is one frame scanned by Next. Payload points into the caller's buffer
// and is valid only until that buffer is reused; a masked frame's payload is
// unmasked in place.
type Frame struct {
	Fin     bool
	Op      byte
	Masked  bool // servers must not mask; reported so callers can count it
	Payload []byte
}

// Next scans the frame at the start of b. It returns n == 0 and a nil error
// when b holds only part of a frame, and an error when the frame is invalid.
func Next(b []byte) (f Frame, n int, err error) {
	if len(b) < 2 {
		return f, 0, nil
	}
	b0, b1 := b[0], b[1]
	if b0&0x70 != 0 {
		return f, 0, ErrReserved
	}
	f.Fin = b0&0x80 != 0
	f.Op = b0 & 0x0F
	switch f.Op {
	case OpContinuation, OpText, OpBinary, OpClose, OpPing, OpPong:
	default:
		return f, 0, ErrReserved
	}
	f.Masked = b1&0x80 != 0
	hdr := 2
	var length uint64
	switch l := b1 & 0x7F; l {
	case 126:
		if len(b) < 4 {
			return f, 0, nil
		}
		length = uint64(binary.BigEndian.Uint16(b[2:4]))
		hdr = 4
	case 127:
		if len(b) < 10 {
			return f, 0, nil
		}
		length = binary.BigEndian.Uint64(b[2:10])
		hdr = 10
	default:
		length = uint64(l)
	}
	if length > MaxPayload {
		return f, 0, ErrTooLarge
	}
	var key []byte
	if f.Masked {
		if len(b) < hdr+4 {
			return f, 0, nil
		}
		key = b[hdr : hdr+4]
		hdr += 4
	}
	end := hdr + int(length)
	if len(b) < end {
		return f, 0, nil
	}
	f.Payload = b[hdr:end]
	if key != nil {
		for i := range f.Payload {
			f.Payload[i] ^= key[i&3]
		}
	}
	return f, end, nil
}

// Append appends one final, masked client frame with the given opcode,
// payload and masking key to dst and returns the extended slice.
func Append(dst []byte, op byte, payload []byte, key [4]byte) []byte {
	dst = append(dst, 0x80|op&0x0F)
	switch n := len(payload); {
	case n < 126:
		dst = append(dst, 0x80|byte(n))
	case n <= 0xFFFF:
		dst = append(dst, 0x80|126, byte(n>>8), byte(n))
	default:
		dst = append(dst, 0x80|127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	dst = append(dst, key[:]...)
	start := len(dst)
	dst = append(dst, payload...)
	for i := range dst[start:] {
		dst[start+i] ^= key[i&3]
	}
	return dst
}

// CloseCode returns the status code of a close frame's payload, or 1005 (no
// status) when it carries none.
func CloseCode(payload []byte) uint16 {
	if len(payload) < 2 {
		return 1005
	}
	return binary.BigEndian.Uint16(payload)
}
