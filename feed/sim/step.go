package sim

import (
	"math"

	"github.com/shopspring/decimal"
	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/protocol"
)

// Mean reversion per update, as a fraction of the distance to the open.
const reversion = 0.002

// Order flow per update.
const (
	maxPassive = 3  // book events (add, cancel, modify) before the trade: 1..maxPassive
	maxSweep   = 8  // levels one aggressive order may take
	maxExtend  = 2  // levels added at the far end of a short side per update
	hiddenOdds = 10 // 1 in hiddenOdds trades inside a wide spread is a hidden (midpoint) fill
	decayLen   = 64 // distances from the touch with their own mean level size
)

// events are the values handed to the sink, reused from update to update:
// the sink only borrows them.
type events struct {
	tick  protocol.Tick
	trade protocol.Trade
	book  protocol.BookUpdate
	ch    changes
}

// update simulates one update of s and publishes it:
//
//  1. the book's snapshot, at the symbol's first update;
//  2. the fair price takes a step of its random walk;
//  3. a few passive orders add, cancel and modify levels (one book update);
//  4. one aggressive order: when the fair price has crossed the touch it
//     sweeps the levels up to it, otherwise it takes (part of) the touch,
//     or now and then fills inside a wide spread; each fill is a trade,
//     followed by the book update it causes;
//  5. market makers close a wide spread around the last trade and refill
//     a side that ran short (one book update);
//  6. the quote: the book's touch, the last trade, the session's volume.
//
// So a quote's bid and ask are the book's best levels, its price is the
// last trade's, its volume the sum of the trades' sizes, and every trade is
// at or inside the touch of the book as published just before it.
func (m *Market) update(s *symbol, sink feed.Sink) {
	if s.book == nil {
		m.build(s)
		m.publishBook(s, sink, true)
	}
	m.walk(s)
	m.passive(s)
	m.publishBook(s, sink, false)
	m.aggress(s, sink)
	m.refill(s)
	m.publishBook(s, sink, false)
	m.publishQuote(s, sink)
}

// walk moves the fair price a whole number of ticks: a random step with a
// pull back toward the open, never below the floor.
func (m *Market) walk(s *symbol) {
	k := &kinds[s.kind]
	ticks := s.fair / s.tick
	sigma := max(k.vol*float64(ticks), 0.6)
	pull := -reversion * float64(ticks-s.open/s.tick)
	step := int64(math.Round(m.rng.NormFloat64()*sigma + pull))
	s.fair = max(s.fair+step*s.tick, k.floor*s.tick)
}

// gap draws the distance between neighbouring levels beyond the touch, in
// units: 1 to about half a step of the walk, in ticks.
func (m *Market) gap(s *symbol) int64 {
	maxGap := max(1, int64(kinds[s.kind].vol*float64(s.fair/s.tick)/2))
	return (1 + m.rng.Int64N(maxGap)) * s.tick
}

// spread draws a bid/ask spread in units: 1 to maxSpread ticks.
func (m *Market) spread(s *symbol) int64 {
	return (1 + m.rng.Int64N(kinds[s.kind].maxSpread)) * s.tick
}

// build makes the book of s around its fair price: a spread of one to a
// few ticks with the fair price inside it, then levels spaced one or more
// ticks apart, their sizes decaying away from the touch, down to depth
// levels a side (fewer where bids would reach zero).
func (m *Market) build(s *symbol) {
	b := newBook(int(s.depth))
	w := m.spread(s)
	bid := s.fair - m.rng.Int64N(w/s.tick+1)*s.tick
	m.fill(s, &b.bids, bid)
	m.fill(s, &b.asks, bid+w)
	s.book = b
}

// fill fills an empty side from its touch at price p outward.
func (m *Market) fill(s *symbol, sd *side, p int64) {
	n := cap(sd.lv)
	sd.lv = sd.lv[:n]
	i := n - 1
	for ; i >= 0 && p > 0; i-- {
		sd.lv[i] = protocol.Level{Price: p, Size: m.levelSize(s, n-1-i)}
		p = sd.away(p, m.gap(s))
	}
	// Bids that stopped short of the depth at zero: move them to the front.
	sd.lv = sd.lv[:copy(sd.lv, sd.lv[i+1:])]
}

