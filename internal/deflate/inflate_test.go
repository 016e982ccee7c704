package deflate

import (
	"bytes"
	stdflate "compress/flate"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/klauspost/compress/flate"

	"github.com/tickerd/tickerd/internal/testutil"
	"github.com/tickerd/tickerd/internal/wsframe"
)

// The examples of RFC 7692 section 7.2.3, the payloads of messages that
// carry "Hello".
var (
	rfcHello        = []byte{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}                                     // 7.2.3.1
	rfcHelloAgain   = []byte{0xf2, 0x00, 0x11, 0x00, 0x00}                                                 // 7.2.3.2: refers back to the first
	rfcStored       = []byte{0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00}             // 7.2.3.3
	rfcBFinal       = []byte{0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00}                               // 7.2.3.4
	rfcTwoBlocks    = []byte{0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00} // 7.2.3.5
	rfcEmptyMessage = []byte{0x00}                                                                         // 7.2.3.6
)

func TestInflateRFCExamples(t *testing.T) {
	tests := []struct {
		name string
		p    []byte
		want string
	}{
		{"one compressed block", rfcHello, "Hello"},
		{"two frames joined", append(append([]byte(nil), rfcHello[:3]...), rfcHello[3:]...), "Hello"},
		{"stored block", rfcStored, "Hello"},
		{"BFINAL block", rfcBFinal, "Hello"},
		{"BFINAL block then junk", append(append([]byte(nil), rfcBFinal...), 0xde, 0xad), "Hello"},
		{"two blocks", rfcTwoBlocks, "Hello"},
		{"empty message", rfcEmptyMessage, ""},
		{"empty payload", nil, ""},
	}
	inf := NewInflater(1 << 10)
	for _, tt := range tests {
		got, err := inf.Inflate(tt.p)
		if err != nil || string(got) != tt.want {
			t.Errorf("%s: Inflate(% x) = %q, %v; want %q", tt.name, tt.p, got, err, tt.want)
		}
	}
}

// With client_no_context_takeover each message starts from a fresh window:
// the RFC's second message, which copies the first one's "Hello", does not
// inflate after it. compress/flate given the first as the window shows the
// message is otherwise valid.
func TestInflateFreshWindow(t *testing.T) {
	inf := NewInflater(1 << 10)
	if got, err := inf.Inflate(rfcHello); err != nil || string(got) != "Hello" {
		t.Fatalf("first message: %q, %v", got, err)
	}
	if got, err := inf.Inflate(rfcHelloAgain); err != ErrCorrupt {
		t.Errorf("second message inflated to %q, %v; want ErrCorrupt (no window from the first)", got, err)
	}
	withWindow, err := io.ReadAll(stdflate.NewReaderDict(io.MultiReader(bytes.NewReader(rfcHelloAgain), bytes.NewReader(readTail[:])), []byte("Hello")))
	if err != nil || string(withWindow) != "Hello" {
		t.Fatalf("compress/flate with the first message as window: %q, %v", withWindow, err)
	}
}

func TestInflateCorrupt(t *testing.T) {
	tests := []struct {
		name string
		p    []byte
	}{
		{"reserved block type", []byte{0x06, 0x00}},
		{"stored length mismatch", []byte{0x00, 0x05, 0x00, 0x00, 0x00, 'H'}},
		{"stored block cut short", rfcStored[:8]},
		{"distance before the start", rfcHelloAgain},
		{"bad code lengths", []byte{0x05, 0xff, 0xff, 0xff}},
		{"block cut short", rfcHello[:3]},
	}
	inf := NewInflater(1 << 10)
	for _, tt := range tests {
		if got, err := inf.Inflate(tt.p); err != ErrCorrupt {
			t.Errorf("%s: Inflate(% x) = %q, %v; want ErrCorrupt", tt.name, tt.p, got, err)
		}
		// The next message still inflates.
		if got, err := inf.Inflate(rfcHello); err != nil || string(got) != "Hello" {
			t.Errorf("after %s: Inflate(hello) = %q, %v", tt.name, got, err)
		}
	}
	if ErrCorrupt.Status != 1007 || ErrTooBig.Status != 1009 {
		t.Errorf("close codes: corrupt %d, too big %d; want 1007, 1009", ErrCorrupt.Status, ErrTooBig.Status)
	}
}

