package sim

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/protocol"
)

// checker is a feed.Sink that keeps what a consumer of the market keeps
// (each symbol's book, last trade, volume and seqs) from what is published,
// and fails the test at the first broken rule:
//
//   - books: a snapshot first, then seq +1 per update; after every update
//     the book is sorted, not crossed, with no zero or negative sizes and
//     no price off the tick grid, and it is exactly the market's own book;
//     a delta never removes a level the consumer does not have.
//   - trades: seq +1 per trade; the price at or inside the touch of the book
//     as published, a buy above the bid and a sell below the ask; a trade at
//     the touch is followed by the book update that takes its size from
//     that level.
//   - quotes: seq +1; bid and ask are the book's best levels, the price is
//     the last trade's, the volume the sum of the trades' sizes.
//   - listings: nothing is published for a symbol that is not listed; a
//     name is listed once at a time.
//
// It must be called from the test's goroutine (it calls t.Fatalf): drive
// the market with m.next, not Run.
type checker struct {
	t     testing.TB
	m     *Market // when set, every book is compared with the market's own
	syms  map[string]*consumer
	index map[string]int // m.syms index by name; nil when listings changed

	quotes, trades, books, levels, listed, delisted int
}

// consumer is what a consumer keeps of one symbol.
type consumer struct {
	sym                  feed.Symbol
	bids, asks           map[int64]int64 // price → size
	bookSeq, tradeSeq    uint64
	seq                  uint64
	last, volume         int64
	traded               bool
	pending              *protocol.Level // the touch level a trade took from, awaiting its book update
	pendingBid, snapshot bool
	bid, ask             protocol.Level // the touch, after the last book update
}

func newChecker(t testing.TB, m *Market) *checker {
	c := &checker{t: t, m: m, syms: map[string]*consumer{}}
	c.List(m.Symbols())
	c.listed = 0
	return c
}

func (c *checker) fail(format string, args ...any) {
	c.t.Helper()
	c.t.Fatalf("after %d quotes, %d trades, %d book updates: %s", c.quotes, c.trades, c.books, fmt.Sprintf(format, args...))
}

func (c *checker) get(name string) *consumer {
	c.t.Helper()
	s := c.syms[name]
	if s == nil {
		c.fail("%s published but not listed", name)
	}
	return s
}

// fixed converts d to fixed point at prec, failing unless it has exactly
// prec decimals.
func (c *checker) fixed(what string, d decimal.Decimal, prec int32) int64 {
	c.t.Helper()
	if d.Exponent() != -prec {
		c.fail("%s %s has exponent %d, want %d", what, d, d.Exponent(), -prec)
	}
	return d.CoefficientInt64()
}

func (c *checker) List(syms []feed.Symbol) {
	for _, s := range syms {
		if c.syms[s.Name] != nil {
			c.fail("%s listed twice", s.Name)
		}
		if s.Name == "" || strings.ContainsAny(s.Name, " \t") {
			c.fail("listed name %q", s.Name)
		}
		c.syms[s.Name] = &consumer{sym: s, bids: map[int64]int64{}, asks: map[int64]int64{}}
		c.listed++
		c.index = nil
	}
}

func (c *checker) Delist(names []string) {
	for _, n := range names {
		c.get(n)
		delete(c.syms, n)
		c.delisted++
		c.index = nil
	}
}

func (c *checker) PublishCandle(*protocol.Candle) { c.fail("the market published a candle") }

