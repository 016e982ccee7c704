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
		{"trades_since", `{"op":"subscribe","channel":"trades","symbols":["AAPL","MSFT"],"since":{"AAPL":88100,"MSFT":12},"id":5}`},
		{"book", `{"op":"subscribe","channel":"book","symbols":["BTC-USD"],"depth":50,"max_rate":5,"id":9}`},
		{"search", `{"op":"search","prefix":"AA","limit":50,"id":11}`},
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

func BenchmarkParseDecimal(b *testing.B) {
	for _, in := range []struct{ name, s string }{
		{"price", "91549.30"},
		{"exponent", "1.5e-3"},
		{"digits40", "1234567890.123456789012345678901234567890"},
		{"hostile/exponent", hostileDecimals[0]},
		{"hostile/digits10000", hostileDecimals[3]},
		{"hostile/zeros1MiB", hostileDecimals[4]},
	} {
		b.Run(in.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				ParseDecimal(in.s)
			}
		})
	}
}

func BenchmarkParseFixed(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseFixed("91549.30", 8); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendFixed(b *testing.B) {
	buf := make([]byte, 0, 32)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendFixed(buf[:0], 9154930, 2)
	}
}

// BenchmarkEncoders measures the encoders of the channel messages; each
// must report 0 allocs/op.
func BenchmarkEncoders(b *testing.B) {
	for _, bm := range encoders() {
		b.Run(bm.name, func(b *testing.B) {
			buf := make([]byte, 0, 512)
			b.ReportAllocs()
			for b.Loop() {
				buf = bm.f(buf[:0])
			}
			b.SetBytes(int64(len(buf)))
		})
	}
}

func BenchmarkScanTrade(b *testing.B) {
	in := ReplayFromTrade(nil, []byte(aaplTradeJSON))
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, _, _, _, ok := ScanTrade(in); !ok {
			b.Fatal("ScanTrade failed")
		}
	}
}

func BenchmarkDecodeTrade(b *testing.B) {
	in := []byte(aaplTradeJSON)
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, _, err := DecodeTrade(in); err != nil {
			b.Fatal(err)
		}
	}
}