func TestInflateLimit(t *testing.T) {
	const limit = 1000
	inf := NewInflater(limit)
	for _, n := range []int{0, 1, 511, 512, 513, limit - 1, limit} {
		msg := []byte(strings.Repeat("x", n))
		got, err := inf.Inflate(testutil.Deflate(t, msg, 5))
		if err != nil || !bytes.Equal(got, msg) {
			t.Errorf("%d bytes under a limit of %d: got %d bytes, %v", n, limit, len(got), err)
		}
	}
	for _, n := range []int{limit + 1, limit + 2, 10 * limit} {
		got, err := inf.Inflate(testutil.Deflate(t, []byte(strings.Repeat("x", n)), 5))
		if err != ErrTooBig {
			t.Errorf("%d bytes under a limit of %d: got %d bytes, %v; want ErrTooBig", n, limit, len(got), err)
		}
	}
	if cap(inf.out) > limit+1 {
		t.Errorf("output buffer grew to %d bytes; the bound is %d", cap(inf.out), limit+1)
	}
	zero := NewInflater(0)
	if got, err := zero.Inflate(rfcEmptyMessage); err != nil || len(got) != 0 {
		t.Errorf("limit 0, empty message: %q, %v", got, err)
	}
	if _, err := zero.Inflate(rfcHello); err != ErrTooBig {
		t.Errorf("limit 0, hello: %v, want ErrTooBig", err)
	}
}

var (
	bombOnce sync.Once
	bomb     []byte
	bombSize = 1 << 30 // 64 MiB under the race detector, which makes it slow to build
)

// gigaBomb returns about 1 MB of DEFLATE that inflates to bombSize (1 GiB)
// of zeros.
func gigaBomb(t testing.TB) []byte {
	bombOnce.Do(func() {
		if raceEnabled {
			bombSize = 64 << 20
		}
		var b bytes.Buffer
		w, _ := flate.NewWriter(&b, flate.BestSpeed)
		zeros := make([]byte, 1<<20)
		for range bombSize / len(zeros) {
			_, _ = w.Write(zeros)
		}
		_ = w.Flush()
		bomb, _ = bytes.CutSuffix(b.Bytes(), syncTail)
	})
	return bomb
}

// A bomb stops at the limit: the output buffer never passes limit+1 bytes
// and the decompressor reads a sliver of the input.
func TestInflateBomb(t *testing.T) {
	p := gigaBomb(t)
	const limit = 64 << 10
	inf := NewInflater(limit)
	got, err := inf.Inflate(p)
	if err != ErrTooBig {
		t.Fatalf("Inflate(%d-byte bomb of %d bytes) = %d bytes, %v; want ErrTooBig", len(p), bombSize, len(got), err)
	}
	if cap(inf.out) > limit+1 {
		t.Errorf("output buffer grew to %d bytes; the bound is %d", cap(inf.out), limit+1)
	}
	if inf.in.p != nil {
		t.Error("the Inflater keeps a reference to the payload")
	}
	// How much of the bomb the decompressor read: the window it fills
	// before the output is checked is 32 KiB, so a few tens of KiB of
	// output, a sliver of the megabyte.
	in := &countingInput{input: input{p: p, tail: readTail[:]}}
	fr := flate.NewReader(in)
	n, _ := io.CopyN(io.Discard, fr, limit+1)
	if n != limit+1 || in.n > len(p)/100 {
		t.Errorf("reading %d bytes of output took %d of %d input bytes", n, in.n, len(p))
	}
	t.Logf("bomb: %d bytes inflate to %d; %d input bytes read for the first %d output bytes", len(p), bombSize, in.n, n)
}

type countingInput struct {
	input
	n int
}

func (r *countingInput) Read(b []byte) (int, error) {
	n, err := r.input.Read(b)
	r.n += n
	return n, err
}

func (r *countingInput) ReadByte() (byte, error) {
	c, err := r.input.ReadByte()
	if err == nil {
		r.n++
	}
	return c, err
}

func TestInflateAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	msgs := messages(t)
	var c Compressor
	inf := NewInflater(1 << 20)
	for _, m := range msgs {
		frame, ok := c.AppendFrame(nil, wsframe.OpText, m.p)
		if !ok {
			t.Fatalf("%s: not compressed", m.kind)
		}
		_, z := splitFrame(t, frame)
		_, _ = inf.Inflate(z) // warm: the output buffer grows once
		allocs := testing.AllocsPerRun(20, func() {
			got, err := inf.Inflate(z)
			if err != nil || !bytes.Equal(got, m.p) {
				t.Fatalf("%s: round trip failed: %v", m.kind, err)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: Inflate allocates %.1f times per call; want 0", m.kind, allocs)
		}
	}
}
