package sim

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"sync/atomic"
	"time"

	"github.com/tickerd/tickerd/feed"
)

// Defaults for the zero fields of Config.
const (
	DefaultRate      = 1000             // updates per second
	DefaultBookDepth = 200              // levels per side of a built-in symbol's book
	DefaultDayLength = 10 * time.Minute // a simulated trading day in universe mode
)

// Bounds of Config.
const (
	MaxBookDepth = 1000
	MaxUniverse  = 1_000_000
)

// Config configures a Market. The zero value runs every built-in symbol,
// bursty, at DefaultRate updates per second, with books and trades, seed 0.
type Config struct {
	// Seed selects the sequence of updates. The same seed and config give
	// the same sequence of quotes, trades, book updates and listings,
	// whatever the timing; only TS depends on the clock.
	Seed int64

	// Rate is the total number of updates per second across all symbols;
	// 0 means DefaultRate. Each update publishes one quote (and the book
	// changes and trades that lead to it). The long-run average equals
	// Rate exactly.
	Rate float64

	// Symbols runs only the first Symbols symbols of Universe(); 0 runs all.
	Symbols int

	// Steady spaces updates evenly and visits the symbols round-robin.
	// Otherwise updates come in bursts and popular symbols (early in the
	// universe) tick more often than the rest.
	Steady bool

	// Clock gives the TS of each update; nil means time.Now.
	Clock func() time.Time

	// BookDepth is how many price levels each side of a built-in symbol's
	// book keeps; 0 means DefaultBookDepth. Generated symbols (Universe)
	// keep at most 10, as thinly traded instruments do.
	BookDepth int

	// QuotesOnly publishes quotes only, for load tests of the quote path.
	// Books and trades are still simulated, so the quotes are the same as
	// without it, but PublishBook and PublishTrade are never called.
	QuotesOnly bool

	// Universe, when not 0, runs a large universe of Universe symbols
	// (len(Universe()) to MaxUniverse): the built-in ones, then generated
	// equities (a tenth of the rest), then option contracts on the equities
	// (the others). Options are listed at the start of each simulated
	// trading day and delisted at the end of the day they expire; see the
	// package doc. Universe and Symbols cannot both be set.
	Universe int

	// DayLength is the length of a simulated trading day in universe mode;
	// 0 means DefaultDayLength. A day is DayLength*Rate updates long, so
	// where the listings fall in the sequence is deterministic too.
	DayLength time.Duration
}

// quietDepth is the book depth of generated symbols.
const quietDepth = 10

// Market is a deterministic simulated market. It implements feed.Feed and
// feed.HealthReporter.
//
// Market's state belongs to Run; Symbols and Health may be called at any
// time.
type Market struct {
	// Static after New.
	cfg     Config
	rate    float64
	clock   func() time.Time
	base    []feed.Symbol // the symbols listed before Run: what Symbols returns
	running atomic.Bool   // guards against concurrent Run calls
	lastTS  atomic.Int64  // TS of the last published update, for Health

	// Owned by Run (and next).
	rng   *rand.Rand
	syms  []symbol  // every symbol: the base ones, then option slots (universe)
	cumW  []float64 // cumulative popularity weights of syms, for bursty picks
	uni   *universe // nil unless Config.Universe
	n     uint64    // updates produced so far
	ts    int64     // TS of the update in progress
	ev    events    // reused values handed to the sink
	cache decCache
	decay [decayLen]float64 // mean level size by distance from the touch, relative to the touch
}

// symbol is one instrument and its simulated market. Prices are integers in
// units of 10^-PricePrec ("units"), always whole multiples of tick: every
// price stays on the tick grid by construction and no float ever holds a
// price. Sizes are in units of 10^-VolumePrec.
//
// Its size matters: a large universe holds one per symbol (see the package
// doc, "Memory").
type symbol struct {
	// Static while the symbol is listed.
	sym    feed.Symbol
	tick   int64   // tick size, in units
	open   int64   // session open; the fair price is pulled toward it
	weight float32 // relative update frequency in bursty mode
	kind   kind
	depth  uint16 // levels per side of its book
	active bool   // updated since the day began (universe mode)

	// The session.
	seq, tradeSeq, bookSeq uint64 // last seq published on each channel
	fair                   int64  // the price the order flow pushes toward
	last, high, low        int64  // last, highest and lowest trade price (the open before any trade)
	volume                 int64  // sum of the sizes of the session's trades
	book                   *book  // nil until the symbol's first update
}

