package deflate

import (
	"bytes"
	stdflate "compress/flate"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/tickerd/tickerd/internal/wsframe"
)

// splitFrame returns the header and payload of the one whole frame in b.
func splitFrame(t testing.TB, b []byte) (wsframe.Header, []byte) {
	t.Helper()
	f, n, err := wsframe.Next(b, 1<<30)
	if err != nil || n != len(b) {
		t.Fatalf("not one whole frame (%d of %d bytes): %v", n, len(b), err)
	}
	return f.Header, f.Payload
}

// stdInflate inflates a message payload with compress/flate, an
// implementation independent of the one Inflater uses.
func stdInflate(p []byte) ([]byte, error) {
	r := stdflate.NewReader(io.MultiReader(bytes.NewReader(p), bytes.NewReader(readTail[:])))
	return io.ReadAll(r)
}

func TestAppendFrameRoundTrip(t *testing.T) {
	var c Compressor
	inf := NewInflater(1 << 20)
	for _, m := range messages(t) {
		for _, op := range []wsframe.OpCode{wsframe.OpText, wsframe.OpBinary} {
			prefix := []byte("kept")
			frame, ok := c.AppendFrame(prefix, op, m.p)
			if !ok {
				t.Fatalf("%s: not compressed", m.kind)
			}
			if !bytes.HasPrefix(frame, []byte("kept")) {
				t.Fatalf("%s: dst's bytes were not kept", m.kind)
			}
			h, z := splitFrame(t, frame[len(prefix):])
			if want := (wsframe.Header{Fin: true, Rsv: wsframe.Rsv1, Op: op, Length: int64(len(z))}); h != want {
				t.Errorf("%s: header %+v, want %+v", m.kind, h, want)
			}
			if len(z) >= len(m.p) {
				t.Errorf("%s: %d bytes compressed to %d", m.kind, len(m.p), len(z))
			}
			if bytes.HasSuffix(z, syncTail) {
				t.Errorf("%s: payload ends with the sync tail RFC 7692 section 7.2.1 removes", m.kind)
			}
			got, err := stdInflate(z)
			if err != nil || !bytes.Equal(got, m.p) {
				t.Errorf("%s: compress/flate inflates the payload to %d bytes, %v; want the %d-byte message", m.kind, len(got), err, len(m.p))
			}
			got, err = inf.Inflate(z)
			if err != nil || !bytes.Equal(got, m.p) {
				t.Errorf("%s: Inflater gives %d bytes, %v", m.kind, len(got), err)
			}
		}
	}
}

// Each message is compressed from a fresh window: the same message gives
// the same frame whatever was compressed before (server_no_context_takeover).
func TestAppendFrameNoContext(t *testing.T) {
	var c Compressor
	msgs := messages(t)
	first, _ := c.AppendFrame(nil, wsframe.OpText, msgs[0].p)
	for _, m := range msgs[1:] {
		c.AppendFrame(nil, wsframe.OpText, m.p)
	}
	again, _ := c.AppendFrame(nil, wsframe.OpText, msgs[0].p)
	if !bytes.Equal(first, again) {
		t.Errorf("the %s frame changed after other messages were compressed:\n% x\n% x", msgs[0].kind, first, again)
	}
}

func TestAppendFrameDeclines(t *testing.T) {
	small := []byte(`{"type":"pong","id":1,"ts":1763765608000000000}`)
	random := make([]byte, 4096)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	tests := []struct {
		name    string
		minSize int
		p       []byte
		want    bool
	}{
		{"below the default minimum", 0, small, false},
		{"at the minimum", len(messages(t)[0].p), messages(t)[0].p, true},
		{"below a set minimum", len(small) + 1, small, false},
		{"no minimum, compressible", -1, bytes.Repeat(small, 4), true},
		{"no minimum, incompressible", -1, random, false},
		{"no minimum, empty", -1, nil, false},
	}
	for _, tt := range tests {
		c := Compressor{MinSize: tt.minSize}
		dst := []byte("dst")
		got, ok := c.AppendFrame(dst, wsframe.OpText, tt.p)
		if ok != tt.want {
			t.Errorf("%s: ok = %v, want %v", tt.name, ok, tt.want)
		}
		if !ok && string(got) != "dst" {
			t.Errorf("%s: declined but dst changed to %q", tt.name, got)
		}
	}
	if DefaultMinSize <= len(small) {
		t.Errorf("DefaultMinSize %d does not leave out a %d-byte reply", DefaultMinSize, len(small))
	}
}