// passive applies 1..maxPassive passive orders to the book, mostly near
// the touch: a modified level (orders joined or left), a cancelled level,
// or a new level behind an existing one. None of them crosses or improves
// the touch.
func (m *Market) passive(s *symbol) {
	ch := &m.ev.ch
	for range 1 + m.rng.IntN(maxPassive) {
		sd := &s.book.bids
		if m.rng.IntN(2) == 0 {
			sd = &s.book.asks
		}
		n := len(sd.lv)
		d := min(int(m.rng.ExpFloat64()*2), n-1) // distance from the touch in levels
		i := n - 1 - d
		switch x := m.rng.IntN(20); {
		case x < 5 && n > 1: // cancel
			sd.remove(i, ch)
		case x < 11: // add behind level i
			var p int64
			if i > 0 {
				room := abs(sd.lv[i].Price-sd.lv[i-1].Price)/s.tick - 1
				if room <= 0 {
					continue
				}
				p = sd.away(sd.lv[i].Price, (1+m.rng.Int64N(room))*s.tick)
			} else if p = sd.away(sd.lv[0].Price, m.gap(s)); p <= 0 || sd.full() {
				continue
			}
			sd.set(p, m.levelSize(s, d+1), ch)
		default: // modify
			sd.set(sd.lv[i].Price, m.levelSize(s, d), ch)
		}
	}
}

// aggress sends one aggressive order and publishes its trades.
func (m *Market) aggress(s *symbol, sink feed.Sink) {
	bids, asks := &s.book.bids, &s.book.asks
	bid, ask := bids.best().Price, asks.best().Price
	switch {
	case s.fair >= ask:
		m.sweep(s, asks, s.fair, sink)
	case s.fair <= bid:
		m.sweep(s, bids, s.fair, sink)
	default:
		// The nearer the fair price is to the ask, the likelier a buyer.
		buy := m.rng.Int64N(ask-bid) < s.fair-bid
		side, sd := protocol.SideSell, bids
		if buy {
			side, sd = protocol.SideBuy, asks
		}
		if ask-bid >= 2*s.tick && m.rng.IntN(hiddenOdds) == 0 {
			p := min(max(s.fair, bid+s.tick), ask-s.tick)
			m.print(s, p, m.tradeSize(s), side, sink)
			return
		}
		m.take(s, sd, min(m.tradeSize(s), sd.best().Size), side, sink)
	}
}

// sweep takes whole levels of sd from the touch while their price is at or
// better than limit, up to maxSweep of them: a marketable order whose
// limit is the fair price.
func (m *Market) sweep(s *symbol, sd *side, limit int64, sink feed.Sink) {
	side := protocol.SideSell
	if !sd.bid {
		side = protocol.SideBuy
	}
	for n := 0; n < maxSweep && sd.key(sd.best().Price) >= sd.key(limit); n++ {
		m.take(s, sd, sd.best().Size, side, sink)
	}
}

// take fills size at the touch of sd, publishes the trade, then the book
// update: the touch reduced, or removed. A side is never left empty: when
// the last level goes, a new one appears behind it in the same update.
func (m *Market) take(s *symbol, sd *side, size int64, side protocol.Side, sink feed.Sink) {
	i := len(sd.lv) - 1
	lvl := sd.lv[i]
	m.print(s, lvl.Price, size, side, sink)
	ch := &m.ev.ch
	if size < lvl.Size {
		sd.set(lvl.Price, lvl.Size-size, ch)
	} else {
		sd.remove(i, ch)
		if len(sd.lv) == 0 {
			p := sd.away(lvl.Price, m.gap(s))
			if p <= 0 {
				p = lvl.Price // bids at the bottom of the grid: replenished in place
			}
			sd.set(p, m.levelSize(s, 1), ch)
		}
	}
	m.publishBook(s, sink, false)
}

