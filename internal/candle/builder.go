package candle

import (
	"container/heap"
	"context"
	"errors"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shopspring/decimal"
	"github.com/tickerd/tickerd/protocol"
)

// Publisher receives the candles a Builder makes. feed.Sink (the hub) and
// History have this method. The candle is only borrowed for the call.
type Publisher interface {
	PublishCandle(c *protocol.Candle)
}

// Defaults of Config.
const (
	DefaultThrottle = 250 * time.Millisecond
	DefaultGrace    = 500 * time.Millisecond
)

// Config configures a Builder. The zero value builds all four intervals
// with the default throttle and grace, for a live feed.
type Config struct {
	// Intervals are the intervals to build; nil means all four.
	Intervals []protocol.Interval
	// Throttle is the least time between two frames of one open candle;
	// 0 means DefaultThrottle. Closed frames are never held back.
	Throttle time.Duration
	// Grace is how far the clock must be past a candle's end before the
	// clock closes it (see the package doc); 0 means DefaultGrace. Larger
	// values tolerate trades that arrive later against the clock, and
	// close candles of quiet symbols later.
	Grace time.Duration
	// Rate is how fast the clock runs on between trades: event-time
	// nanoseconds per wall-clock nanosecond. 0 (or anything not a
	// positive finite number) means 1, right for a live feed and for a
	// replay at speed 1 or faster; a replay slower than real time sets its
	// speed here.
	Rate float64
}

// Stats are a Builder's counters.
type Stats struct {
	Symbols int // symbols with state
	Open    int // open candles
	// Late counts, per interval, trades left out of that interval's
	// candles because their candle had already closed.
	Late [protocol.NumIntervals]uint64
	// Stale counts trades of an older epoch than the symbol's, ignored.
	Stale uint64
	// Rejected counts trades ignored because a value does not fit: a
	// price or size beyond int64 at the symbol's precision or with more
	// than 18 significant digits, a negative size, a precision outside
	// 0…18, or a ts within an hour of either end of int64.
	Rejected uint64
}

// Builder builds OHLCV candles from trades. Create it with NewBuilder,
// start Run in a goroutine, and give it every trade with PublishTrade (see
// the package doc for the rules).
type Builder struct {
	// Static after NewBuilder.
	pub       Publisher
	intervals []protocol.Interval
	throttle  time.Duration
	grace     int64 // nanoseconds
	rate      float64
	wake      chan struct{} // capacity 1, never closed: a candle is due sooner than Run thinks
	running   atomic.Bool

	mu sync.Mutex
	// Guarded by mu.
	syms   map[string]*symbol
	clock  int64     // the largest trade ts seen (the event part of the clock)
	anchor time.Time // when the last trade arrived; zero before the first
	// ends holds, per interval, the open candles by end, soonest first, for
	// the clock to close them. An entry whose series has since closed that
	// candle is skipped.
	ends    [protocol.NumIntervals][]endBucket
	spare   [][]*series // emptied bucket slices, for reuse
	pending dueHeap     // open candles with a change not yet sent
	timerAt time.Time   // when Run looks next; zero when it has nothing to wait for
	out     protocol.Candle
	stats   Stats
}

type symbol struct {
	name   string
	epoch  uint64
	series [protocol.NumIntervals]series // indexed by interval
}

// series is the candles of one symbol at one interval: at most one is open.
type series struct {
	sym   *symbol
	iv    protocol.Interval
	floor int64 // trades with a smaller ts are late: the open candle's start, or the last closed one's end
	open  bool
	c     ohlcv     // the open candle
	sent  time.Time // when a frame of the open candle was last sent
	index int       // in Builder.pending, or -1
}

// ohlcv is a candle being built. The prices are the trades' own decimals
// (they are sent at the candle's precision); hi and lo are High and Low in
// fixed point, for comparing without allocating.
type ohlcv struct {
	start, end             int64
	open, high, low, close decimal.Decimal
	hi, lo                 int64
	vol                    volume
	trades                 uint64
	epoch                  uint64
	pricePrec, volPrec     int32
}

