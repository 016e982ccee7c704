package sim

import (
	"testing"
	"time"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/hub"
)

// BenchmarkUniverseDay is the cost of one day boundary of a universe of
// 100,000 symbols, the bench's universe run: the expired contracts
// (11,250) delisted and as many listed, in calls of listBatch. In sim the
// sink discards them: the feed's own share. In hub they go to a hub, as in
// a server: the hub's share is the difference.
//
//	go test ./feed/sim -run '^$' -bench UniverseDay -benchmem
func BenchmarkUniverseDay(b *testing.B) {
	const n = 100_000
	for _, to := range []string{"sim", "hub"} {
		b.Run(to, func(b *testing.B) {
			m := mustNew(b, Config{Seed: 1, Universe: n, Rate: 1000, DayLength: 10 * time.Second, Clock: fakeClock()})
			var sink feed.Sink = feed.SinkFuncs{}
			if to == "hub" {
				h, err := hub.New(hub.Config{Shards: 2}, m.Symbols(), nil)
				if err != nil {
					b.Fatal(err)
				}
				defer h.Close()
				sink = h
			}
			var changed int
			counting := feed.SinkFuncs{
				Listed:   func(syms []feed.Symbol) { changed += len(syms); sink.List(syms) },
				Delisted: func(names []string) { changed += len(names); sink.Delist(names) },
			}
			m.uni.advance(m, counting) // the first day's listings
			b.ReportAllocs()
			for b.Loop() {
				changed = 0
				m.n += m.uni.dayUpdates - m.n%m.uni.dayUpdates
				m.uni.advance(m, counting)
				if changed < 2*10_000 {
					b.Fatalf("a day changed %d symbols, want some 22,500", changed)
				}
			}
		})
	}
}
