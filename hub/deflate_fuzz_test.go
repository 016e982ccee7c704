package hub

import (
	"compress/flate"
	"slices"
	"testing"

	"github.com/tickerd/tickerd/internal/testutil"
	"github.com/tickerd/tickerd/internal/wsframe"
)

// FuzzCompressedFrames is FuzzFrames on a connection that negotiated
// permessage-deflate: messages whose first frame has RSV1 are inflated
// under the same limit, and the same rules hold (no panic, the same
// decision however the bytes arrive, only messages within the limits).
func FuzzCompressedFrames(f *testing.F) {
	for _, seed := range compressedSeeds(f) {
		f.Add(seed, uint64(0x0102030405060708))
	}
	f.Fuzz(func(t *testing.T, data []byte, split uint64) { checkFrames(t, data, split, true) })
}

// TestCompressedFrameSeeds checks what the parser decides for each seed
// of FuzzCompressedFrames.
func TestCompressedFrameSeeds(t *testing.T) {
	want := []struct {
		events []string
		code   wsframe.StatusCode
	}{
		{[]string{`message op=1 "{\"op\":\"ping\",\"id\":1}"`}, 0},
		{[]string{`message op=1 "{\"op\":\"ping\",\"id\":1}"`}, 0},
		{nil, wsframe.StatusProtocolError},
		{nil, wsframe.StatusMessageTooBig},
		{nil, wsframe.StatusInvalidFramePayloadData},
		{nil, wsframe.StatusInvalidFramePayloadData},
		{[]string{`message op=1 "plain"`}, 0},
		{nil, wsframe.StatusProtocolError},
		{[]string{`message op=1 ""`}, 0},
	}
	for i, seed := range compressedSeeds(t) {
		events, code := parseChunks(seed, nil, true)
		if !slices.Equal(events, want[i].events) || code != want[i].code {
			t.Errorf("seed %d: %q close %d, want %q close %d", i, events, code, want[i].events, want[i].code)
		}
	}
}

// zclientFrame is clientFrame with RSV1, the permessage-deflate bit.
func zclientFrame(fin bool, op wsframe.OpCode, payload []byte) []byte {
	return wsframe.AppendFrame(nil, wsframe.Header{Fin: fin, Rsv: wsframe.Rsv1, Op: op, Masked: true, Mask: [4]byte{0x37, 0xfa, 0x21, 0x3d}}, payload)
}

func compressedSeeds(tb testing.TB) [][]byte {
	ping := testutil.Deflate(tb, []byte(`{"op":"ping","id":1}`), flate.BestCompression)
	return [][]byte{
		zclientFrame(true, wsframe.OpText, ping),
		slices.Concat(zclientFrame(false, wsframe.OpText, ping[:4]), clientFrame(true, wsframe.OpContinuation, ping[4:])),
		slices.Concat(zclientFrame(false, wsframe.OpText, ping[:4]), zclientFrame(true, wsframe.OpContinuation, ping[4:])),
		zclientFrame(true, wsframe.OpText, testutil.Deflate(tb, make([]byte, 4*fuzzMax), flate.BestCompression)), // a small bomb
		zclientFrame(true, wsframe.OpText, []byte{0xff, 0xff, 0xff}),                                             // not DEFLATE
		zclientFrame(true, wsframe.OpText, testutil.Deflate(tb, []byte{0xff, 0xfe}, flate.BestCompression)),      // not UTF-8 once inflated
		clientFrame(true, wsframe.OpText, []byte("plain")),
		zclientFrame(true, wsframe.OpPing, nil), // RSV1 on a control frame
		zclientFrame(true, wsframe.OpText, nil),
	}
}