type endBucket struct {
	end    int64
	series []*series
}

// NewBuilder returns a Builder that publishes its candles to pub.
func NewBuilder(cfg Config, pub Publisher) *Builder {
	b := &Builder{
		pub:       pub,
		intervals: cfg.Intervals,
		throttle:  cfg.Throttle,
		grace:     int64(cfg.Grace),
		rate:      cfg.Rate,
		wake:      make(chan struct{}, 1),
		syms:      make(map[string]*symbol),
		clock:     math.MinInt64,
	}
	if b.intervals == nil {
		b.intervals = []protocol.Interval{protocol.Interval1s, protocol.Interval1m, protocol.Interval5m, protocol.Interval1h}
	}
	if b.throttle <= 0 {
		b.throttle = DefaultThrottle
	}
	if b.grace <= 0 {
		b.grace = int64(DefaultGrace)
	}
	if !(b.rate > 0 && b.rate <= math.MaxFloat64) {
		b.rate = 1
	}
	return b
}

// PublishTrade adds a trade to the candles of its symbol. Call it from the
// feed's goroutine, one call at a time; t is only borrowed. It may publish
// candles before it returns.
func (b *Builder) PublishTrade(t *protocol.Trade) {
	now := time.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	price, ok := toFixed(t.Price, t.PricePrec)
	size, ok2 := toFixed(t.Size, t.SizePrec)
	if !ok || !ok2 || size < 0 || t.TS > math.MaxInt64-int64(time.Hour) || t.TS < math.MinInt64+int64(time.Hour) {
		b.stats.Rejected++
		return
	}
	sym := b.syms[t.Symbol]
	if sym == nil {
		// A copy, so a symbol sliced from a larger message does not keep it alive.
		sym = &symbol{name: strings.Clone(t.Symbol), epoch: t.Epoch}
		for i := range sym.series {
			sym.series[i] = series{sym: sym, iv: protocol.Interval(i), floor: math.MinInt64, index: -1}
		}
		b.syms[sym.name] = sym
	}
	switch {
	case t.Epoch < sym.epoch:
		b.stats.Stale++
		return
	case t.Epoch > sym.epoch:
		b.closeSymbolLocked(sym)
		sym.epoch = t.Epoch
	}
	b.clock = max(b.clock, t.TS)
	b.anchor = now
	limit := subSat(b.clock, b.grace)
	rejected := false
	for _, iv := range b.intervals {
		s := &sym.series[iv]
		if s.open && (t.TS >= s.c.end || s.c.end <= limit) {
			b.closeLocked(s)
		}
		d := int64(iv.Duration())
		start := t.TS - ((t.TS%d)+d)%d
		if t.TS < s.floor || start+d <= limit {
			b.stats.Late[iv]++
			continue
		}
		p, sz := price, size
		if s.open && (s.c.pricePrec != t.PricePrec || s.c.volPrec != t.SizePrec) {
			// The symbol's precision changed under an open candle: keep the candle's.
			var ok, ok2 bool
			p, ok = toFixed(t.Price, s.c.pricePrec)
			sz, ok2 = toFixed(t.Size, s.c.volPrec)
			if !ok || !ok2 || sz < 0 {
				rejected = true
				continue
			}
		}
		b.addLocked(s, t, p, sz, start, now)
	}
	if rejected {
		b.stats.Rejected++
	}
	b.closeThroughLocked(limit)
	b.kickLocked()
}

