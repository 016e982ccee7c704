package sim

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/protocol"
)

// TestConsistency drives markets of every shape through the checker, which
// fails at the first broken rule (see checker), and checks the flow: one
// quote per update, at least one trade per quote, thousands of level
// changes per second at the default rate.
func TestConsistency(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		n    int
	}{
		{"bursty", Config{Seed: 1, BookDepth: 20}, 30000},
		{"steady", Config{Seed: 2, BookDepth: 20, Steady: true}, 30000},
		{"default depth", Config{Seed: 3, Symbols: 12}, 3000},
		{"depth 1", Config{Seed: 4, Symbols: 12, BookDepth: 1}, 10000},
		{"universe", Config{Seed: 5, Universe: 3000, Rate: 1000, DayLength: 3 * time.Second}, 20000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Clock = fakeClock()
			c := newChecker(t, mustNew(t, tt.cfg))
			tt.n = updates(tt.n)
			c.run(tt.n)
			if c.quotes != tt.n {
				t.Errorf("%d quotes in %d updates, want one per update", c.quotes, tt.n)
			}
			if c.trades < tt.n {
				t.Errorf("%d trades in %d updates, want at least one per update", c.trades, tt.n)
			}
			perUpdate := float64(c.levels) / float64(tt.n)
			if perUpdate < 3 {
				t.Errorf("%.2f level changes per update, want >= 3: %.0f a second at the default rate", perUpdate, perUpdate*DefaultRate)
			}
			t.Logf("per update: %.2f trades, %.2f book updates, %.2f level changes", float64(c.trades)/float64(tt.n), float64(c.books)/float64(tt.n), perUpdate)
		})
	}
}

// TestQuotesOnly: the switch stops trades and books, and changes no quote.
func TestQuotesOnly(t *testing.T) {
	for _, cfg := range []Config{{Seed: 8}, {Seed: 8, Universe: 2000, DayLength: time.Second}} {
		cfg.Clock = fakeClock()
		want := sequence(mustNew(t, cfg), 20000)
		cfg.Clock, cfg.QuotesOnly = fakeClock(), true
		m := mustNew(t, cfg)
		c := newChecker(t, m)
		q := &quotes{}
		for range 20000 {
			m.next(feed.SinkFuncs{Tick: func(tk *protocol.Tick) { c.Publish(tk); q.Publish(tk) },
				Trade: c.PublishTrade, Book: c.PublishBook, Listed: c.List, Delisted: c.Delist})
		}
		if c.trades != 0 || c.books != 0 {
			t.Errorf("universe %d: QuotesOnly published %d trades and %d book updates, want none", cfg.Universe, c.trades, c.books)
		}
		if !slices.Equal(q.lines, want) {
			t.Errorf("universe %d: QuotesOnly changed the quotes", cfg.Universe)
		}
	}
}

// TestBookShape: a fresh book is deep, on the grid, and its sizes decay
// away from the touch.
func TestBookShape(t *testing.T) {
	m := mustNew(t, Config{Seed: 6, Symbols: 10})
	var sum [DefaultBookDepth]float64
	var count [DefaultBookDepth]int
	books := 0
	sink := feed.SinkFuncs{Book: func(b *protocol.BookUpdate) {
		if !b.Snapshot {
			return
		}
		books++
		if len(b.Bids) != DefaultBookDepth || len(b.Asks) != DefaultBookDepth {
			t.Errorf("%s snapshot has %d bids and %d asks, want %d each", b.Symbol, len(b.Bids), len(b.Asks), DefaultBookDepth)
		}
		for _, side := range [][]protocol.Level{b.Bids, b.Asks} {
			for d, l := range side {
				sum[d] += float64(l.Size) / float64(side[0].Size+side[1].Size+side[2].Size)
				count[d]++
			}
		}
	}}
	for range 1000 {
		m.next(sink)
	}
	if books != 10 {
		t.Fatalf("%d snapshots for 10 symbols", books)
	}
	mean := func(from, to int) float64 {
		var s float64
		var n int
		for d := from; d < to; d++ {
			s += sum[d]
			n += count[d]
		}
		return s / float64(n)
	}
	if near, far := mean(0, 5), mean(100, 200); near < 2*far {
		t.Errorf("mean relative size near the touch %.3f, far from it %.3f: want sizes decaying away from the touch", near, far)
	}
}

