package protocol

import (
	"testing"
)

func BenchmarkAppendTick(b *testing.B) {
	tk := aapl()
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendTick(buf[:0], tk)
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkDecodeRequest(b *testing.B) {
	reqs := []struct{ name, in string }{
		{"ping", `{"op":"ping","id":4}`},
		{"subscribe2", `{"op":"subscribe","symbols":["AAPL","BTC-USD"],"id":1}`},
		{"subscribe100", `{"op":"subscribe","symbols":[` + symbolList(100) + `],"id":1}`},
	}
	for _, r := range reqs {
		b.Run(r.name, func(b *testing.B) {
			in := []byte(r.in)
			b.ReportAllocs()
			b.SetBytes(int64(len(in)))
			for b.Loop() {
				if _, err := DecodeRequest(in, Limits{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkScanTick(b *testing.B) {
	in := []byte(aaplJSON)
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, _, _, _, ok := ScanTick(in); !ok {
			b.Fatal("ScanTick failed")
		}
	}
}

func BenchmarkDecodeTick(b *testing.B) {
	in := []byte(aaplJSON)
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, _, err := DecodeTick(in); err != nil {
			b.Fatal(err)
		}
	}
}
