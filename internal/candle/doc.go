// Package candle builds OHLCV candles from trades and keeps their recent
// history.
//
// A Builder turns a feed's trades into candles at 1s, 1m, 5m and 1h and
// publishes each change to a Publisher (the hub; feed.Sink has the
// method). A History stores what is published and serves the "candles"
// message a new subscriber gets first. A feed node wires them as
//
//	hist := candle.NewHistory(candle.HistoryConfig{})
//	b := candle.NewBuilder(candle.Config{}, pub) // pub fans out to the hub and to hist
//	go b.Run(ctx)                                 // wait for it before exiting
//	// the feed goroutine, for every trade:
//	b.PublishTrade(&trade)
//	// any goroutine, for a new subscriber:
//	msg := hist.Message("AAPL", protocol.Interval1m)
//
// and an edge, which gets the candles from another node, feeds the same
// History with PublishCandle.
//
// # Candles
//
// A candle covers the trades of one symbol whose ts falls in [start,
// start+interval), start a multiple of the interval in Unix time: open is
// the first one's price, high and low the extremes, close the last price,
// volume the sum of sizes and trades their count, in arrival order.
// Prices and sizes count as the wire shows them: rounded half away from
// zero to the trade's precision, which becomes the candle's. An interval
// without trades has no candle: a chart shows a gap, and the next candle
// opens at its own trade's price.
//
// A candle is published when it opens, then when it changes, at most once
// per Config.Throttle (250 ms) while it is open (the last change is never
// lost, only held back), and once more with Closed set when it ends. Its
// closed frame is final: a trade that arrives for a closed candle is late,
// is left out, and is counted in Stats.Late.
//
// # Time
//
// Candles close by event time. The Builder's clock is the largest trade ts
// it has seen, on any symbol; while no trade comes it runs on at
// Config.Rate times the wall clock from the last trade's arrival. A candle
// closes at the first of:
//
//   - a trade of its own symbol at or after its end;
//   - the clock passing its end by Config.Grace (500 ms).
//
// A trade is late for an interval when its ts is before the start of its
// symbol's open candle or the end of the last closed one, or when its
// candle ended at least Grace before the largest ts seen.
//
// So on a live feed a quiet symbol's candle closes as soon as any symbol
// trades Grace past its end, and Grace after its end by the wall clock
// when the whole feed is quiet. A replay of recorded trades with their own
// ts gives the same closed candles, byte for byte, at any speed: the
// trades and the event part of the clock are the same, and the wall-clock
// part never closes a candle that a later trade of the file belongs to as
// long as the clock does not run ahead of the replay by more than Grace.
// That holds when Rate is at most the replay's speed (the default 1 suits
// speed 1 or faster, including as fast as possible; a slower replay sets
// its speed) and the replay is never more than Grace late on its schedule.
//
// # Epochs
//
// A trade with a higher epoch than its symbol's (the feed's seq space
// started over) closes the symbol's open candles as they stand and starts
// fresh ones from its own trades, even in an interval that already had a
// candle: the new candle, with the same start and the new epoch, replaces
// the old one wherever candles are kept (History does so). Trades of a
// lower epoch are ignored and counted in Stats.Stale.
//
// # Goroutines
//
// PublishTrade and Delist are called from the feed's goroutine, one call
// at a time. Run is the Builder's one goroutine: it sends held-back
// changes and closes candles by the wall clock; the caller starts it and
// waits for it to return after cancelling its context. The Publisher is
// called from either of them with the Builder's lock held: never
// concurrently, always in order, and it must not call back into the
// Builder. Stats may be called from anywhere.
//
// History is safe for concurrent use. Its PublishCandle calls come in the
// order the candles were sent (from the Publisher, or from a relay of
// another node's candles); Message, Stats and Delist may be called from any
// goroutine at any time. Message returns bytes that are never modified
// afterwards: a change builds a new message on the next read.
//
// # Memory
//
// A Builder keeps about 1.1 KB per symbol: four series, each with its open
// candle and the decimals it holds, and nothing per closed candle. A
// History keeps each closed candle encoded as protocol.AppendCandleItem
// writes it (about 135 bytes for a US stock, 150 for a crypto pair) in a
// 32-byte ring slot: about 180 bytes per closed candle for a stock and 195
// for a crypto pair, so 355 to 390 KB per symbol with the default 500
// candles in all four intervals, and 90 to 100 KB for a symbol that has
// traded for ten minutes (500 1s candles and a few longer ones). A cached
// message holds the same bytes again until the next change.
//
// HistoryConfig.MaxBytes bounds the whole History (256 MiB by default):
// over it, cached messages go first, then the oldest closed candles of the
// series that has the most, so every series keeps as much history as the
// bound allows; when nothing is left to evict, new candles are dropped and
// counted. TestHistoryMemory checks the accounting against the Go heap and
// logs the figures above; TestBuilderMemory logs the Builder's:
//
//	go test ./internal/candle -run 'Memory' -v
package candle