// refill lets market makers close a spread wider than a freshly drawn
// target around the last trade price L (the new bid at or below L, the new
// ask at or above it, never crossing the other side), then extends a side
// shorter than its depth at the far end.
func (m *Market) refill(s *symbol) {
	ch := &m.ev.ch
	bids, asks := &s.book.bids, &s.book.asks
	bid, ask, last := bids.best().Price, asks.best().Price, s.last
	if w := m.spread(s); ask-bid > w {
		lo, hi := int64(0), w/s.tick // offset of the new bid below last, in ticks
		if last == ask {
			lo = 1
		}
		if last == bid {
			hi--
		}
		nb := last - (lo+m.rng.Int64N(hi-lo+1))*s.tick
		if nb > bid && nb > 0 {
			bids.set(nb, m.levelSize(s, 0), ch)
		}
		if na := nb + w; na < ask {
			asks.set(na, m.levelSize(s, 0), ch)
		}
	}
	for _, sd := range [2]*side{bids, asks} {
		for range maxExtend {
			if sd.full() {
				break
			}
			p := sd.away(sd.lv[0].Price, m.gap(s))
			if p <= 0 {
				break
			}
			sd.set(p, m.levelSize(s, len(sd.lv)), ch)
		}
	}
}

// print records a trade in the session and publishes it.
func (m *Market) print(s *symbol, price, size int64, side protocol.Side, sink feed.Sink) {
	if s.volume > math.MaxInt64-size {
		// Volume would overflow int64 (after days at extreme rates): roll
		// the session like a market does at the close.
		s.volume, s.open = 0, s.last
		s.high, s.low = s.last, s.last
	}
	s.tradeSeq++
	s.last = price
	s.high, s.low = max(s.high, price), min(s.low, price)
	s.volume += size
	if m.cfg.QuotesOnly {
		return
	}
	t := &m.ev.trade
	prec, vprec := s.sym.PricePrec, s.sym.VolumePrec
	*t = protocol.Trade{
		Symbol:    s.sym.Name,
		Seq:       s.tradeSeq,
		Price:     m.cache.get(price, prec),
		Size:      m.cache.get(size, vprec),
		Side:      side,
		TS:        m.ts,
		PricePrec: prec,
		SizePrec:  vprec,
	}
	sink.PublishTrade(t)
}

// publishBook publishes the whole book (snapshot) or the changes recorded
// since the last update, if any.
func (m *Market) publishBook(s *symbol, sink feed.Sink, snapshot bool) {
	ch := &m.ev.ch
	if !snapshot && ch.empty() {
		return
	}
	s.bookSeq++
	if m.cfg.QuotesOnly {
		ch.reset()
		return
	}
	b := &m.ev.book
	b.Symbol, b.Seq, b.TS, b.Snapshot = s.sym.Name, s.bookSeq, m.ts, snapshot
	b.PricePrec, b.SizePrec = s.sym.PricePrec, s.sym.VolumePrec
	if snapshot {
		b.Bids = s.book.bids.appendBest(b.Bids[:0])
		b.Asks = s.book.asks.appendBest(b.Asks[:0])
	} else {
		b.Bids = levels(b.Bids[:0], ch.bids)
		b.Asks = levels(b.Asks[:0], ch.asks)
	}
	ch.reset()
	sink.PublishBook(b)
}

// publishQuote publishes the quote of s.
func (m *Market) publishQuote(s *symbol, sink feed.Sink) {
	s.seq++
	prec, vprec := s.sym.PricePrec, s.sym.VolumePrec
	t := &m.ev.tick
	*t = protocol.Tick{
		Symbol:     s.sym.Name,
		Seq:        s.seq,
		Price:      m.cache.get(s.last, prec),
		Bid:        m.cache.get(s.book.bids.best().Price, prec),
		Ask:        m.cache.get(s.book.asks.best().Price, prec),
		Open:       m.cache.get(s.open, prec),
		High:       m.cache.get(s.high, prec),
		Low:        m.cache.get(s.low, prec),
		Volume:     decimal.New(s.volume, -vprec), // new every time: not worth caching
		TS:         m.ts,
		PricePrec:  prec,
		VolumePrec: vprec,
	}
	sink.Publish(t)
}