// New returns a Market for cfg, or an error naming the bad field.
func New(cfg Config) (*Market, error) {
	switch {
	case math.IsNaN(cfg.Rate) || math.IsInf(cfg.Rate, 0):
		return nil, fmt.Errorf("sim: rate %v is not a finite number", cfg.Rate)
	case cfg.Rate < 0:
		return nil, fmt.Errorf("sim: rate %v is negative", cfg.Rate)
	case cfg.Symbols < 0:
		return nil, fmt.Errorf("sim: symbols %d is negative", cfg.Symbols)
	case cfg.Symbols > len(instruments):
		return nil, fmt.Errorf("sim: symbols %d is more than the %d in the universe", cfg.Symbols, len(instruments))
	case cfg.BookDepth < 0 || cfg.BookDepth > MaxBookDepth:
		return nil, fmt.Errorf("sim: book depth %d is not between 0 and %d", cfg.BookDepth, MaxBookDepth)
	case cfg.Universe != 0 && (cfg.Universe < len(instruments) || cfg.Universe > MaxUniverse):
		return nil, fmt.Errorf("sim: universe %d is not between %d (the built-in symbols) and %d", cfg.Universe, len(instruments), MaxUniverse)
	case cfg.Universe != 0 && cfg.Symbols != 0:
		return nil, errors.New("sim: universe and symbols cannot both be set")
	case cfg.DayLength < 0:
		return nil, fmt.Errorf("sim: day length %v is negative", cfg.DayLength)
	}
	m := &Market{cfg: cfg, rate: cfg.Rate, clock: cfg.Clock, cache: newDecCache(cacheBits)}
	if cfg.QuotesOnly {
		m.cache = newDecCache(quotesCacheBits)
	}
	if m.rate == 0 {
		m.rate = DefaultRate
	}
	if m.clock == nil {
		m.clock = time.Now
	}
	depth := cfg.BookDepth
	if depth == 0 {
		depth = DefaultBookDepth
	}
	n := cfg.Symbols
	if n == 0 {
		n = len(instruments)
	}
	m.syms = append(make([]symbol, 0, max(n, cfg.Universe)), instruments[:n]...)
	for i := range m.syms {
		m.syms[i].depth = uint16(depth)
	}
	if cfg.Universe != 0 {
		day := cfg.DayLength
		if day == 0 {
			day = DefaultDayLength
		}
		m.uni = newUniverse(m, cfg.Universe, max(1, uint64(day.Seconds()*m.rate)))
	}
	for i := range m.syms {
		if s := &m.syms[i]; s.sym.Class != ClassOption {
			m.base = append(m.base, s.sym)
			s.start()
		}
	}
	m.cumW = make([]float64, len(m.syms))
	m.weigh()
	for d := range m.decay {
		m.decay[d] = 0.25 + 0.75*math.Exp(-float64(d)/8)
	}
	m.rng = rand.New(rand.NewPCG(uint64(cfg.Seed), 0x7469636b657264)) // "tickerd"
	return m, nil
}

// start begins a symbol's session at its open.
func (s *symbol) start() {
	s.fair, s.last, s.high, s.low, s.volume = s.open, s.open, s.open, s.open, 0
	s.seq, s.tradeSeq, s.bookSeq = 0, 0, 0
	s.book = nil
}

// weigh computes the cumulative weights of bursty picks.
func (m *Market) weigh() {
	var sum float64
	for i := range m.syms {
		sum += float64(m.syms[i].weight)
		m.cumW[i] = sum
	}
}

// Symbols returns the symbols listed before Run: the first Config.Symbols
// of Universe(), or in universe mode every symbol but the options, which
// Run lists and delists through the sink as their days come.
func (m *Market) Symbols() []feed.Symbol {
	return append([]feed.Symbol(nil), m.base...)
}

// Health reports the market as one source, "sim", connected while Run runs.
// It implements feed.HealthReporter.
func (m *Market) Health() []feed.Health {
	h := feed.Health{Source: "sim", Connected: m.running.Load()}
	if ts := m.lastTS.Load(); ts != 0 {
		h.LastUpdate = time.Unix(0, ts)
	}
	return []feed.Health{h}
}

// zipf is the popularity weight of the i-th symbol of the universe.
func zipf(i int) float64 { return 1 / math.Pow(float64(i+1), 0.9) }

// pick draws a symbol index with probability proportional to its weight.
func (m *Market) pick() int {
	x := m.rng.Float64() * m.cumW[len(m.cumW)-1]
	i := sort.SearchFloat64s(m.cumW, x)
	if i >= len(m.cumW) { // x rounded up to the total
		i = len(m.cumW) - 1
	}
	return i
}

// next advances the market by one update: the listings due at a day
// boundary (universe mode), then one symbol's book changes and trades and
// the quote that follows from them, all published into sink. The sequence
// depends only on the seed and the config, never on timing (only TS reads
// the clock).
func (m *Market) next(sink feed.Sink) {
	if m.uni != nil {
		m.uni.advance(m, sink)
	}
	var i int
	if m.cfg.Steady {
		i = int(m.n % uint64(len(m.syms)))
	} else {
		i = m.pick()
	}
	m.n++
	m.ts = m.clock().UnixNano()
	s := &m.syms[i]
	s.active = true
	m.update(s, sink)
}

var errRunning = errors.New("sim: Run is already running")
