package cluster

import (
	"slices"
	"testing"
	"time"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/internal/candle"
	"github.com/tickerd/tickerd/internal/testutil"
	"github.com/tickerd/tickerd/protocol"
)

// TestPublisherForwards checks that the feed node's own sink gets every
// kind of update the feed publishes, placed in the run's seq space.
func TestPublisherForwards(t *testing.T) {
	srv := startSingle(t)
	f := newScripted("AAPL", "MSFT")
	tr := startTrio(t, srv, testCfg, f)
	epoch := tr.pub.epoch.Load()
	if epoch == 0 {
		t.Fatal("the run has no epoch")
	}
	f.Do(t, func(s feed.Sink) {
		tk := testTick("AAPL", 1, 10000)
		s.Publish(&tk)
		td := testTrade("AAPL", 1)
		s.PublishTrade(&td)
		b := protocol.BookUpdate{Symbol: "AAPL", Seq: 1, Snapshot: true, PricePrec: 2,
			Bids: []protocol.Level{{Price: 9999, Size: 5}}, Asks: []protocol.Level{{Price: 10001, Size: 3}}}
		s.PublishBook(&b)
		c := testCandle("AAPL", protocol.Interval1m, 0, false, 100)
		s.PublishCandle(&c)
		s.List([]feed.Symbol{testSymbol("NEWCO")})
		s.Delist([]string{"MSFT"})
		unknown := testTick("NOPE", 1, 1)
		s.Publish(&unknown)
	})
	l := tr.local
	if got := l.tickList("AAPL"); len(got) != 1 || got[0].epoch != epoch || got[0].seq != 1 {
		t.Errorf("local ticks %+v, want one of epoch %d seq 1", got, epoch)
	}
	if got := l.tickList("NOPE"); len(got) != 1 {
		t.Errorf("local sink got %d ticks of an unknown symbol, want it passed on (the hub counts it)", len(got))
	}
	if got := l.tradeList("AAPL"); len(got) != 1 || got[0].Epoch != epoch {
		t.Errorf("local trades %+v, want one of epoch %d", got, epoch)
	}
	if got := l.bookList("AAPL"); len(got) != 1 || got[0].Epoch != epoch || !got[0].Snapshot || len(got[0].Bids) != 1 {
		t.Errorf("local books %+v, want the snapshot in epoch %d", got, epoch)
	}
	if got := l.candleList(); len(got) != 1 || got[0].Epoch != epoch {
		t.Errorf("local candles %+v, want one of epoch %d", got, epoch)
	}
	if listed, delisted := l.listings(); !slices.Equal(listed, []string{"NEWCO"}) || !slices.Equal(delisted, []string{"MSFT"}) {
		t.Errorf("local listings %v, delistings %v, want [NEWCO], [MSFT]", listed, delisted)
	}
}

// TestTradesMirrored checks that an edge that starts late gets the trade
// history the stream keeps (the last TradeHistory per symbol), in order,
// then live trades, each the same as the feed node's own sink got, without
// watching anything.
func TestTradesMirrored(t *testing.T) {
	cfg := testCfg
	cfg.TradeHistory = 50
	srv := startSingle(t)
	f := newScripted("AAPL", "MSFT")
	tr := startTrio(t, srv, cfg, f)
	f.Do(t, func(s feed.Sink) {
		for seq := uint64(1); seq <= 80; seq++ {
			td := testTrade("AAPL", seq)
			s.PublishTrade(&td)
		}
		for seq := uint64(1); seq <= 10; seq++ {
			td := testTrade("MSFT", seq)
			s.PublishTrade(&td)
		}
	})
	probe := dialNATS(t, srv, "probe")
	testutil.WaitFor(t, 5*time.Second, "the last 50 AAPL trades in the stream (TradeHistory)", func() bool {
		return subjectCount(t, probe, "tickerd_trades", "tickerd.trade.AAPL") == 50 &&
			subjectCount(t, probe, "tickerd_trades", "tickerd.trade.MSFT") == 10
	})
	e, sink, _ := startTestEdge(t, srv, cfg)
	testutil.WaitFor(t, 5*time.Second, "the trade history at the edge", func() bool {
		return len(sink.tradeList("AAPL")) >= 50 && len(sink.tradeList("MSFT")) >= 10
	})
	f.Do(t, func(s feed.Sink) {
		for seq := uint64(81); seq <= 85; seq++ {
			td := testTrade("AAPL", seq)
			s.PublishTrade(&td)
		}
	})
	testutil.WaitFor(t, 5*time.Second, "live trades at the edge", func() bool { return len(sink.tradeList("AAPL")) >= 55 })
	if got, want := seqsOf(sink.tradeList("AAPL")), testutil.SeqRange(31, 85); !slices.Equal(got, want) {
		t.Errorf("AAPL trade seqs at the edge %v, want %v", got, want)
	}
	if got, want := seqsOf(sink.tradeList("MSFT")), testutil.SeqRange(1, 10); !slices.Equal(got, want) {
		t.Errorf("MSFT trade seqs at the edge %v, want %v", got, want)
	}
	local := map[uint64]protocol.Trade{}
	for _, td := range tr.local.tradeList("AAPL") {
		local[td.Seq] = td
	}
	for _, td := range sink.tradeList("AAPL") {
		want := local[td.Seq]
		if got, w := protocol.AppendTrade(nil, &td), protocol.AppendTrade(nil, &want); string(got) != string(w) || td.Epoch != want.Epoch {
			t.Errorf("trade seq %d: edge %s epoch %d, feed node %s epoch %d", td.Seq, got, td.Epoch, w, want.Epoch)
		}
	}
	if e.Watching() != 0 {
		t.Errorf("the edge subscribed to %d symbols for trades, want 0: trades are mirrored", e.Watching())
	}
}