// tradeSize draws the size of an aggressive order in units of
// 10^-VolumePrec, always >= 1.
func (m *Market) tradeSize(s *symbol) int64 {
	r := m.rng
	switch s.kind {
	case kindEquity:
		switch x := r.Float64(); {
		case x < 0.55: // round lots
			return 100 * (1 + r.Int64N(5))
		case x < 0.97: // odd lots
			return 1 + r.Int64N(99)
		default: // blocks
			return 1000 * (1 + r.Int64N(20))
		}
	case kindFX: // notional in base currency, thousands
		return 1000 * (1 + r.Int64N(2000))
	case kindOption: // contracts
		if r.IntN(50) == 0 {
			return 50 * (1 + r.Int64N(4))
		}
		return 1 + r.Int64N(10)
	default: // crypto: exponential in quote value, ~ $2,000 mean
		return round2(r.ExpFloat64() * 2000 / s.price() * math.Pow10(int(s.sym.VolumePrec)))
	}
}

// levelSize draws the size of a level d levels from the touch. The mean
// decays away from the touch to a quarter of its value there; at the touch
// it is about twice the mean trade size, so most trades take part of a
// level and some take all of it.
func (m *Market) levelSize(s *symbol, d int) int64 {
	var base float64
	switch s.kind {
	case kindEquity:
		base = 1000
	case kindFX:
		base = 2e6
	case kindOption:
		base = 40
	default: // crypto: in quote value
		base = 8000 / s.price() * math.Pow10(int(s.sym.VolumePrec))
	}
	f := m.decay[min(d, decayLen-1)] * (0.5 + m.rng.Float64())
	return max(1, int64(base*f))
}

// price is the fair price of s as a float, for sizing orders by value.
func (s *symbol) price() float64 {
	return float64(s.fair) / math.Pow10(int(s.sym.PricePrec))
}

// round2 rounds x to an integer of two significant digits, at least 1, as
// people size orders (0.015 BTC, not 0.01493817).
func round2(x float64) int64 {
	u := int64(x)
	p := int64(1)
	for u >= 100 {
		u /= 10
		p *= 10
	}
	if u < 1 {
		return 1
	}
	return u * p
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// cacheBits sizes decCache: 2^14 entries of 32 bytes, 512 KiB. At the
// default rate about one update in four meets a price or size it does not
// hold (crypto prices move thousands of ticks); 2^12 entries miss three
// times as often. quotesCacheBits sizes it for a market that publishes
// quotes only (Config.QuotesOnly): a quote's prices stay near the touch
// and its session's open, high and low, so a small cache holds them, and
// the 512 KiB and the decimals in it would only be live heap the server
// carries, and the garbage collector's headroom on top.
const (
	cacheBits       = 14
	quotesCacheBits = 10
)

// decCache caches the decimal.Decimal values of fixed-point numbers, so
// that publishing a trade or a quote at a price seen recently does not
// allocate (decimal.New allocates a big.Int and its digits). It is
// direct-mapped: a miss replaces the entry. Decimals are immutable, so
// sharing them with sinks that keep them is safe.
type decCache struct {
	shift uint8 // 64 - log2(len(e))
	e     []decEntry
}

type decEntry struct {
	v    int64
	prec int32
	ok   bool
	d    decimal.Decimal
}

func newDecCache(bits uint8) decCache {
	return decCache{shift: 64 - bits, e: make([]decEntry, 1<<bits)}
}

func (c *decCache) get(v int64, prec int32) decimal.Decimal {
	h := (uint64(v)*0x9e3779b97f4a7c15 ^ uint64(prec)*0xbf58476d1ce4e5b9) >> c.shift
	e := &c.e[h]
	if !e.ok || e.v != v || e.prec != prec {
		e.v, e.prec, e.ok, e.d = v, prec, true, decimal.New(v, -prec)
	}
	return e.d
}