// addLocked adds a trade to s's open candle, opening one at start if none
// is open, and sends the change or schedules it.
func (b *Builder) addLocked(s *series, t *protocol.Trade, price, size int64, start int64, now time.Time) {
	c := &s.c
	if !s.open {
		*c = ohlcv{
			start: start, end: start + int64(s.iv.Duration()),
			open: t.Price, high: t.Price, low: t.Price, close: t.Price, hi: price, lo: price,
			trades: 1, epoch: s.sym.epoch, pricePrec: t.PricePrec, volPrec: t.SizePrec,
		}
		c.vol.add(uint64(size))
		s.open, s.floor = true, start
		b.addEndLocked(s)
		b.sendLocked(s, now)
		return
	}
	if price > c.hi {
		c.high, c.hi = t.Price, price
	}
	if price < c.lo {
		c.low, c.lo = t.Price, price
	}
	c.close = t.Price
	c.vol.add(uint64(size))
	c.trades++
	if now.Sub(s.sent) >= b.throttle {
		b.sendLocked(s, now)
	} else if s.index < 0 {
		heap.Push(&b.pending, s)
	}
}

// sendLocked publishes s's open candle as it stands.
func (b *Builder) sendLocked(s *series, now time.Time) {
	if s.index >= 0 {
		heap.Remove(&b.pending, s.index)
	}
	s.sent = now
	b.publishLocked(s, false)
}

// closeLocked publishes s's open candle as closed and ends it.
func (b *Builder) closeLocked(s *series) {
	if s.index >= 0 {
		heap.Remove(&b.pending, s.index)
	}
	b.publishLocked(s, true)
	s.open, s.floor = false, s.c.end
	s.c = ohlcv{} // drop the decimals
}

// closeSymbolLocked closes every open candle of sym and lifts its floors:
// a new epoch starts fresh candles.
func (b *Builder) closeSymbolLocked(sym *symbol) {
	for i := range sym.series {
		s := &sym.series[i]
		if s.open {
			b.closeLocked(s)
		}
		s.floor = math.MinInt64
	}
}

func (b *Builder) publishLocked(s *series, closed bool) {
	c := &s.c
	b.out = protocol.Candle{
		Symbol: s.sym.name, Interval: s.iv, Start: c.start,
		Open: c.open, High: c.high, Low: c.low, Close: c.close, Volume: c.vol.decimal(c.volPrec),
		Trades: c.trades, Closed: closed, Epoch: c.epoch,
		PricePrec: c.pricePrec, VolumePrec: c.volPrec,
	}
	b.pub.PublishCandle(&b.out)
	b.out = protocol.Candle{} // do not keep the decimals alive
}

// addEndLocked registers s's open candle for the clock to close.
func (b *Builder) addEndLocked(s *series) {
	ends := b.ends[s.iv]
	i := len(ends)
	for i > 0 && ends[i-1].end > s.c.end {
		i--
	}
	if i > 0 && ends[i-1].end == s.c.end {
		ends[i-1].series = append(ends[i-1].series, s)
		return
	}
	var list []*series
	if n := len(b.spare); n > 0 {
		list, b.spare = b.spare[n-1], b.spare[:n-1]
	}
	ends = append(ends, endBucket{})
	copy(ends[i+1:], ends[i:])
	ends[i] = endBucket{end: s.c.end, series: append(list, s)}
	b.ends[s.iv] = ends
}

// closeThroughLocked closes every open candle whose end is at or before
// limit.
func (b *Builder) closeThroughLocked(limit int64) {
	for _, iv := range b.intervals {
		ends := b.ends[iv]
		for len(ends) > 0 && ends[0].end <= limit {
			for _, s := range ends[0].series {
				if s.open && s.c.end == ends[0].end {
					b.closeLocked(s)
				}
			}
			clear(ends[0].series)
			b.spare = append(b.spare, ends[0].series[:0])
			ends = ends[1:]
		}
		b.ends[iv] = ends
	}
}

// wallLimitLocked is the clock at now, less the grace: where candles end
// that the clock closes.
func (b *Builder) wallLimitLocked(now time.Time) int64 {
	run := now.Sub(b.anchor)
	if b.rate != 1 {
		run = time.Duration(min(float64(run)*b.rate, math.MaxInt64/2))
	}
	return subSat(addSat(b.clock, int64(run)), b.grace)
}

