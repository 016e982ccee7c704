package deflate

import (
	"bytes"
	stdflate "compress/flate"
	"io"
	"testing"

	"github.com/tickerd/tickerd/internal/testutil"
	"github.com/tickerd/tickerd/internal/wsframe"
)

// FuzzInflate feeds arbitrary payloads to an Inflater and checks each
// answer against compress/flate, an independent decoder: a message it
// returns is what compress/flate reads from the same stream, within the
// limit; ErrTooBig means compress/flate reads past the limit or finds
// the stream corrupt (the two decoders notice some corrupt streams at
// different points: klauspost's may inflate past the limit first, and the
// connection fails either way, with 1009 rather than 1007); nothing else
// comes out, and nothing panics. The Inflater is reused across the
// three calls, as a reader reuses it across connections.
func FuzzInflate(f *testing.F) {
	for _, p := range [][]byte{rfcHello, rfcStored, rfcBFinal, rfcTwoBlocks, rfcEmptyMessage, rfcHelloAgain, {0x06, 0x00}, nil} {
		f.Add(p, uint16(1024))
	}
	f.Add(testutil.Deflate(f, bytes.Repeat([]byte{'a'}, 5000), 6), uint16(1000))
	f.Fuzz(func(t *testing.T, p []byte, limit uint16) {
		inf := NewInflater(int(limit))
		for range 3 {
			got, err := inf.Inflate(p)
			want, wantErr := io.ReadAll(io.LimitReader(stdflate.NewReader(io.MultiReader(bytes.NewReader(p), bytes.NewReader(readTail[:]))), int64(limit)+1))
			switch {
			case len(p) == 0:
				if err != nil || len(got) != 0 {
					t.Fatalf("empty payload: %q, %v", got, err)
				}
			case err == nil:
				if len(got) > int(limit) {
					t.Fatalf("%d bytes returned under a limit of %d", len(got), limit)
				}
				if wantErr != nil || !bytes.Equal(got, want) {
					t.Fatalf("Inflate gives %q; compress/flate %q, %v", got, want, wantErr)
				}
			case err == ErrTooBig:
				if len(want) <= int(limit) && wantErr == nil {
					t.Fatalf("ErrTooBig, but compress/flate reads %d bytes under a limit of %d (%v)", len(want), limit, wantErr)
				}
			case err == ErrCorrupt:
				if wantErr == nil && len(want) <= int(limit) {
					t.Fatalf("ErrCorrupt, but compress/flate reads %q", want)
				}
			default:
				t.Fatalf("unexpected error %v", err)
			}
		}
	})
}

// FuzzRoundTrip compresses arbitrary messages into frames and inflates
// them back.
func FuzzRoundTrip(f *testing.F) {
	for _, s := range []string{"", "Hello", `{"type":"tick","symbol":"AAPL","seq":15104,"price":"268.38","bid":"268.36","ask":"268.39","open":"268.50","high":"270.33","low":"266.62","volume":"22502822","ts":1763765608000000000}`} {
		f.Add([]byte(s), false)
	}
	f.Add(bytes.Repeat([]byte("0123456789"), 100), true)
	c := Compressor{MinSize: -1}
	f.Fuzz(func(t *testing.T, p []byte, binary bool) {
		op := wsframe.OpText
		if binary {
			op = wsframe.OpBinary
		}
		frame, ok := c.AppendFrame(nil, op, p)
		if !ok {
			if len(frame) != 0 {
				t.Fatalf("declined but appended %d bytes", len(frame))
			}
			return
		}
		fr, n, err := wsframe.Next(frame, int64(len(frame)))
		if err != nil || n != len(frame) {
			t.Fatalf("not one frame: %d of %d bytes, %v", n, len(frame), err)
		}
		if !fr.Fin || fr.Rsv != wsframe.Rsv1 || fr.Op != op || fr.Masked || len(fr.Payload) >= len(p) {
			t.Fatalf("frame %+v for %d bytes", fr.Header, len(p))
		}
		got, err := NewInflater(len(p)).Inflate(fr.Payload)
		if err != nil || !bytes.Equal(got, p) {
			t.Fatalf("round trip: %q, %v; want %q", got, err, p)
		}
	})
}
