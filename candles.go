package tickerd

import (
	"context"
	"strings"
	"sync"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/internal/candle"
	"github.com/tickerd/tickerd/protocol"
)

// candles builds the candles of a feed's trades on a node that runs a
// feed (a single node or a feed node; an edge gets them from NATS). It is
// the sink the feed publishes into: it hands everything on to the next
// sink, and each trade also to its Builder, whose candles go to the next
// sink as well. On a feed node the next sink is the cluster Publisher's,
// so the candles go to NATS like the trades.
//
// The feed publishes from its goroutine and the Builder from its own (Run
// closes the candles of quiet symbols), so mu keeps the next sink's calls
// one at a time, as feed.Sink promises. Lock order: the Builder's lock,
// then mu; a trade is handed to the Builder after mu is released.
type candles struct {
	b *candle.Builder // static after newCandles

	mu   sync.Mutex
	next feed.Sink // guarded by mu; nil while no feed runs into it
}

// newCandles returns the candle stage for a feed configured by cfg.
func newCandles(cfg Config) *candles {
	c := &candles{}
	c.b = candle.NewBuilder(candle.Config{Rate: candleRate(cfg)}, c)
	return c
}

// candleRate is how fast the Builder's clock runs between trades: the
// replay's speed when it keeps the file's ts and plays slower than real
// time, else 1 (see package candle, Time).
func candleRate(cfg Config) float64 {
	if cfg.Feed == nil && strings.HasPrefix(cfg.Source, "replay:") && cfg.Replay.KeepTS &&
		cfg.Replay.Speed > 0 && cfg.Replay.Speed < 1 {
		return cfg.Replay.Speed
	}
	return 1
}

// attach makes next the sink everything goes to; nil drops it all (the
// Builder keeps its state).
func (c *candles) attach(next feed.Sink) {
	c.mu.Lock()
	c.next = next
	c.mu.Unlock()
}

// run is the Builder's goroutine: it closes the candles of quiet symbols
// and sends held-back changes until ctx is done.
func (c *candles) run(ctx context.Context) { _ = c.b.Run(ctx) } // its only error: already running

// Publish hands the tick on.
func (c *candles) Publish(t *protocol.Tick) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.next != nil {
		c.next.Publish(t)
	}
}

// PublishBook hands the book update on.
func (c *candles) PublishBook(b *protocol.BookUpdate) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.next != nil {
		c.next.PublishBook(b)
	}
}

// PublishCandle hands on a candle: one of the Builder's, or one the feed
// made itself.
func (c *candles) PublishCandle(cd *protocol.Candle) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.next != nil {
		c.next.PublishCandle(cd)
	}
}

// List hands the listing on.
func (c *candles) List(syms []feed.Symbol) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.next != nil {
		c.next.List(syms)
	}
}

// PublishTrade hands the trade on, then adds it to its candles: a candle's
// frame never comes before the trade that made it.
func (c *candles) PublishTrade(t *protocol.Trade) {
	c.handTrade(t)
	c.b.PublishTrade(t) // after mu is released: the Builder publishes through it
}

func (c *candles) handTrade(t *protocol.Trade) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.next != nil {
		c.next.PublishTrade(t)
	}
}

// Delist drops the symbols' open candles without a frame, then hands the
// delisting on.
func (c *candles) Delist(names []string) {
	c.b.Delist(names)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.next != nil {
		c.next.Delist(names)
	}
}

// candleFeed runs a feed into its candle stage, for a feed node: the
// cluster Publisher wraps it and runs it into the Publisher's sink.
type candleFeed struct {
	feed.Feed
	c *candles
}

// Run runs the feed into the candle stage, whose candles go to sink while
// it runs; when a feed restarts (after a panic), candles closed between
// the two runs are dropped.
func (f candleFeed) Run(ctx context.Context, sink feed.Sink) error {
	f.c.attach(sink)
	defer f.c.attach(nil)
	return f.Feed.Run(ctx, f.c)
}

// Health reports the wrapped feed's health (feed.HealthReporter).
func (f candleFeed) Health() []feed.Health { return feed.HealthOf(f.Feed) }
