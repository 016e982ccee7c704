package tickerd

import (
	"testing"
	"time"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/internal/testutil"
)

// BenchmarkCandleStage is what the candle stage adds to each update a
// feed publishes, the next sink doing nothing: a tick passes through
// (one lock), a trade also goes into the Builder's four intervals.
//
//	go test -run '^$' -bench CandleStage -benchmem .
func BenchmarkCandleStage(b *testing.B) {
	c := newCandles(Config{})
	c.attach(feed.SinkFuncs{})
	b.Run("tick", func(b *testing.B) {
		t := testutil.Tick("AAPL", 0, "187.23")
		b.ReportAllocs()
		for b.Loop() {
			t.Seq++
			c.Publish(t)
		}
	})
	b.Run("trade", func(b *testing.B) {
		t := testutil.Trade("AAPL", 0, "187.23", "100")
		ts := t.TS
		b.ReportAllocs()
		for b.Loop() {
			t.Seq++
			t.TS = ts + int64(t.Seq)*int64(time.Millisecond) // a new 1s candle every 1,000 trades
			c.PublishTrade(t)
		}
	})
}