// TestSide: the operations of a side on a full side, and the changes they
// record.
func TestSide(t *testing.T) {
	b := newBook(3)
	var ch changes
	asks := &b.asks
	for _, p := range []int64{103, 101, 102} {
		asks.set(p, p-100, &ch)
	}
	if want := []protocol.Level{{Price: 103, Size: 3}, {Price: 102, Size: 2}, {Price: 101, Size: 1}}; !slices.Equal(asks.lv, want) {
		t.Fatalf("asks = %v, want %v (worst first)", asks.lv, want)
	}
	ch.reset()
	if asks.set(104, 4, &ch) || !ch.empty() {
		t.Errorf("a level worse than a full side's worst was added: %v, changes %v", asks.lv, ch)
	}
	if !asks.set(100, 9, &ch) || asks.best() != (protocol.Level{Price: 100, Size: 9}) || len(asks.lv) != 3 {
		t.Errorf("a new touch on a full side: %v, want 100 at the end and 103 dropped", asks.lv)
	}
	if got := fmt.Sprint(levels(nil, ch.asks)); got != "[{103 0} {100 9}]" {
		t.Errorf("changes %s, want [{103 0} {100 9}]", got)
	}
	// A level added and removed within one update is not mentioned.
	ch.reset()
	asks.remove(len(asks.lv)-1, &ch)
	asks.set(100, 5, &ch) // back: a modification for the consumer
	asks.set(99, 5, &ch)  // new, drops 102
	asks.remove(len(asks.lv)-1, &ch)
	if got := fmt.Sprint(levels(nil, ch.asks)); got != "[{100 5} {102 0}]" {
		t.Errorf("changes %s, want [{100 5} {102 0}]", got)
	}
}

// TestAllocs: once warm, an update allocates only the decimals of its
// quote and trades that the cache does not hold (the quote's Volume is new
// every time: two allocations). Books allocate nothing: an allocation per
// level change would add about seven an update.
func TestAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	m := mustNew(t, Config{Seed: 1, Symbols: 7})
	sink := feed.SinkFuncs{Tick: func(*protocol.Tick) {}, Trade: func(*protocol.Trade) {}, Book: func(*protocol.BookUpdate) {}}
	for range 200000 {
		m.next(sink)
	}
	if a := testing.AllocsPerRun(5000, func() { m.next(sink) }); a > 4 {
		t.Errorf("%v allocations per update, want <= 4", a)
	}
}

// BenchmarkNext measures one update (one quote, its trades and book
// updates) of the default market into a sink that drops everything.
// Allocations are per update: the quote's Volume is a new decimal.Decimal
// each time (two allocations), and so is a price or size the decimal cache
// misses (crypto prices move thousands of ticks); books allocate nothing.
//
//	go test ./feed/sim -run '^$' -bench Next -benchmem
func BenchmarkNext(b *testing.B) {
	for _, bb := range []struct {
		name string
		cfg  Config
	}{
		{"default", Config{Seed: 1}},
		{"quotes-only", Config{Seed: 1, QuotesOnly: true}},
		{"equities", Config{Seed: 1, Symbols: 7}},
		{"universe-100k", Config{Seed: 1, Universe: 100000}},
	} {
		b.Run(bb.name, func(b *testing.B) {
			m := mustNew(b, bb.cfg)
			var levels, n int
			sink := feed.SinkFuncs{Book: func(u *protocol.BookUpdate) { levels += len(u.Bids) + len(u.Asks) }}
			for range 200000 { // warm up: books built, caches full
				m.next(sink)
			}
			levels = 0
			b.ReportAllocs()
			for b.Loop() {
				m.next(sink)
				n++
			}
			b.ReportMetric(float64(levels)/float64(n), "levels/op")
		})
	}
}