func (c *checker) PublishBook(b *protocol.BookUpdate) {
	c.t.Helper()
	s := c.get(b.Symbol)
	c.follow(s, "book", b.Seq, &s.bookSeq, b.PricePrec, b.SizePrec)
	if !s.snapshot && !b.Snapshot {
		c.fail("%s book delta %d before any snapshot", b.Symbol, b.Seq)
	}
	c.books++
	c.levels += len(b.Bids) + len(b.Asks)
	tick := s.sym.TickSize.Shift(s.sym.PricePrec).IntPart()
	if b.Snapshot {
		s.snapshot = true
		clear(s.bids)
		clear(s.asks)
		for i, l := range b.Bids {
			if i > 0 && l.Price >= b.Bids[i-1].Price {
				c.fail("%s snapshot bids not descending: %v", b.Symbol, b.Bids)
			}
		}
		for i, l := range b.Asks {
			if i > 0 && l.Price <= b.Asks[i-1].Price {
				c.fail("%s snapshot asks not ascending: %v", b.Symbol, b.Asks)
			}
		}
	}
	apply := func(book map[int64]int64, lv []protocol.Level, name string) {
		seen := map[int64]bool{}
		for _, l := range lv {
			if seen[l.Price] {
				c.fail("%s %s price %d twice in one update", b.Symbol, name, l.Price)
			}
			seen[l.Price] = true
			switch {
			case l.Price <= 0 || l.Price%tick != 0:
				c.fail("%s %s price %d off the grid of %d", b.Symbol, name, l.Price, tick)
			case l.Size < 0 || l.Size == 0 && b.Snapshot:
				c.fail("%s %s size %d at %d", b.Symbol, name, l.Size, l.Price)
			case l.Size == 0:
				if _, ok := book[l.Price]; !ok {
					c.fail("%s %s removes %d, which the book does not have", b.Symbol, name, l.Price)
				}
				delete(book, l.Price)
			default:
				book[l.Price] = l.Size
			}
		}
	}
	apply(s.bids, b.Bids, "bid")
	apply(s.asks, b.Asks, "ask")
	if len(s.bids) == 0 || len(s.asks) == 0 {
		c.fail("%s book has an empty side: %d bids, %d asks", b.Symbol, len(s.bids), len(s.asks))
	}
	s.bid, s.ask = s.best(true), s.best(false)
	if s.bid.Price >= s.ask.Price {
		c.fail("%s book crossed: bid %d ask %d", b.Symbol, s.bid.Price, s.ask.Price)
	}
	if p := s.pending; p != nil {
		s.pending = nil
		book, lv := s.asks, b.Asks
		if s.pendingBid {
			book, lv = s.bids, b.Bids
		}
		i := slices.IndexFunc(lv, func(l protocol.Level) bool { return l.Price == p.Price })
		if i < 0 || lv[i].Size != p.Size {
			c.fail("%s: the update after a trade at the touch %d sets %v, want size %d there (book now %d)", b.Symbol, p.Price, lv, p.Size, book[p.Price])
		}
	}
	if c.m != nil {
		c.compare(s)
	}
}

// follow checks that a message of s on a channel has the seq after *last
// and the symbol's precision, and records its seq in *last.
func (c *checker) follow(s *consumer, channel string, seq uint64, last *uint64, prec, sizePrec int32) {
	c.t.Helper()
	if seq != *last+1 {
		c.fail("%s %s seq %d after %d", s.sym.Name, channel, seq, *last)
	}
	*last = seq
	if prec != s.sym.PricePrec || sizePrec != s.sym.VolumePrec {
		c.fail("%s %s precision %d/%d, want %d/%d", s.sym.Name, channel, prec, sizePrec, s.sym.PricePrec, s.sym.VolumePrec)
	}
}

// compare checks that the consumer's book is the market's.
func (c *checker) compare(s *consumer) {
	c.t.Helper()
	if c.index == nil {
		c.index = map[string]int{}
		for i := range c.m.syms {
			c.index[c.m.syms[i].sym.Name] = i
		}
	}
	i, ok := c.index[s.sym.Name]
	ms := &c.m.syms[i]
	if !ok || ms.book == nil {
		c.fail("%s has no book in the market", s.sym.Name)
	}
	for _, sd := range []struct {
		lv   []protocol.Level
		book map[int64]int64
		bid  bool
	}{{ms.book.bids.lv, s.bids, true}, {ms.book.asks.lv, s.asks, false}} {
		if len(sd.lv) != len(sd.book) || len(sd.lv) > int(ms.depth) {
			c.fail("%s: the market's side (bid %v) has %d levels (depth %d), the consumer's %d", s.sym.Name, sd.bid, len(sd.lv), ms.depth, len(sd.book))
		}
		for i, l := range sd.lv {
			if sd.book[l.Price] != l.Size {
				c.fail("%s: the market has %v at %d, the consumer %d", s.sym.Name, l, i, sd.book[l.Price])
			}
			if i > 0 && (sd.bid && l.Price <= sd.lv[i-1].Price || !sd.bid && l.Price >= sd.lv[i-1].Price) {
				c.fail("%s: the market's side (bid %v) is not sorted worst first: %v", s.sym.Name, sd.bid, sd.lv)
			}
		}
	}
}

