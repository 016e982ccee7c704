package tickerd

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/feed/sim"
	"github.com/tickerd/tickerd/feed/source"
	"github.com/tickerd/tickerd/internal/cluster"
	"github.com/tickerd/tickerd/protocol"
)

// feedFor decides which feed the server runs; nothing else does:
//
//   - an edge runs the feed node's updates from NATS (a cluster.Edge),
//     waiting for the feed node's symbol list until ctx ends, and builds
//     no candles (c is nil);
//   - any other node runs cfg.Feed, or else the built-in feed cfg.Source
//     names, with the candle stage c building candles from its trades;
//     a feed node (roles feed and both) publishes both to NATS through a
//     cluster.Publisher, the candle stage in front of it.
func feedFor(ctx context.Context, cfg Config, n *natsNode) (f feed.Feed, c *candles, err error) {
	if n != nil && cfg.Cluster.Role == RoleEdge {
		f, err = n.edge(ctx)
		return f, nil, err
	}
	if f = cfg.Feed; f == nil {
		if f, err = builtinFeed(cfg); err != nil {
			return nil, nil, err
		}
	}
	c = newCandles(cfg)
	if n == nil {
		return f, c, nil
	}
	if f, err = n.publisher(candleFeed{Feed: f, c: c}); err != nil {
		return nil, nil, err
	}
	return f, c, nil
}

// builtinFeed opens the feed cfg.Source names.
func builtinFeed(cfg Config) (feed.Feed, error) {
	if cfg.Source != "idle" {
		return source.Open(cfg.Source, source.Options{
			Sim: cfg.Sim, Replay: cfg.Replay, Coinbase: cfg.Coinbase, Logger: cfg.Logger,
		})
	}
	m, err := sim.New(cfg.Sim) // the simulator checks Sim.Symbols
	if err != nil {
		return nil, err
	}
	return idleFeed{syms: m.Symbols()}, nil
}

// idleFeed is the simulated market's symbols with no updates.
type idleFeed struct{ syms []feed.Symbol }

func (f idleFeed) Symbols() []feed.Symbol { return f.syms }

// Run publishes nothing until ctx is done.
func (idleFeed) Run(ctx context.Context, _ feed.Sink) error {
	<-ctx.Done()
	return nil
}

// feedRunner runs a feed until its context ends, and runs it again after
// a panic on the goroutine that called Run, with exponential backoff.
// A feed that returns is not run again: nil means its input ended (a
// replay), an error that it failed for good.
type feedRunner struct {
	// Static after construction.
	feed        feed.Feed
	sink        feed.Sink
	log         *slog.Logger
	first, most time.Duration // the first wait before a restart, and the longest

	down   atomic.Pointer[string] // why the feed is not running; nil while it runs
	panics atomic.Uint64          // panics recovered
}

// run is the feed's goroutine; it returns when ctx ends or the feed
// returned.
func (r *feedRunner) run(ctx context.Context) {
	delay := r.first
	for {
		r.down.Store(nil)
		start := time.Now()
		p, err := r.once(ctx)
		if p == nil {
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				r.log.Error("feed stopped", "err", err) // before /readyz says so
				r.setDown("feed stopped: " + err.Error())
				return
			}
			r.log.Info("feed finished: no more updates; serving the last state")
			return
		}
		n := r.panics.Add(1)
		if time.Since(start) > r.most {
			delay = r.first // it ran well for a while: this is a new series
		}
		r.setDown(fmt.Sprintf("feed panicked: %v; restarting in %v", p.value, delay))
		r.log.Error("feed panicked; restarting it", "panic", fmt.Sprint(p.value), "restart_in", delay,
			"panics", n, "stack", string(p.stack))
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		delay = min(2*delay, r.most)
	}
}

type panicked struct {
	value any
	stack []byte
}

// once runs the feed once, turning a panic into p.
func (r *feedRunner) once(ctx context.Context) (p *panicked, err error) {
	defer func() {
		if v := recover(); v != nil {
			p = &panicked{value: v, stack: debug.Stack()}
		}
	}()
	return nil, r.feed.Run(ctx, r.sink)
}

func (r *feedRunner) setDown(why string) { r.down.Store(&why) }

// why returns why the feed is not running, "" while it runs.
func (r *feedRunner) why() string {
	if p := r.down.Load(); p != nil {
		return *p
	}
	return ""
}

// tee publishes to two sinks in turn.
type tee struct{ a, b feed.Sink }

func (t tee) Publish(tk *protocol.Tick) {
	t.a.Publish(tk)
	t.b.Publish(tk)
}

func (t tee) PublishTrade(tr *protocol.Trade) {
	t.a.PublishTrade(tr)
	t.b.PublishTrade(tr)
}

func (t tee) PublishBook(b *protocol.BookUpdate) {
	t.a.PublishBook(b)
	t.b.PublishBook(b)
}

func (t tee) PublishCandle(c *protocol.Candle) {
	t.a.PublishCandle(c)
	t.b.PublishCandle(c)
}

func (t tee) List(syms []feed.Symbol) {
	t.a.List(syms)
	t.b.List(syms)
}

func (t tee) Delist(names []string) {
	t.a.Delist(names)
	t.b.Delist(names)
}

// DropBook hands a cluster.Edge's DropBook on to the sinks that take it
// (the hub; see hub.Hub.DropBook).
func (t tee) DropBook(symbol string) {
	for _, s := range [...]feed.Sink{t.a, t.b} {
		if d, ok := s.(interface{ DropBook(string) }); ok {
			d.DropBook(symbol)
		}
	}
}

// Compile-time checks: the cluster types are feeds.
var (
	_ feed.Feed = (*cluster.Publisher)(nil)
	_ feed.Feed = (*cluster.Edge)(nil)
)
