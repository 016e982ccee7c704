package hub

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tickerd/tickerd/internal/wsframe"
)

// recorder is a frameSink that writes down what the parser found.
type recorder struct{ events []string }

func (r *recorder) request(_ *conn, op wsframe.OpCode, p []byte) {
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

func (r *recorder) peerClosed(_ *conn, code wsframe.StatusCode) {
	r.events = append(r.events, fmt.Sprintf("close %d", code))
}

const fuzzMax = 512

// fuzzHub is the hub of the fuzzed readers: its compression inflates
// messages under fuzzMax.
var fuzzHub = func() *Hub {
	h := &Hub{}
	h.z.init(&Config{MaxMessageBytes: fuzzMax, CompressMinSize: 1})
	return h
}()

// parseChunks feeds data to a fresh connection's parser in the given
// chunk sizes (the rest in one go) the way a reader does between reads,
// and returns what it found and the close code it decided on (0: none).
// The connection negotiated permessage-deflate if deflate.
func parseChunks(data []byte, chunks []int, deflate bool) ([]string, wsframe.StatusCode) {
	rec := &recorder{}
	rd := &reader{h: fuzzHub, out: rec, max: fuzzMax}
	c := &conn{deflate: deflate}
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
	f.Fuzz(func(t *testing.T, data []byte, split uint64) { checkFrames(t, data, split, false) })
}

// checkFrames parses data whole and split as split says, on a connection
// that negotiated permessage-deflate if deflate, and fails unless both
// decide the same, with a close code the parser may choose, and hand on
// only messages within the limits.
func checkFrames(t *testing.T, data []byte, split uint64, deflate bool) {
	whole, wholeCode := parseChunks(data, nil, deflate)
	var chunks []int
	for i := range 8 {
		chunks = append(chunks, int(split>>(8*i)&0xff)+1)
	}
	parts, partsCode := parseChunks(data, chunks, deflate)
	if wholeCode != partsCode || !slices.Equal(whole, parts) {
		t.Fatalf("whole: %v close %d\nsplit %v: %v close %d", whole, wholeCode, chunks, parts, partsCode)
	}
	switch wholeCode {
	case 0, wsframe.StatusProtocolError, wsframe.StatusInvalidFramePayloadData, wsframe.StatusMessageTooBig:
	default:
		t.Fatalf("close code %d is not one the parser may choose", wholeCode)
	}
	rec := &recorder{}
	rd := &reader{h: fuzzHub, out: rec, max: fuzzMax}
	_, _ = rd.frames(&conn{deflate: deflate}, append([]byte(nil), data...))
	for _, e := range rec.events {
		var op int
		var p string
		if _, err := fmt.Sscanf(e, "message op=%d %q", &op, &p); err == nil {
			if len(p) > fuzzMax {
				t.Fatalf("message of %d bytes passed a %d-byte limit", len(p), fuzzMax)
			}
			if wsframe.OpCode(op) == wsframe.OpText && !utf8.ValidString(p) {
				t.Fatalf("text message with invalid UTF-8 passed: %q", p)
			}
		}
	}
}

// clientFrame builds a masked client frame, with a fixed key so that the
// seeds stay the same bytes.
func clientFrame(fin bool, op wsframe.OpCode, payload []byte) []byte {
	return wsframe.AppendFrame(nil, wsframe.Header{Fin: fin, Op: op, Masked: true, Mask: [4]byte{0x37, 0xfa, 0x21, 0x3d}}, payload)
}

// closeBody is a close frame's body, as sent.
func closeBody(code wsframe.StatusCode, reason string) []byte {
	return wsframe.AppendCloseBody(nil, code, reason)
}

func frameSeeds() [][]byte {
	text := func(s string) []byte { return clientFrame(true, wsframe.OpText, []byte(s)) }
	cat := func(fs ...[]byte) []byte { return slices.Concat(fs...) }
	unmasked := []byte{0x81, 0x02, 'h', 'i'}
	return [][]byte{
		text(`{"op":"subscribe","symbols":["AAPL"],"id":1}`),
		cat(text(`{"op":"ping"}`), text(`{"op":"list","id":"x"}`)),
		cat(clientFrame(false, wsframe.OpText, []byte(`{"op":`)), clientFrame(true, wsframe.OpPing, []byte("p")),
			clientFrame(true, wsframe.OpContinuation, []byte(`"ping"}`))),
		clientFrame(true, wsframe.OpPing, []byte("hello")),
		clientFrame(true, wsframe.OpPong, nil),
		clientFrame(true, wsframe.OpClose, closeBody(1000, "bye")),
		clientFrame(true, wsframe.OpClose, []byte{0x03}),
		clientFrame(true, wsframe.OpClose, closeBody(1005, "")),
		clientFrame(true, wsframe.OpClose, append(closeBody(1000, ""), 0xff)),
		unmasked,
		clientFrame(true, wsframe.OpText, []byte{0xff, 0xfe}),
		cat(clientFrame(false, wsframe.OpText, []byte{0xe2, 0x82}), clientFrame(true, wsframe.OpContinuation, []byte{0xac})),
		clientFrame(true, wsframe.OpContinuation, []byte("x")),
		clientFrame(false, wsframe.OpPing, nil),
		clientFrame(true, wsframe.OpPing, make([]byte, 126)),
		clientFrame(true, 0x3, nil),
		{0xc1, 0x80, 0, 0, 0, 0},
		clientFrame(true, wsframe.OpText, make([]byte, fuzzMax+1)),
		cat(clientFrame(false, wsframe.OpText, make([]byte, 300)), clientFrame(true, wsframe.OpContinuation, make([]byte, 300))),
		{0x81, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0},
		clientFrame(true, wsframe.OpBinary, []byte{0, 1, 2}),
		cat(text(`{"op":"ping"}`), clientFrame(true, wsframe.OpClose, nil), text(`after close`)),
	}
}
