package load

import (
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/tickerd/tickerd/bench/internal/stats"
	"github.com/tickerd/tickerd/internal/book"
	"github.com/tickerd/tickerd/internal/deflate"
	"github.com/tickerd/tickerd/internal/wsframe"
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
		r.message(c, m, len(m), false, now)
	}
	r.flush(-1)
	got, _, err := r.series.Window(0, 10)
	if err != nil {
		t.Fatal(err)
	}
	want := stats.Counters{Frames: 9, Ticks: 3, Snapshots: 1, Other: 1, Errors: 1, Jumps: 1, Merged: 1,
		Unexpected: 2, Delisted: 3, AfterDelisted: 1}
	got.Bytes, got.WireBytes, got.Negative = 0, 0, 0
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
		m := tick("AAPL", uint64(1+20*i), false)
		r.message(c, m, len(m), false, start+int64(i)*int64(200*time.Millisecond))
	}
	for i := range 5 { // MSFT: 2/s, slower than max_rate, every update
		m := tick("MSFT", uint64(1+i), false)
		r.message(c, m, len(m), false, start+int64(i)*int64(500*time.Millisecond))
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

func trade(sym string, seq uint64, replay bool) []byte {
	b := protocol.AppendTrade(nil, &protocol.Trade{Symbol: sym, Seq: seq, Price: decimal.New(18724, -2), Size: decimal.New(100, 0),
		Side: protocol.SideBuy, TS: time.Now().UnixNano(), PricePrec: 2})
	if replay {
		b = protocol.ReplayFromTrade(nil, b)
	}
	return b
}

func feed(r *reader, c *conn, msgs ...[]byte) stats.Counters {
	now := time.Now().UnixNano()
	for _, m := range msgs {
		r.message(c, m, len(m), false, now)
	}
	r.flush(-1)
	got, _, _ := r.series.Window(0, 10)
	got.Bytes, got.WireBytes, got.Negative = 0, 0, 0
	return got
}

// TestReaderTrades: trades are never merged, so a seq skipped without a
// gap notice is a hole, and a gap notice moves the tape on.
func TestReaderTrades(t *testing.T) {
	r := testReader(t, []string{"AAPL", "MSFT"}, 0)
	c := &conn{syms: []uint32{0}, last: make([]uint64, 1)}
	got := feed(r, c,
		trade("AAPL", 10, false),
		trade("AAPL", 11, false),
		trade("AAPL", 13, false), // a hole: 12 never came
		protocol.AppendGap(nil, protocol.ChannelTrades, "AAPL", 14, 20),
		trade("AAPL", 21, false),
		trade("AAPL", 21, false), // a duplicate
		protocol.AppendGap(nil, protocol.ChannelTrades, "AAPL", 25, 26), // starts late: 22..24 missed silently
		trade("AAPL", 27, true),
		trade("MSFT", 1, false), // not subscribed
	)
	want := stats.Counters{Frames: 9, Trades: 5, Replays: 1, Gaps: 2, GapMissed: 9, Holes: 2, Jumps: 1, Duplicates: 1, Unexpected: 1}
	if got != want {
		t.Errorf("counters\n got %+v\nwant %+v", got, want)
	}
	if c.last[0] != 28 {
		t.Errorf("next expected %d, want 28", c.last[0])
	}
	if _, h, _ := r.series.Window(0, 10); h.TotalCount() != 5 {
		t.Errorf("%d latencies recorded, want one per live trade (5)", h.TotalCount())
	}
}

// TestReaderStorm: a client that resumed with since 100 must get 101 first,
// the replayed trades before any live one, and no hole or duplicate.
func TestReaderStorm(t *testing.T) {
	r := testReader(t, []string{"AAPL", "MSFT", "GOOG"}, 0)
	newConn := func() *conn {
		c := &conn{syms: []uint32{0, 1, 2}, last: []uint64{101, 51, 0}}
		c.storm = &stormConn{subAt: time.Now().UnixNano(), since: []uint64{100, 50, 0},
			got: make([]bool, 3), live: make([]bool, 3), replays: make([]int, 3)}
		return c
	}
	good := newConn()
	feed(r, good, trade("AAPL", 101, true), trade("MSFT", 51, true), trade("AAPL", 102, true),
		trade("AAPL", 103, false), trade("MSFT", 52, false), trade("GOOG", 7, false))
	if st := good.storm; st.wrongFirst+st.holes+st.dups+st.outOfOrder+st.lateReplay != 0 ||
		st.replays[0] != 2 || st.replays[1] != 1 || st.lastReplay == 0 {
		t.Errorf("good resume: %+v, want no error, 2 and 1 replays", *st)
	}
	bad := newConn()
	feed(r, bad, trade("AAPL", 102, true), // 101 missing
		trade("MSFT", 51, false), trade("MSFT", 52, true), // a replay after a live trade
		trade("MSFT", 52, false),  // a duplicate
		trade("AAPL", 104, false)) // a hole
	st := bad.storm
	if st.wrongFirst != 1 || st.lateReplay != 1 || st.dups != 1 || st.holes != 1 {
		t.Errorf("bad resume: %+v, want one wrong first, late replay, duplicate and hole", *st)
	}
	gap := newConn()
	feed(r, gap, protocol.AppendGap(nil, protocol.ChannelTrades, "AAPL", 101, 150), trade("AAPL", 151, true),
		trade("MSFT", 51, true))
	if st := gap.storm; st.gaps != 1 || st.wrongFirst+st.holes+st.dups != 0 {
		t.Errorf("resume past the history: %+v, want one gap and no error", *st)
	}
}

// TestReaderBook keeps a book from a snapshot and deltas, and counts a
// checksum that does not match, a delta it cannot apply and a resync.
func TestReaderBook(t *testing.T) {
	r := testReader(t, []string{"BTC-USD"}, 0)
	c := &conn{syms: []uint32{0}, last: make([]uint64, 1), books: make([]book.Mirror, 1), slow: true}
	lv := func(p, s int64) protocol.Level { return protocol.Level{Price: p, Size: s} }
	msg := func(seq, prev uint64, bids, asks []protocol.Level, sum uint32) []byte {
		m := &protocol.BookMessage{Symbol: "BTC-USD", Depth: 10, Seq: seq, PrevSeq: prev, Snapshot: prev == 0,
			Bids: bids, Asks: asks, Checksum: sum, TS: time.Now().UnixNano(), PricePrec: 2, SizePrec: 2}
		return protocol.AppendBook(nil, m)
	}
	bids := []protocol.Level{lv(9150, 52), lv(9149, 10)}
	asks := []protocol.Level{lv(9151, 120)}
	sum1 := protocol.BookChecksum(bids, asks, 2, 2)
	bids2 := []protocol.Level{lv(9150, 60), lv(9149, 10)}
	sum2 := protocol.BookChecksum(bids2, asks, 2, 2)
	got := feed(r, c,
		msg(500, 0, bids, asks, sum1),
		msg(501, 500, []protocol.Level{lv(9150, 60)}, nil, sum2),
		msg(502, 501, []protocol.Level{lv(9149, 11)}, nil, sum2), // checksum of the book before: mismatch
		msg(503, 502, []protocol.Level{lv(9149, 12)}, nil, sum2), // after a mismatch: not counted again
		msg(600, 0, bids2, asks, sum2),                           // a resync
		msg(601, 599, []protocol.Level{lv(9149, 0)}, nil, sum2),  // prev_seq is not the book's
	)
	want := stats.Counters{Frames: 6, BookSnapshots: 2, BookDeltas: 4, Resyncs: 1, SlowSnapshots: 2, Mismatches: 1, BadBooks: 1}
	if got != want {
		t.Errorf("counters\n got %+v\nwant %+v", got, want)
	}
	if _, h, _ := r.series.Window(0, 10); h.TotalCount() != 0 {
		t.Errorf("%d latencies recorded for a slow reader, want none (its stalls make them)", h.TotalCount())
	}
}

// TestReaderDeflate: a compressed message (RSV1) is inflated on a
// connection that negotiated permessage-deflate, and refused on one that
// did not.
func TestReaderDeflate(t *testing.T) {
	r := testReader(t, []string{"AAPL"}, 0)
	r.inf = deflate.NewInflater(maxFrame)
	var comp deflate.Compressor
	msg := tick("AAPL", 7, false)
	z, ok := comp.AppendFrame(nil, wsframe.OpText, msg)
	if !ok {
		t.Fatalf("a %d-byte tick did not compress", len(msg))
	}
	plain := wsframe.AppendFrame(nil, wsframe.Header{Fin: true, Op: wsframe.OpText}, tick("AAPL", 8, false))
	c := &conn{syms: []uint32{0}, last: make([]uint64, 1), deflate: true}
	r.conns = append(r.conns, c)
	r.consume(c, append(z, plain...), time.Now().UnixNano())
	r.flush(-1)
	got, _, _ := r.series.Window(0, 10)
	if got.Ticks != 2 || got.Compressed != 1 || got.Bytes != 2*int64(len(msg)) || got.WireBytes >= got.Bytes || got.CompressedBytes >= int64(len(msg)) {
		t.Errorf("counters %+v: want 2 ticks, 1 compressed, fewer bytes on the wire than inflated", got)
	}
	if len(r.lost) != 0 {
		t.Errorf("lost %v, want none", r.lost)
	}
	off := &conn{fd: -1, slot: -1, syms: []uint32{0}, last: make([]uint64, 1)}
	r.consume(off, z, time.Now().UnixNano())
	if r.lost["protocol_error"] != 1 {
		t.Errorf("compressed frame without the extension: lost %v, want a protocol error", r.lost)
	}
}

// TestDeflateOffer: the offer the dialer makes is one the server's
// negotiation accepts.
func TestDeflateOffer(t *testing.T) {
	var n deflate.Negotiation
	if _, err := n.Negotiate(deflateOffer); err != nil || !n.Accepted() {
		t.Errorf("Negotiate(%s) = %v, accepted %v; want accepted", deflateOffer, err, n.Accepted())
	}
}