func (s *consumer) best(bid bool) protocol.Level {
	var b protocol.Level
	book := s.asks
	if bid {
		book = s.bids
	}
	for p, sz := range book {
		if b.Size == 0 || bid && p > b.Price || !bid && p < b.Price {
			b = protocol.Level{Price: p, Size: sz}
		}
	}
	return b
}

func (c *checker) PublishTrade(t *protocol.Trade) {
	c.t.Helper()
	s := c.get(t.Symbol)
	c.trades++
	c.follow(s, "trade", t.Seq, &s.tradeSeq, t.PricePrec, t.SizePrec)
	p := c.fixed("trade price", t.Price, t.PricePrec)
	sz := c.fixed("trade size", t.Size, t.SizePrec)
	if sz <= 0 {
		c.fail("%s trade size %s", t.Symbol, t.Size)
	}
	if s.pending != nil {
		c.fail("%s: a trade before the book update of the last one", t.Symbol)
	}
	if !s.snapshot {
		c.fail("%s: a trade before the book", t.Symbol)
	}
	bid, ask := s.bid, s.ask
	switch {
	case p < bid.Price || p > ask.Price:
		c.fail("%s trade at %d outside the touch %d / %d", t.Symbol, p, bid.Price, ask.Price)
	case t.Side == protocol.SideBuy && p == bid.Price, t.Side == protocol.SideSell && p == ask.Price:
		c.fail("%s %s at %d: at the wrong side of the touch %d / %d", t.Symbol, t.Side, p, bid.Price, ask.Price)
	case t.Side != protocol.SideBuy && t.Side != protocol.SideSell:
		c.fail("%s trade side %v", t.Symbol, t.Side)
	case p == ask.Price:
		if sz > ask.Size {
			c.fail("%s buys %d at %d, where the book has %d", t.Symbol, sz, p, ask.Size)
		}
		s.pending, s.pendingBid = &protocol.Level{Price: p, Size: ask.Size - sz}, false
	case p == bid.Price:
		if sz > bid.Size {
			c.fail("%s sells %d at %d, where the book has %d", t.Symbol, sz, p, bid.Size)
		}
		s.pending, s.pendingBid = &protocol.Level{Price: p, Size: bid.Size - sz}, true
	}
	s.last, s.traded = p, true
	s.volume += sz
}

func (c *checker) Publish(t *protocol.Tick) {
	c.t.Helper()
	s := c.get(t.Symbol)
	c.quotes++
	c.follow(s, "quote", t.Seq, &s.seq, t.PricePrec, t.VolumePrec)
	if s.pending != nil {
		c.fail("%s: a quote before the book update of the last trade", t.Symbol)
	}
	bid := c.fixed("bid", t.Bid, t.PricePrec)
	ask := c.fixed("ask", t.Ask, t.PricePrec)
	price := c.fixed("price", t.Price, t.PricePrec)
	vol := c.fixed("volume", t.Volume, t.VolumePrec)
	if !s.snapshot || !s.traded {
		return // quotes only: no book or trades to compare with
	}
	if b, a := s.bid.Price, s.ask.Price; bid != b || ask != a {
		c.fail("%s quote bid/ask %d/%d, book %d/%d", t.Symbol, bid, ask, b, a)
	}
	if price != s.last {
		c.fail("%s quote price %d, last trade %d", t.Symbol, price, s.last)
	}
	if vol != s.volume {
		c.fail("%s quote volume %d, sum of trade sizes %d", t.Symbol, vol, s.volume)
	}
}

// run drives m through n updates into c.
func (c *checker) run(n int) {
	c.t.Helper()
	for range n {
		c.m.next(c)
	}
}

// updates scales a test's number of updates down under the race detector.
func updates(n int) int {
	if raceEnabled {
		return n / 5
	}
	return n
}
