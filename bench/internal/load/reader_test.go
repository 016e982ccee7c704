package load

import (
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/tickerd/tickerd/bench/internal/stats"
	"github.com/tickerd/tickerd/protocol"
)

// TestPickerSizes checks watchlists of K to KMax symbols over a universe
// larger than 16 bits: sizes in range and spread, indexes increasing and
// distinct, the head of a zipf universe the most popular.
func TestPickerSizes(t *testing.T) {
	const n = 100_000
	p, err := NewPicker(DistZipf, n, 10, 1000, 3)
	if err != nil {
		t.Fatal(err)
	}
	var small, large, total int
	seenHigh := false
	for g := range 400 {
		syms := p.Pick(g)
		if len(syms) < 10 || len(syms) > 1000 {
			t.Fatalf("Pick(%d) has %d symbols, want 10..1000", g, len(syms))
		}
		for i := 1; i < len(syms); i++ {
			if syms[i] <= syms[i-1] {
				t.Fatalf("Pick(%d) = ...%v %v...: not increasing", g, syms[i-1], syms[i])
			}
		}
		if syms[len(syms)-1] >= 1<<16 {
			seenHigh = true
		}
		switch {
		case len(syms) < 100:
			small++
		case len(syms) >= 300:
			large++
		}
		total += len(syms)
	}
	// Log-uniform over 10..1000: half the lists below 100, a quarter
	// from 300 up, a mean of about (1000-10)/ln(100) = 215.
	if small < 150 || small > 250 || large < 60 || large > 140 {
		t.Errorf("%d lists under 100 symbols and %d of 300 or more in 400, want about 200 and 100", small, large)
	}
	if mean := total / 400; mean < 170 || mean > 260 {
		t.Errorf("mean watchlist %d symbols, want about 215", mean)
	}
	if !seenHigh {
		t.Errorf("no index above 65535 picked from a universe of %d", n)
	}
	if _, err := NewPicker(DistZipf, MaxUniverse+1, 1, 0, 0); err == nil {
		t.Errorf("NewPicker(universe %d) = nil error, want error", MaxUniverse+1)
	}
}

// testReader returns a reader whose run started a second ago, with a
// window of ten seconds from then.
func testReader(t *testing.T, names []string, maxRate float64) *reader {
	t.Helper()
	clk := &clock{}
	clk.seconds.Store(10)
	clk.to.Store(10)
	clk.t0.Store(time.Now().Add(-time.Second).UnixNano())
	idx := map[string]uint32{}
	for i, s := range names {
		idx[s] = uint32(i)
	}
	r, err := newReader(clk, names, idx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.close() })
	if maxRate > 0 {
		r.maxRate, r.pace = maxRate, newPaceStats()
	}
	return r
}

func tick(sym string, seq uint64, snapshot bool) []byte {
	t := &protocol.Tick{Symbol: sym, Seq: seq, Price: decimal.New(18724, -2), TS: time.Now().UnixNano(), PricePrec: 2}
	if snapshot {
		return protocol.AppendSnapshot(nil, t)
	}
	return protocol.AppendTick(nil, t)
}

// TestReaderDelisted feeds a reader the messages of one connection: a
// delisted notice ends its subscription, so data after it is counted as
// such, and notices for symbols it does not hold are unexpected.
func TestReaderDelisted(t *testing.T) {
	names := []string{"AAPL", "AAPL261218C00190000", "MSFT"}
	r := testReader(t, names, 0)
	c := &conn{syms: []uint32{0, 1}, last: make([]uint64, 2)}
	now := time.Now().UnixNano()
	for _, m := range [][]byte{
		tick("AAPL261218C00190000", 7, true),
		tick("AAPL261218C00190000", 8, false),
		tick("AAPL", 1, false),
		protocol.AppendDelisted(nil, "AAPL261218C00190000", now),
		tick("AAPL261218C00190000", 9, false),                    // after the notice: must not come
		protocol.AppendDelisted(nil, "AAPL261218C00190000", now), // twice
		protocol.AppendDelisted(nil, "MSFT", now),                // not subscribed
		tick("AAPL", 3, false),                                   // a jump: 2 merged
		[]byte(`{"type":"error","code":"unknown_symbol","message":"x","symbols":["ZZZZ"]}`),
	} {
		r.message(c, m, now)
	}
	r.flush(-1)
	got, _, err := r.series.Window(0, 10)
	if err != nil {
		t.Fatal(err)
	}
	want := stats.Counters{Frames: 9, Ticks: 3, Snapshots: 1, Other: 1, Errors: 1, Jumps: 1, Merged: 1,
		Unexpected: 2, Delisted: 3, AfterDelisted: 1}
	got.Bytes, got.Negative = 0, 0
	if got != want {
		t.Errorf("counters\n got %+v\nwant %+v", got, want)
	}
	if c.last[1] != ended || c.last[0] != 4 {
		t.Errorf("last = %v, want [4 ended]", c.last)
	}
}

// TestReaderPace sends one subscription a message every 200 ms and
// another one as fast as its symbol updates: both are on their pace.
func TestReaderPace(t *testing.T) {
	names := []string{"AAPL", "MSFT"}
	r := testReader(t, names, 5)
	c := &conn{syms: []uint32{0, 1}, last: make([]uint64, 2), pace: make([]subPace, 2)}
	r.conns = append(r.conns, c)
	start := time.Now().UnixNano()
	for i := range 11 { // AAPL: 5/s, every 20th update of 100/s
		r.message(c, tick("AAPL", uint64(1+20*i), false), start+int64(i)*int64(200*time.Millisecond))
	}
	for i := range 5 { // MSFT: 2/s, slower than max_rate, every update
		r.message(c, tick("MSFT", uint64(1+i), false), start+int64(i)*int64(500*time.Millisecond))
	}
	r.paces()
	w, err := r.pace.wire()
	if err != nil {
		t.Fatal(err)
	}
	s, err := MergePace([]*PaceReport{w, nil})
	if err != nil {
		t.Fatal(err)
	}
	if s.Subs != 2 || s.Within != 2 || s.Over != 0 || s.Few != 0 {
		t.Errorf("pace = %+v, want 2 subscriptions, both within 10%%", s)
	}
	if s.Rate.Min < 1.99 || s.Rate.Min > 2.01 || s.Rate.Max < 4.99 || s.Rate.Max > 5.01 {
		t.Errorf("rates %+v, want 2/s and 5/s", s.Rate)
	}
	if s.Ratio.Min < 0.999 || s.Ratio.Max > 1.001 {
		t.Errorf("ratios %+v, want 1", s.Ratio)
	}
	if s.Interval.Count != 14 || s.Interval.Max < 499 || s.Interval.Max > 501 {
		t.Errorf("intervals %+v, want 14, the longest 500 ms", s.Interval)
	}
}