// TestCandlesMirrored checks that an edge gets the closed candles the
// stream keeps and the open one, in order, so a candle history on the edge
// serves the same message as one on the feed node.
func TestCandlesMirrored(t *testing.T) {
	cfg := testCfg
	cfg.CandleHistory = 5
	srv := startSingle(t)
	f := newScripted("AAPL")
	tr := startTrio(t, srv, cfg, f)
	const minute = int64(60e9)
	f.Do(t, func(s feed.Sink) {
		for i := range int64(8) {
			for _, px := range []int64{100 + i, 101 + i} {
				c := testCandle("AAPL", protocol.Interval1m, i*minute, false, px)
				s.PublishCandle(&c)
			}
			c := testCandle("AAPL", protocol.Interval1m, i*minute, true, 101+i)
			s.PublishCandle(&c)
		}
		c := testCandle("AAPL", protocol.Interval1m, 8*minute, false, 120)
		s.PublishCandle(&c)
	})
	probe := dialNATS(t, srv, "probe")
	testutil.WaitFor(t, 5*time.Second, "the 25 candle messages in the stream", func() bool {
		return streamLastSeq(t, probe, "tickerd_candles") == 25
	})
	closed := subjectCount(t, probe, "tickerd_candles", "tickerd.candle.AAPL.1m.closed")
	open := subjectCount(t, probe, "tickerd_candles", "tickerd.candle.AAPL.1m.open")
	if closed != 5 || open != 1 {
		t.Errorf("the stream keeps %d closed and %d open candles, want 5 (CandleHistory) and 1", closed, open)
	}
	_, sink, _ := startTestEdge(t, srv, cfg)
	testutil.WaitFor(t, 5*time.Second, "the candles at the edge", func() bool { return len(sink.candleList()) >= 6 })
	type key struct {
		start  int64
		closed bool
	}
	var got []key
	for _, c := range sink.candleList() {
		got = append(got, key{c.Start / minute, c.Closed})
	}
	want := []key{{3, true}, {4, true}, {5, true}, {6, true}, {7, true}, {8, false}}
	if !slices.Equal(got, want) {
		t.Errorf("candles at the edge (start minute, closed) %v, want %v", got, want)
	}
	// A history of 5 candles on each side gives the same message.
	feedHist, edgeHist := candle.NewHistory(candle.HistoryConfig{Candles: 5}), candle.NewHistory(candle.HistoryConfig{Candles: 5})
	for _, c := range tr.local.candleList() {
		feedHist.PublishCandle(&c)
	}
	for _, c := range sink.candleList() {
		edgeHist.PublishCandle(&c)
	}
	if a, b := feedHist.Message("AAPL", protocol.Interval1m), edgeHist.Message("AAPL", protocol.Interval1m); string(a) != string(b) {
		t.Errorf("candle history on the edge:\n%s\non the feed node:\n%s", b, a)
	}
}
