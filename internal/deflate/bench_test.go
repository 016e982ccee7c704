package deflate

import (
	"testing"

	"github.com/tickerd/tickerd/internal/wsframe"
)

// BenchmarkAppendFrame is the cost of one compressed frame per message
// kind, made into a fresh slice (one allocation: the frame) as the hub
// makes it once per update for every compressing client, in parallel as
// publishers may. %size is the frame against the plain frame.
//
//	go test ./internal/deflate -run '^$' -bench 'AppendFrame|Inflate' -benchmem
func BenchmarkAppendFrame(b *testing.B) {
	var c Compressor
	for _, m := range append(messages(b), smallMessages(b)...) {
		b.Run(m.kind, func(b *testing.B) {
			plain := wsframe.Header{Length: int64(len(m.p))}.Len() + len(m.p)
			frame, _ := c.AppendFrame(nil, wsframe.OpText, m.p)
			b.ReportAllocs()
			b.SetBytes(int64(len(m.p)))
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					c.AppendFrame(nil, wsframe.OpText, m.p)
				}
			})
			size := len(frame)
			if size == 0 {
				size = plain
			}
			b.ReportMetric(100*float64(size)/float64(plain), "%size")
		})
	}
}

// BenchmarkInflate is the cost of inflating a client message of each
// kind with a warm Inflater.
func BenchmarkInflate(b *testing.B) {
	var c Compressor
	inf := NewInflater(1 << 20)
	for _, m := range messages(b) {
		b.Run(m.kind, func(b *testing.B) {
			frame, _ := c.AppendFrame(nil, wsframe.OpText, m.p)
			f, _, _ := wsframe.Next(frame, 1<<30)
			b.ReportAllocs()
			b.SetBytes(int64(len(m.p)))
			for b.Loop() {
				if _, err := inf.Inflate(f.Payload); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkInflateBomb is the cost of refusing a 1 MB payload that
// inflates to 1 GiB, under the hub's default 64 KiB limit.
func BenchmarkInflateBomb(b *testing.B) {
	p := gigaBomb(b)
	inf := NewInflater(64 << 10)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := inf.Inflate(p); err != ErrTooBig {
			b.Fatal(err)
		}
	}
}
