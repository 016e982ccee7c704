package candle_test

import (
	"context"
	"fmt"
	"time"

	"github.com/shopspring/decimal"
	"github.com/tickerd/tickerd/internal/candle"
	"github.com/tickerd/tickerd/protocol"
)

// hubAndHistory stands for the hub: it prints each candle frame, and
// stores it in the history new subscribers get.
type hubAndHistory struct{ hist *candle.History }

func (p hubAndHistory) PublishCandle(c *protocol.Candle) {
	fmt.Printf("%s\n", protocol.AppendCandle(nil, c))
	p.hist.PublishCandle(c)
}

func Example() {
	hist := candle.NewHistory(candle.HistoryConfig{})
	b := candle.NewBuilder(candle.Config{
		Intervals: []protocol.Interval{protocol.Interval1m},
		Throttle:  time.Hour, // hold every change back, so the output does not depend on timing
	}, hubAndHistory{hist})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- b.Run(ctx) }()
	defer func() { cancel(); <-done }()

	start := time.Date(2025, 11, 21, 14, 30, 0, 0, time.UTC)
	for i, p := range []string{"187.10", "187.40", "187.00", "187.24", "187.30"} {
		b.PublishTrade(&protocol.Trade{
			Symbol: "AAPL", Seq: uint64(1 + i), TS: start.Add(time.Duration(i) * 20 * time.Second).UnixNano(),
			Price: decimal.RequireFromString(p), PricePrec: 2, Size: decimal.New(100, 0), Side: protocol.SideBuy,
		})
	}
	// The history holds what was sent: the last trade's change is held back.
	fmt.Printf("%s\n", hist.Message("AAPL", protocol.Interval1m))
	// Output:
	// {"type":"candle","symbol":"AAPL","interval":"1m","start":1763735400000000000,"open":"187.10","high":"187.10","low":"187.10","close":"187.10","volume":"100","trades":1,"closed":false}
	// {"type":"candle","symbol":"AAPL","interval":"1m","start":1763735400000000000,"open":"187.10","high":"187.40","low":"187.00","close":"187.00","volume":"300","trades":3,"closed":true}
	// {"type":"candle","symbol":"AAPL","interval":"1m","start":1763735460000000000,"open":"187.24","high":"187.24","low":"187.24","close":"187.24","volume":"100","trades":1,"closed":false}
	// {"type":"candles","symbol":"AAPL","interval":"1m","candles":[{"start":1763735400000000000,"open":"187.10","high":"187.40","low":"187.00","close":"187.00","volume":"300","trades":3,"closed":true},{"start":1763735460000000000,"open":"187.24","high":"187.24","low":"187.24","close":"187.24","volume":"100","trades":1,"closed":false}]}
}
