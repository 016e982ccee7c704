// Package feed is where ticks come from.
package feed

import (
	"context"

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

// Sink receives updates from a feed. Publish is called from the feed's own
// goroutine, one call at a time; t is only valid until Publish returns.
// Publish never blocks for long: the hub encodes and queues.
type Sink interface {
	Publish(t *protocol.Tick)
}

// Feed is a source of ticks. Symbols is called once before Run and declares
// every symbol the feed will publish. Run publishes into sink until ctx is
// done or the source fails for good, and returns nil when ctx ended it.
type Feed interface {
	Symbols() []Symbol
	Run(ctx context.Context, sink Sink) error
}

// Watcher is implemented by a feed that can follow only the symbols
// clients watch (subscribing upstream to just those). The hub calls Watch
// when a symbol gains its first subscriber (watched=true) and when it
// loses its last, from its own goroutines: Watch must not block.
type Watcher interface {
	Watch(symbol string, watched bool)
}