func TestAppendFrameConcurrent(t *testing.T) {
	var c Compressor
	msgs := messages(t)
	want := make([][]byte, len(msgs))
	for i, m := range msgs {
		want[i], _ = c.AppendFrame(nil, wsframe.OpText, m.p)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8*len(msgs))
	for g := range 8 {
		wg.Go(func() {
			for k := range 4 * len(msgs) {
				i := (g + k) % len(msgs)
				got, _ := c.AppendFrame(nil, wsframe.OpText, msgs[i].p)
				if !bytes.Equal(got, want[i]) {
					errs <- msgs[i].kind
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for kind := range errs {
		t.Errorf("%s: a concurrent call made a different frame", kind)
	}
}

// A pooled encoder does not keep the buffer of a huge message.
func TestEncoderBufferBound(t *testing.T) {
	var c Compressor
	e := c.get()
	big := make([]byte, 2*maxKeep)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range big {
		big[i] = byte(rng.Uint32())
	}
	if err := e.deflate(big); err != nil {
		t.Fatal(err)
	}
	if cap(e.out.b) <= maxKeep {
		t.Fatalf("the test message grew the buffer to %d bytes only", cap(e.out.b))
	}
	c.put(e)
	if cap(e.out.b) > maxKeep {
		t.Errorf("the pool keeps a %d-byte buffer; the bound is %d", cap(e.out.b), maxKeep)
	}
	small := c.get()
	small.out.b = make([]byte, 0, 1024)
	c.put(small)
	if cap(small.out.b) != 1024 {
		t.Errorf("a small buffer was dropped")
	}
}

func TestAppendFrameAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	var c Compressor
	for _, m := range messages(t) {
		c.AppendFrame(nil, wsframe.OpText, m.p) // warm the pool
		room := make([]byte, 0, len(m.p)+wsframe.MaxServerHeaderLen)
		if a := testing.AllocsPerRun(20, func() { c.AppendFrame(nil, wsframe.OpText, m.p) }); a != 1 {
			t.Errorf("%s: AppendFrame(nil, ...) allocates %.1f times; want 1, the frame", m.kind, a)
		}
		if a := testing.AllocsPerRun(20, func() { c.AppendFrame(room, wsframe.OpText, m.p) }); a != 0 {
			t.Errorf("%s: AppendFrame into a buffer with room allocates %.1f times; want 0", m.kind, a)
		}
	}
}

// The compression ratio of each message kind, checked against the targets
// of issue 17 (a tick near 72%, the large messages at most 35%), and of the
// market mix. The sizes depend on the simulated market and the encoders
// only, not on the machine:
//
//	go test ./internal/deflate -run TestCompressionRatio -v
func TestCompressionRatio(t *testing.T) {
	if raceEnabled {
		t.Skip("sizes do not depend on the race detector, which makes this minutes long")
	}
	var c Compressor
	limits := map[string]float64{"tick": 75, "snapshot": 75, "candles-500": 35, "book-200": 35, "symbols-1000": 35}
	for _, m := range messages(t) {
		plain := wsframe.Header{Length: int64(len(m.p))}.Len() + len(m.p)
		frame, ok := c.AppendFrame(nil, wsframe.OpText, m.p)
		if !ok {
			t.Fatalf("%s: not compressed", m.kind)
		}
		_, z := splitFrame(t, frame)
		ratio := 100 * float64(len(z)) / float64(len(m.p))
		t.Logf("%-13s %6d bytes -> %6d (%5.1f%%); frame %6d -> %6d (%5.1f%%)", m.kind, len(m.p), len(z), ratio,
			plain, len(frame), 100*float64(len(frame))/float64(plain))
		if ratio > limits[m.kind] {
			t.Errorf("%s compresses to %.1f%%; the target is %.0f%%", m.kind, ratio, limits[m.kind])
		}
	}
	for _, m := range smallMessages(t) {
		z := m.p
		if frame, ok := c.AppendFrame(nil, wsframe.OpText, m.p); ok {
			_, z = splitFrame(t, frame)
		}
		t.Logf("%-13s %6d bytes -> %6d (%5.1f%%)", m.kind, len(m.p), len(z), 100*float64(len(z))/float64(len(m.p)))
	}

	// Frames on the wire per message of the mix, plain and compressed.
	plain, zipped := map[string]int{}, map[string]int{}
	count := map[string]int{}
	for _, m := range marketMix(t) {
		p := wsframe.Header{Length: int64(len(m.p))}.Len() + len(m.p)
		z := p
		if frame, ok := c.AppendFrame(nil, wsframe.OpText, m.p); ok {
			z = len(frame)
		}
		for _, k := range []string{m.kind, ""} {
			count[k]++
			plain[k] += p
			zipped[k] += z
		}
	}
	for _, k := range []string{"tick", "trade", "book-delta-10", ""} {
		name := k
		if k == "" {
			name = "mix"
		}
		t.Logf("%-13s %5d messages: %5.1f bytes a frame plain, %5.1f compressed (%4.1f%%)", name, count[k],
			float64(plain[k])/float64(count[k]), float64(zipped[k])/float64(count[k]), 100*float64(zipped[k])/float64(plain[k]))
	}
}

// The encoder pair puts each payload with the library that compresses its
// size best: over the market mix and the other messages, compress/flate
// makes fewer bytes than klauspost below smallCut, and klauspost fewer
// from smallCut on, both overall and in the 32 bytes either side of the
// cut.
func TestEncoderChoice(t *testing.T) {
	if raceEnabled {
		t.Skip("sizes do not depend on the race detector, which makes this minutes long")
	}
	es := engines()
	sizer := func(e engine) func([]byte) int {
		w := &sink{}
		fw, reset := e.new(w)
		return func(p []byte) int {
			w.b = w.b[:0]
			reset(w)
			_, _ = fw.Write(p)
			_ = fw.Flush()
			return min(len(w.b)-len(syncTail), len(p)) // the plain frame when not smaller
		}
	}
	std, kp := sizer(engineNamed(t, es, "std-1")), sizer(engineNamed(t, es, fmt.Sprintf("kp-%d", kpLevel)))
	type band struct {
		name     string
		from, to int
	}
	bands := []band{
		{"below the cut", 0, smallCut},
		{"just below the cut", smallCut - 32, smallCut},
		{"just above the cut", smallCut, smallCut + 32},
		{"above the cut", smallCut, 1 << 30},
	}
	var c Compressor
	msgs := append(append(marketMix(t), messages(t)...), smallMessages(t)...)
	for _, b := range bands {
		var n, plain, ours, s, k int
		for _, m := range msgs {
			if len(m.p) < b.from || len(m.p) >= b.to {
				continue
			}
			n++
			plain += len(m.p)
			s += std(m.p)
			k += kp(m.p)
			z := m.p
			if frame, ok := c.AppendFrame(nil, wsframe.OpText, m.p); ok {
				_, z = splitFrame(t, frame)
			}
			ours += len(z)
		}
		if n == 0 {
			t.Fatalf("%s: no message of %d to %d bytes", b.name, b.from, b.to)
		}
		t.Logf("%-18s %5d messages: compress/flate %.1f%%, klauspost %.1f%%, Compressor %.1f%%",
			b.name, n, 100*float64(s)/float64(plain), 100*float64(k)/float64(plain), 100*float64(ours)/float64(plain))
		if best := min(s, k); b.from >= DefaultMinSize && ours > best {
			t.Errorf("%s: Compressor makes %d bytes, the better library alone %d", b.name, ours, best)
		}
	}
}

// The Compressor keeps at most maxFree idle encoders (2.2 MiB each),
// however many compressed at once, and reuses them.
func TestEncodersKeptBounded(t *testing.T) {
	var c Compressor
	held := make([]*encoder, 4*maxFree)
	for i := range held {
		held[i] = c.get()
	}
	for _, e := range held {
		c.put(e)
	}
	if n := len(c.free); n != maxFree {
		t.Errorf("%d encoders kept after %d were put back, want %d", n, len(held), maxFree)
	}
	if e := c.get(); e != held[maxFree-1] {
		t.Error("get made a new encoder while one was kept")
	}
}
