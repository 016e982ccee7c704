package sim

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"sync/atomic"
	"time"

	"github.com/shopspring/decimal"
	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/protocol"
)

// DefaultRate is the total update rate when Config.Rate is 0.
const DefaultRate = 1000

// Config configures a Market. The zero value runs every symbol of the
// universe, bursty, at DefaultRate updates per second, with seed 0.
type Config struct {
	// Seed selects the sequence of updates. The same seed and config give
	// the same sequence of ticks (symbol, seq, prices, volume), whatever the
	// timing; only TS depends on the clock.
	Seed int64

	// Rate is the total number of updates per second across all symbols;
	// 0 means DefaultRate. The long-run average equals Rate exactly.
	Rate float64

	// Symbols runs only the first Symbols symbols of Universe(); 0 runs all.
	Symbols int

	// Steady spaces updates evenly and visits the symbols round-robin.
	// Otherwise updates come in bursts and popular symbols (early in the
	// universe) tick more often than the rest.
	Steady bool

	// Clock gives the TS of each tick; nil means time.Now.
	Clock func() time.Time
}

// Market is a deterministic simulated market. It implements feed.Feed.
//
// Market's state belongs to Run; Symbols may be called at any time.
type Market struct {
	// Static after New.
	cfg     Config
	rate    float64
	clock   func() time.Time
	insts   []instrument // the running symbols, a prefix of the universe
	cumW    []float64    // cumulative popularity weights of insts, for bursty picks
	running atomic.Bool  // guards against concurrent Run calls
	lastTS  atomic.Int64 // TS of the last published tick, for Health

	// Owned by Run (and next).
	rng    *rand.Rand
	states []state
	n      uint64 // updates produced so far
}

// state is one symbol's session, in integer units of 10^-prec.
type state struct {
	seq         uint64
	price       int64 // in ticks
	high, low   int64 // in ticks
	volume      int64 // in units of 10^-VolumePrec
	open        decimal.Decimal
	highD, lowD decimal.Decimal // decimal forms of high and low, kept in step
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
	}
	m := &Market{cfg: cfg, rate: cfg.Rate, clock: cfg.Clock}
	if m.rate == 0 {
		m.rate = DefaultRate
	}
	if m.clock == nil {
		m.clock = time.Now
	}
	n := cfg.Symbols
	if n == 0 {
		n = len(instruments)
	}
	m.insts = instruments[:n:n]
	m.cumW = make([]float64, n)
	var sum float64
	for i := range m.insts {
		sum += m.insts[i].weight
		m.cumW[i] = sum
	}
	m.rng = rand.New(rand.NewPCG(uint64(cfg.Seed), 0x7469636b657264)) // "tickerd"
	m.states = make([]state, n)
	for i := range m.insts {
		in := &m.insts[i]
		p := in.startUnits / in.tickUnits
		open := decimal.New(in.startUnits, -in.sym.PricePrec)
		m.states[i] = state{price: p, high: p, low: p, open: open, highD: open, lowD: open}
	}
	return m, nil
}

// Symbols returns the symbols this market publishes: the first
// Config.Symbols of Universe().
func (m *Market) Symbols() []feed.Symbol {
	out := make([]feed.Symbol, len(m.insts))
	for i := range m.insts {
		out[i] = m.insts[i].sym
	}
	return out
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

// Mean reversion per update, as a fraction of the distance to the open.
const reversion = 0.002

// next advances the market by one update and writes the updated symbol's
// full state into t. Run publishes what next produces; the sequence depends
// only on the seed and the config, never on timing (only t.TS reads the
// clock).
func (m *Market) next(t *protocol.Tick) {
	var i int
	if m.cfg.Steady {
		i = int(m.n % uint64(len(m.insts)))
	} else {
		i = m.pick()
	}
	m.n++
	in, st := &m.insts[i], &m.states[i]
	m.step(in, st)

	prec := in.sym.PricePrec
	spread := 1 + m.rng.Int64N(in.maxSpread)
	bid := st.price - m.rng.Int64N(spread+1) // price is within [bid, ask]
	ask := bid + spread

	t.Symbol = in.sym.Name
	t.Seq = st.seq
	t.Price = decimal.New(st.price*in.tickUnits, -prec)
	t.Bid = decimal.New(bid*in.tickUnits, -prec)
	t.Ask = decimal.New(ask*in.tickUnits, -prec)
	t.Open = st.open
	t.High = st.highD
	t.Low = st.lowD
	t.Volume = decimal.New(st.volume, -in.sym.VolumePrec)
	t.PricePrec = prec
	t.VolumePrec = in.sym.VolumePrec
	t.TS = m.clock().UnixNano()
}

// pick draws a symbol index with probability proportional to its weight.
func (m *Market) pick() int {
	x := m.rng.Float64() * m.cumW[len(m.cumW)-1]
	i := sort.SearchFloat64s(m.cumW, x)
	if i >= len(m.cumW) { // x rounded up to the total
		i = len(m.cumW) - 1
	}
	return i
}

// step moves one symbol: a whole number of ticks of random walk with a pull
// back toward the open, a trade, and the session statistics.
func (m *Market) step(in *instrument, st *state) {
	startTicks := in.startUnits / in.tickUnits
	sigma := max(in.vol*float64(st.price), 0.6)
	pull := -reversion * float64(st.price-startTicks)
	k := int64(math.Round(m.rng.NormFloat64()*sigma + pull))
	st.price = max(st.price+k, in.floorTicks)

	size := m.tradeSize(in)
	if st.volume > math.MaxInt64-size {
		// Cumulative volume would overflow int64 (after days at extreme
		// rates): roll the session like a market does at the close.
		st.volume = 0
		st.high, st.low = st.price, st.price
		st.open = decimal.New(st.price*in.tickUnits, -in.sym.PricePrec)
		st.highD, st.lowD = st.open, st.open
	}
	st.volume += size
	st.seq++

	if st.price > st.high {
		st.high = st.price
		st.highD = decimal.New(st.high*in.tickUnits, -in.sym.PricePrec)
	}
	if st.price < st.low {
		st.low = st.price
		st.lowD = decimal.New(st.low*in.tickUnits, -in.sym.PricePrec)
	}
}

// tradeSize draws a trade size in units of 10^-VolumePrec, always >= 1.
func (m *Market) tradeSize(in *instrument) int64 {
	r := m.rng
	switch in.sym.Class {
	case ClassEquity:
		switch x := r.Float64(); {
		case x < 0.55: // round lots
			return 100 * (1 + r.Int64N(5))
		case x < 0.97: // odd lots
			return 1 + r.Int64N(99)
		default: // blocks
			return 1000 * (1 + r.Int64N(20))
		}
	case ClassFX: // notional in base currency, thousands
		return 1000 * (1 + r.Int64N(2000))
	default: // crypto: exponential in quote value, ~ $2,000 mean
		price := float64(in.startUnits) / math.Pow10(int(in.sym.PricePrec))
		base := r.ExpFloat64() * 2000 / price
		units := int64(base * math.Pow10(int(in.sym.VolumePrec)))
		return max(units, 1)
	}
}

var errRunning = errors.New("sim: Run is already running")
