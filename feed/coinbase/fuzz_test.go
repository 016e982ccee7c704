package coinbase

import (
	"bytes"
	"strings"
	"testing"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/protocol"
)

// fuzzLevels is the BookLevels of the fuzzed feed: small, so that inputs
// reach the cut.
const fuzzLevels = 4

// FuzzHandle feeds the message decoder arbitrary input, one message per
// line, and checks what comes out: ticks and book updates with seq +1,
// trades with rising seqs and positive decimals, book snapshots ordered
// best first within BookLevels, deltas that never cross the book, and a
// published book always equal to the feed's own once it is live. Errors
// are expected; panics, and work or memory beyond the bounds, are not.
// The seed corpus is in testdata/fuzz/FuzzHandle.
func FuzzHandle(f *testing.F) {
	for _, name := range []string{"upstream.ndjson", "matches.ndjson", "level2.ndjson"} {
		f.Add([]byte(strings.Join(lines(f, name), "\n")))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fd, err := New(Config{Products: twoProducts, BookLevels: fuzzLevels})
		if err != nil {
			t.Fatal(err)
		}
		s := &checkSink{t: t, ticks: map[string]uint64{}, trades: map[string]uint64{}, books: map[string]*pubLevels{}}
		var bufs buffers
		for _, line := range bytes.Split(data, []byte("\n")) {
			fd.handle(line, s, &bufs)
			for _, p := range fd.products {
				if b := s.books[p.Symbol]; b != nil && p.st.book.state == bookLive && !b.matches(&p.st.book) {
					t.Fatalf("after %q: published %s book %v/%v, the feed's %v/%v",
						line, p.Symbol, b.bids, b.asks, p.st.book.bids.levels, p.st.book.asks.levels)
				}
			}
		}
	})
}

// checkSink checks each publication of a fuzzed feed.
type checkSink struct {
	feed.SinkFuncs
	t      *testing.T
	ticks  map[string]uint64 // symbol -> last seq
	trades map[string]uint64
	books  map[string]*pubLevels
}

type pubLevels struct {
	seq        uint64
	bids, asks map[int64]int64
}

func (b *pubLevels) matches(own *book) bool {
	same := func(m map[int64]int64, s *bookSide) bool {
		if len(m) != len(s.levels) {
			return false
		}
		for _, l := range s.levels {
			if m[l.Price] != l.Size {
				return false
			}
		}
		return true
	}
	return same(b.bids, &own.bids) && same(b.asks, &own.asks)
}

func (s *checkSink) Publish(tk *protocol.Tick) {
	if last := s.ticks[tk.Symbol]; tk.Seq != last+1 {
		s.t.Fatalf("tick %s seq %d after %d", tk.Symbol, tk.Seq, last)
	}
	s.ticks[tk.Symbol] = tk.Seq
	protocol.AppendTick(nil, tk) // encodes in bounded time
}

func (s *checkSink) PublishTrade(tr *protocol.Trade) {
	if last := s.trades[tr.Symbol]; tr.Seq <= last {
		s.t.Fatalf("trade %s seq %d after %d", tr.Symbol, tr.Seq, last)
	}
	s.trades[tr.Symbol] = tr.Seq
	if !tr.Price.IsPositive() || !tr.Size.IsPositive() || tr.Side > protocol.SideSell {
		s.t.Fatalf("trade %+v", tr)
	}
	tr.Price.StringFixed(tr.PricePrec) // bounded: ParseDecimal let it through
	tr.Size.StringFixed(tr.SizePrec)
}

func (s *checkSink) PublishBook(u *protocol.BookUpdate) {
	t := s.t
	b := s.books[u.Symbol]
	if b == nil {
		b = &pubLevels{}
		s.books[u.Symbol] = b
	}
	if u.Seq != b.seq+1 {
		t.Fatalf("book %s seq %d after %d", u.Symbol, u.Seq, b.seq)
	}
	b.seq = u.Seq
	if u.Snapshot {
		b.bids, b.asks = map[int64]int64{}, map[int64]int64{}
		for i, side := range [][]protocol.Level{u.Bids, u.Asks} {
			if len(side) > fuzzLevels {
				t.Fatalf("snapshot side of %d levels, over %d", len(side), fuzzLevels)
			}
			for j := 1; j < len(side); j++ {
				if better := side[j].Price > side[j-1].Price; better == (i == 0) || side[j].Price == side[j-1].Price {
					t.Fatalf("snapshot side %d not best first: %v", i, side)
				}
			}
		}
	} else if b.bids == nil {
		t.Fatalf("book %s delta before any snapshot", u.Symbol)
	}
	for i, side := range [][]protocol.Level{u.Bids, u.Asks} {
		m := b.bids
		if i == 1 {
			m = b.asks
		}
		for _, l := range side {
			if l.Price <= 0 || l.Size < 0 || u.Snapshot && l.Size == 0 {
				t.Fatalf("book level %+v", l)
			}
			if l.Size == 0 {
				delete(m, l.Price)
			} else {
				m[l.Price] = l.Size
			}
		}
		if len(m) > fuzzLevels {
			t.Fatalf("book side of %d levels, over %d", len(m), fuzzLevels)
		}
	}
	bestBid, bestAsk := int64(0), int64(1<<63-1)
	for p := range b.bids {
		bestBid = max(bestBid, p)
	}
	for p := range b.asks {
		bestAsk = min(bestAsk, p)
	}
	if bestBid >= bestAsk {
		t.Fatalf("book %s crossed: bid %d, ask %d", u.Symbol, bestBid, bestAsk)
	}
}
