// Command customfeed serves its own feed with tickerd: a random walk of two made-up symbols,
// ten updates a second. Open http://localhost:8080/ (ADDR=host:port: elsewhere); Ctrl-C drains.
package main

import (
	"context"
	"log"
	"math/rand/v2"
	"os"
	"os/signal"
	"time"

	"github.com/shopspring/decimal"
	"github.com/tickerd/tickerd"
	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/protocol"
)

var cent = decimal.New(1, -2)

type walk struct{} // the feed: tickerd calls Symbols once, then Run on a goroutine of its own

func (walk) Symbols() []feed.Symbol {
	return []feed.Symbol{{Name: "ACME", PricePrec: 2, TickSize: cent}, {Name: "INIT", PricePrec: 2, TickSize: cent}}
}

func (w walk) Run(ctx context.Context, sink feed.Sink) error {
	var ticks []protocol.Tick
	for _, s := range w.Symbols() {
		p := decimal.NewFromInt(100)
		ticks = append(ticks, protocol.Tick{Symbol: s.Name, PricePrec: 2, Price: p, Open: p, High: p, Low: p})
	}
	every := time.NewTicker(100 * time.Millisecond)
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-every.C:
			t := &ticks[rand.IntN(len(ticks))]
			t.Price = t.Price.Add(cent.Mul(decimal.NewFromInt(rand.Int64N(21) - 10)))
			t.Bid, t.Ask = t.Price.Sub(cent), t.Price.Add(cent)
			t.High, t.Low = decimal.Max(t.High, t.Price), decimal.Min(t.Low, t.Price)
			t.Seq, t.TS, t.Volume = t.Seq+1, now.UnixNano(), t.Volume.Add(decimal.NewFromInt(100))
			sink.Publish(t) // seq +1 per update; the hub encodes t once for every subscriber
		}
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	srv, err := tickerd.New(tickerd.Config{Feed: walk{}, Addr: os.Getenv("ADDR")})
	if err == nil {
		err = srv.ListenAndServe(ctx) // until ctx ends, then a graceful drain
	}
	if err != nil {
		log.Fatal(err)
	}
}
