package hub

import (
	"encoding/binary"

	"github.com/gobwas/ws"
)

// maxHeaderLen is the largest server frame header: no mask, 64-bit length.
const maxHeaderLen = 10

// appendFrameHeader appends the header of an unmasked, final server frame of
// opcode op carrying n payload bytes.
func appendFrameHeader(dst []byte, op ws.OpCode, n int) []byte {
	b0 := 0x80 | byte(op)
	switch {
	case n <= 125:
		return append(dst, b0, byte(n))
	case n <= 0xffff:
		return append(dst, b0, 126, byte(n>>8), byte(n))
	default:
		dst = append(dst, b0, 127)
		return binary.BigEndian.AppendUint64(dst, uint64(n))
	}
}

// textFrame returns a new slice holding payload as one final text frame.
func textFrame(payload []byte) []byte {
	b := make([]byte, 0, maxHeaderLen+len(payload))
	b = appendFrameHeader(b, ws.OpText, len(payload))
	return append(b, payload...)
}

// closeFrame returns a close frame with the given code and reason.
// A zero code gives a close frame with no body.
func closeFrame(code ws.StatusCode, reason string) []byte {
	if code == 0 {
		return appendFrameHeader(nil, ws.OpClose, 0)
	}
	if len(reason) > 123 {
		reason = reason[:123]
	}
	body := ws.NewCloseFrameBody(code, reason)
	b := make([]byte, 0, 2+len(body))
	b = appendFrameHeader(b, ws.OpClose, len(body))
	return append(b, body...)
}

// isPong reports whether frame is a pong frame.
func isPong(frame []byte) bool { return len(frame) > 0 && frame[0] == 0x80|byte(ws.OpPong) }

// pingFrame is sent to every connection each PingInterval; it is shared
// and never modified.
var pingFrame = appendFrameHeader(nil, ws.OpPing, 0)
