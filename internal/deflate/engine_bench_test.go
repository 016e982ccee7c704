package deflate

import (
	stdflate "compress/flate"
	"fmt"
	"testing"

	kpflate "github.com/klauspost/compress/flate"
)

// sink is the io.Writer the engines write to, reused between messages.
type sink struct{ b []byte }

func (s *sink) Write(p []byte) (int, error) { s.b = append(s.b, p...); return len(p), nil }

// engine is one DEFLATE library at one level, used as Compressor uses its
// encoders: Reset per message (no context takeover), Write, Flush.
type engine struct {
	name string
	new  func(w *sink) (fw flusher, reset func(*sink))
}

type flusher interface {
	Write([]byte) (int, error)
	Flush() error
}

// engines are the candidates: compress/flate ("std") and
// klauspost/compress/flate ("kp") at Huffman-only (-2) and the levels
// worth a look.
func engines() []engine {
	var es []engine
	for _, l := range []int{stdflate.HuffmanOnly, 1, 2, 6, 9} {
		es = append(es, engine{fmt.Sprintf("std-%d", l), func(w *sink) (flusher, func(*sink)) {
			fw, _ := stdflate.NewWriter(w, l) // the levels above are valid
			return fw, func(w *sink) { fw.Reset(w) }
		}})
	}
	for _, l := range []int{kpflate.HuffmanOnly, 1, 2, 3, 4, 5, 6, 7, 9} {
		es = append(es, engine{fmt.Sprintf("kp-%d", l), func(w *sink) (flusher, func(*sink)) {
			fw, _ := kpflate.NewWriter(w, l)
			return fw, func(w *sink) { fw.Reset(w) }
		}})
	}
	return es
}

func engineNamed(t testing.TB, es []engine, name string) engine {
	t.Helper()
	for _, e := range es {
		if e.name == name {
			return e
		}
	}
	t.Fatalf("no engine %s", name)
	return engine{}
}

// BenchmarkEngines compresses each message kind with each candidate and
// reports its cost and the compressed size in percent of the message: the
// measurements behind kpLevel and smallCut.
//
//	go test ./internal/deflate -run '^$' -bench Engines
func BenchmarkEngines(b *testing.B) {
	msgs := append(messages(b), smallMessages(b)...)
	for _, m := range msgs {
		for _, e := range engines() {
			b.Run(m.kind+"/"+e.name, func(b *testing.B) {
				w := &sink{}
				fw, reset := e.new(w)
				b.ReportAllocs()
				b.SetBytes(int64(len(m.p)))
				for b.Loop() {
					w.b = w.b[:0]
					reset(w)
					_, _ = fw.Write(m.p)
					_ = fw.Flush()
				}
				b.ReportMetric(float64(len(w.b)-len(syncTail))/float64(len(m.p))*100, "%size")
			})
		}
	}
}
