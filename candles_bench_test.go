package tickerd

import (
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/protocol"
)

// BenchmarkCandleStage is what the candle stage adds to each update a
// feed publishes, the next sink doing nothing: a tick passes through
// (one lock), a trade also goes into the Builder's four intervals.
//
//	go test -run '^$' -bench CandleStage -benchmem .
func BenchmarkCandleStage(b *testing.B) {
	c := newCandles(Config{})
	c.attach(feed.SinkFuncs{})
	p := decimal.New(18723, -2)
	b.Run("tick", func(b *testing.B) {
		t := &protocol.Tick{Symbol: "AAPL", Price: p, Bid: p, Ask: p, Open: p, High: p, Low: p, PricePrec: 2}
		b.ReportAllocs()
		for b.Loop() {
			t.Seq++
			c.Publish(t)
		}
	})
	b.Run("trade", func(b *testing.B) {
		t := &protocol.Trade{Symbol: "AAPL", Price: p, Size: decimal.NewFromInt(100), Side: protocol.SideBuy, PricePrec: 2}
		ts := time.Now().UnixNano()
		b.ReportAllocs()
		for b.Loop() {
			t.Seq++
			t.TS = ts + int64(t.Seq)*int64(time.Millisecond) // a new 1s candle every 1,000 trades
			c.PublishTrade(t)
		}
	})
}