// nextLocked returns when Run has something to do: a pending change to
// send, or an open candle for the clock to close.
func (b *Builder) nextLocked() (next time.Time, ok bool) {
	if len(b.pending) > 0 {
		next, ok = b.pending[0].sent.Add(b.throttle), true
	}
	if b.anchor.IsZero() {
		return next, ok
	}
	for _, iv := range b.intervals {
		if len(b.ends[iv]) == 0 {
			continue
		}
		// The clock reaches end+grace this long after the anchor.
		run := time.Duration(b.ends[iv][0].end - b.clock + b.grace) // ends are within an hour of clock
		if b.rate != 1 {
			// Round up, with a margin that keeps float rounding in
			// wallLimitLocked from landing a nanosecond short.
			run = time.Duration(min(math.Ceil(float64(run)/b.rate)+math.Ceil(1/b.rate)+1, math.MaxInt64/4))
		}
		if at := b.anchor.Add(run); !ok || at.Before(next) {
			next, ok = at, true
		}
	}
	return next, ok
}

// kickLocked wakes Run if something is due before it planned to look.
func (b *Builder) kickLocked() {
	next, ok := b.nextLocked()
	if !ok || !b.timerAt.IsZero() && !next.Before(b.timerAt) {
		return
	}
	b.timerAt = next
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// Run sends the throttled changes of open candles and closes candles by
// the clock, until ctx is done; then it returns nil. It is the Builder's
// one goroutine. Without Run, candles still close when later trades come,
// but quiet candles and held-back changes wait. Run returns an error at
// once if it is already running.
func (b *Builder) Run(ctx context.Context) error {
	if !b.running.CompareAndSwap(false, true) {
		return errors.New("candle: Builder.Run is already running")
	}
	defer b.running.Store(false)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		if wait, ok := b.tick(time.Now()); ok {
			timer.Reset(wait)
		} else {
			timer.Stop()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-b.wake:
		case <-timer.C:
		}
	}
}

// tick does what is due at now and says how long Run may wait.
func (b *Builder) tick(now time.Time) (wait time.Duration, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.anchor.IsZero() {
		b.closeThroughLocked(b.wallLimitLocked(now))
	}
	for len(b.pending) > 0 && !b.pending[0].sent.Add(b.throttle).After(now) {
		b.sendLocked(b.pending[0], now)
	}
	next, ok := b.nextLocked()
	if !ok {
		b.timerAt = time.Time{}
		return 0, false
	}
	b.timerAt = next
	return max(next.Sub(now), 0), true
}

// Delist forgets symbols: their open candles are dropped without a frame
// (their subscribers are told the symbol is gone). Call it from the feed's
// goroutine.
func (b *Builder) Delist(names []string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, name := range names {
		sym := b.syms[name]
		if sym == nil {
			continue
		}
		for i := range sym.series {
			s := &sym.series[i]
			if s.index >= 0 {
				heap.Remove(&b.pending, s.index)
			}
			s.open = false // its entries in ends are skipped
		}
		delete(b.syms, name)
	}
}

// Stats returns the Builder's counters. It may be called from any
// goroutine.
func (b *Builder) Stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	st := b.stats
	st.Symbols = len(b.syms)
	for _, sym := range b.syms {
		for i := range sym.series {
			if sym.series[i].open {
				st.Open++
			}
		}
	}
	return st
}

// dueHeap orders series with a pending change by when it may be sent.
type dueHeap []*series

func (h dueHeap) Len() int           { return len(h) }
func (h dueHeap) Less(i, j int) bool { return h[i].sent.Before(h[j].sent) }
func (h dueHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *dueHeap) Push(x any) {
	s := x.(*series)
	s.index = len(*h)
	*h = append(*h, s)
}
func (h *dueHeap) Pop() any {
	old := *h
	s := old[len(old)-1]
	old[len(old)-1] = nil
	s.index = -1
	*h = old[:len(old)-1]
	return s
}

func addSat(a, b int64) int64 {
	if s := a + b; (s > a) == (b > 0) {
		return s
	}
	if b > 0 {
		return math.MaxInt64
	}
	return math.MinInt64
}

// subSat is addSat(a, -b) for b > 0.
func subSat(a, b int64) int64 { return addSat(a, -b) }
