package hub

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gobwas/ws"
)

// recorder is a frameSink that writes down what the parser found.
type recorder struct{ events []string }

func (r *recorder) request(_ *conn, op ws.OpCode, p []byte) {
	r.events = append(r.events, fmt.Sprintf("message op=%d %q", op, p))
}

// pong records a pong. A run of them counts as its last: the parser
// answers a run of pings it sees at once with one pong, which is the last
// of the pongs it gives when the same pings come in pieces.
func (r *recorder) pong(_ *conn, p []byte) {
	e := fmt.Sprintf("pong %x", p)
	if n := len(r.events); n > 0 && strings.HasPrefix(r.events[n-1], "pong ") {
		r.events[n-1] = e
		return
	}
	r.events = append(r.events, e)
}

func (r *recorder) pingDropped() {}

func (r *recorder) peerClosed(_ *conn, code ws.StatusCode) {
	r.events = append(r.events, fmt.Sprintf("close %d", code))
}

const fuzzMax = 512

// parseChunks feeds data to a fresh connection's parser in the given
// chunk sizes (the rest in one go) the way a reader does between reads,
// and returns what it found and the close code it decided on (0: none).
func parseChunks(data []byte, chunks []int) ([]string, ws.StatusCode) {
	rec := &recorder{}
	rd := &reader{out: rec, max: fuzzMax}
	c := &conn{}
	for len(data) > 0 {
		n := len(data)
		if len(chunks) > 0 {
			n = min(max(chunks[0], 1), n)
			chunks = chunks[1:]
		}
		var buf []byte
		if c.part != nil {
			buf = append(buf, c.part.rbuf...)
			c.part.rbuf = nil
		}
		carried := len(buf)
		buf = append(buf, data[:n]...)
		data = data[n:]
		if cerr := rd.consume(c, buf, carried, 1); cerr != nil {
			return rec.events, cerr.code
		}
	}
	return rec.events, 0
}

// FuzzFrames feeds arbitrary client bytes to the frame parser, whole and
// split at arbitrary points: it must never panic, must decide the same
// way however the bytes arrive, and must only hand on messages that obey
// the limits (size, UTF-8 for text).
func FuzzFrames(f *testing.F) {
	for _, seed := range frameSeeds() {
		f.Add(seed, uint64(0x0102030405060708))
	}
	f.Fuzz(func(t *testing.T, data []byte, split uint64) {
		whole, wholeCode := parseChunks(data, nil)
		var chunks []int
		for i := range 8 {
			chunks = append(chunks, int(split>>(8*i)&0xff)+1)
		}
		parts, partsCode := parseChunks(data, chunks)
		if wholeCode != partsCode || !slices.Equal(whole, parts) {
			t.Fatalf("whole: %v close %d\nsplit %v: %v close %d", whole, wholeCode, chunks, parts, partsCode)
		}
		switch wholeCode {
		case 0, ws.StatusProtocolError, ws.StatusInvalidFramePayloadData, ws.StatusMessageTooBig:
		default:
			t.Fatalf("close code %d is not one the parser may choose", wholeCode)
		}
		rec := &recorder{}
		rd := &reader{out: rec, max: fuzzMax}
		_, _ = rd.frames(&conn{}, append([]byte(nil), data...))
		for _, e := range rec.events {
			var op int
			var p string
			if _, err := fmt.Sscanf(e, "message op=%d %q", &op, &p); err == nil {
				if len(p) > fuzzMax {
					t.Fatalf("message of %d bytes passed a %d-byte limit", len(p), fuzzMax)
				}
				if ws.OpCode(op) == ws.OpText && !utf8.ValidString(p) {
					t.Fatalf("text message with invalid UTF-8 passed: %q", p)
				}
			}
		}
	})
}

// clientFrame builds a masked client frame.
func clientFrame(fin bool, op ws.OpCode, payload []byte) []byte {
	b0 := byte(op)
	if fin {
		b0 |= 0x80
	}
	b := []byte{b0}
	switch n := len(payload); {
	case n <= 125:
		b = append(b, 0x80|byte(n))
	case n <= 0xffff:
		b = append(b, 0x80|126, byte(n>>8), byte(n))
	default:
		b = append(b, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	mask := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	b = append(b, mask[:]...)
	p := append([]byte(nil), payload...)
	ws.Cipher(p, mask, 0)
	return append(b, p...)
}

func frameSeeds() [][]byte {
	text := func(s string) []byte { return clientFrame(true, ws.OpText, []byte(s)) }
	cat := func(fs ...[]byte) []byte { return slices.Concat(fs...) }
	unmasked := []byte{0x81, 0x02, 'h', 'i'}
	return [][]byte{
		text(`{"op":"subscribe","symbols":["AAPL"],"id":1}`),
		cat(text(`{"op":"ping"}`), text(`{"op":"list","id":"x"}`)),
		cat(clientFrame(false, ws.OpText, []byte(`{"op":`)), clientFrame(true, ws.OpPing, []byte("p")),
			clientFrame(true, ws.OpContinuation, []byte(`"ping"}`))),
		clientFrame(true, ws.OpPing, []byte("hello")),
		clientFrame(true, ws.OpPong, nil),
		clientFrame(true, ws.OpClose, ws.NewCloseFrameBody(1000, "bye")),
		clientFrame(true, ws.OpClose, []byte{0x03}),
		clientFrame(true, ws.OpClose, ws.NewCloseFrameBody(1005, "")),
		clientFrame(true, ws.OpClose, append(ws.NewCloseFrameBody(1000, ""), 0xff)),
		unmasked,
		clientFrame(true, ws.OpText, []byte{0xff, 0xfe}),
		cat(clientFrame(false, ws.OpText, []byte{0xe2, 0x82}), clientFrame(true, ws.OpContinuation, []byte{0xac})),
		clientFrame(true, ws.OpContinuation, []byte("x")),
		clientFrame(false, ws.OpPing, nil),
		clientFrame(true, ws.OpPing, make([]byte, 126)),
		clientFrame(true, 0x3, nil),
		{0xc1, 0x80, 0, 0, 0, 0},
		clientFrame(true, ws.OpText, make([]byte, fuzzMax+1)),
		cat(clientFrame(false, ws.OpText, make([]byte, 300)), clientFrame(true, ws.OpContinuation, make([]byte, 300))),
		{0x81, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0},
		clientFrame(true, ws.OpBinary, []byte{0, 1, 2}),
		cat(text(`{"op":"ping"}`), clientFrame(true, ws.OpClose, nil), text(`after close`)),
	}
}
