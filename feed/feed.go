// Package feed is where ticks come from: the contract between a market-data
// source and the hub that fans its updates out to clients.
//
// A feed is one small Go type. It declares its symbols, each with the
// decimal precision its prices and volume travel with, and then publishes
// every update as a full protocol.Tick into a Sink:
//
//	type Feed interface {
//		Symbols() []Symbol                         // called once, before Run
//		Run(ctx context.Context, sink Sink) error  // publish until ctx is done
//	}
//
// Rules for Run: publish from one goroutine (the one Run is called on, or
// one it owns and waits for), one call at a time; the *protocol.Tick is only
// borrowed for the duration of Publish, so reuse one value; Seq is per
// symbol and grows by one per update; TS is the event time in Unix
// nanoseconds. Return nil when ctx ends, or when the source is exhausted
// (a replay that reached its end); return an error only when the source
// failed for good. A network adapter reconnects on its own and does not
// return on transient errors.
//
// Two optional interfaces add what a live source needs:
//
//   - HealthReporter: the feed says whether it is connected, when it last
//     published, how often it reconnected and how many upstream gaps it saw
//     (for /readyz, through CheckHealth, and for metrics).
//   - Watcher: the hub tells the feed which symbols clients are watching, so
//     an adapter can subscribe upstream only to those.
//
// Implementations in this module: feed/sim (a deterministic simulated
// market), feed/replay (recorded NDJSON or CSV ticks, and a Recorder),
// feed/coinbase (Coinbase Exchange quotes, trades and books), and feed/source,
// which opens any of them from a spec string such as "replay:FILE".
package feed

import (
	"context"
	"fmt"
	"time"

	"github.com/shopspring/decimal"
	"github.com/tickerd/tickerd/protocol"
)

// Symbol describes one instrument a feed publishes.
type Symbol struct {
	Name       string          // wire name, e.g. "AAPL", "BTC-USD", "EUR/USD"
	Class      string          // "equity", "crypto", "fx", or a feed's own
	PricePrec  int32           // decimal places of prices on the wire
	VolumePrec int32           // decimal places of volume on the wire
	TickSize   decimal.Decimal // smallest price increment
}

// Sink receives what a feed publishes. The server's hub is the sink; a
// cluster publisher, a recorder or a candle builder may stand in front of
// it. Every method is called from the feed's one publishing goroutine, one
// call at a time; its argument is only borrowed until the call returns, so
// a feed reuses one value. No method blocks for long: the hub encodes and
// queues, and never waits for a client.
type Sink interface {
	// Publish publishes a quote: the full state of a symbol after an
	// update (the "quotes" channel).
	Publish(t *protocol.Tick)
	// PublishTrade publishes one trade (the "trades" channel). Trade seqs
	// are per symbol and contiguous.
	PublishTrade(t *protocol.Trade)
	// PublishBook publishes an order-book snapshot or level changes (the
	// "book" channel).
	PublishBook(b *protocol.BookUpdate)
	// PublishCandle publishes a candle built elsewhere. Feeds normally
	// leave candles to the server, which builds them from trades; a relay
	// of another node's candles (an edge) publishes them here.
	PublishCandle(c *protocol.Candle)
	// List adds symbols while the feed runs (a new listing); a symbol
	// already listed is updated. Delist removes symbols: their
	// subscribers are told and unsubscribed.
	List(syms []Symbol)
	Delist(names []string)
}

// SinkFuncs adapts functions to a Sink, as http.HandlerFunc adapts one to
// a Handler. A nil field drops what it would receive: tests and small
// tools set only the kinds they care about.
//
//	sink := feed.SinkFuncs{Tick: func(t *protocol.Tick) { fmt.Println(t.Symbol, t.Price) }}
type SinkFuncs struct {
	Tick     func(*protocol.Tick)
	Trade    func(*protocol.Trade)
	Book     func(*protocol.BookUpdate)
	Candle   func(*protocol.Candle)
	Listed   func([]Symbol)
	Delisted func([]string)
}

// Publish calls f.Tick.
func (f SinkFuncs) Publish(t *protocol.Tick) {
	if f.Tick != nil {
		f.Tick(t)
	}
}

// PublishTrade calls f.Trade.
func (f SinkFuncs) PublishTrade(t *protocol.Trade) {
	if f.Trade != nil {
		f.Trade(t)
	}
}

// PublishBook calls f.Book.
func (f SinkFuncs) PublishBook(b *protocol.BookUpdate) {
	if f.Book != nil {
		f.Book(b)
	}
}

// PublishCandle calls f.Candle.
func (f SinkFuncs) PublishCandle(c *protocol.Candle) {
	if f.Candle != nil {
		f.Candle(c)
	}
}

// List calls f.Listed.
func (f SinkFuncs) List(syms []Symbol) {
	if f.Listed != nil {
		f.Listed(syms)
	}
}

// Delist calls f.Delisted.
func (f SinkFuncs) Delist(names []string) {
	if f.Delisted != nil {
		f.Delisted(names)
	}
}

// Feed is a source of ticks. Symbols is called once before Run and declares
// every symbol the feed will publish. Run publishes into sink until ctx is
// done or the source fails for good, and returns nil when ctx ended it.
type Feed interface {
	Symbols() []Symbol
	Run(ctx context.Context, sink Sink) error
}

// Health is the state of one upstream source of a feed.
type Health struct {
	Source     string    // e.g. "sim", "replay:ticks.ndjson", "coinbase"
	Connected  bool      // the source is up (connected, or playing)
	LastUpdate time.Time // when the feed last published from this source; zero if never
	Reconnects uint64    // connections lost and re-established since start
	Gaps       uint64    // upstream updates known to be missed
	Resyncs    uint64    // order books re-fetched whole after an inconsistency
	Rejected   uint64    // upstream messages rejected as malformed (logged, skipped)
	Err        string    // the last error, "" if none
}

// HealthReporter is implemented by feeds that can report their health.
// Health may be called from any goroutine at any time, including before and
// after Run, and must not block.
type HealthReporter interface {
	Health() []Health
}

// Watcher is implemented by feeds that want to know which symbols clients
// are watching. The hub calls Watch(symbol, true) when the first client
// subscribes to symbol and Watch(symbol, false) when the last one leaves.
// Watch is called from the hub's goroutines, possibly concurrently and
// before or during Run; it must not block (record the change and act on it
// in Run).
type Watcher interface {
	Watch(symbol string, watched bool)
}

// HealthOf returns f's health, or nil when f does not report any.
func HealthOf(f Feed) []Health {
	if h, ok := f.(HealthReporter); ok {
		return h.Health()
	}
	return nil
}

// CheckHealth returns an error naming every source of f that is down with
// an error (not Connected, Err set), or nil. A source that is not connected
// without an error is not counted: it is starting, or it has finished (a
// replay at the end of its file). Freshness (how old LastUpdate is) is left
// to the caller, who knows how quiet its market may be.
func CheckHealth(f Feed) error {
	var down []string
	for _, h := range HealthOf(f) {
		if !h.Connected && h.Err != "" {
			down = append(down, fmt.Sprintf("%s: %s", h.Source, h.Err))
		}
	}
	switch len(down) {
	case 0:
		return nil
	case 1:
		return fmt.Errorf("feed: %s", down[0])
	}
	return fmt.Errorf("feed: %d sources down: %v", len(down), down)
}
