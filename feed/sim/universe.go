package sim

import (
	"fmt"

	"github.com/shopspring/decimal"
	"github.com/tickerd/tickerd/feed"
)

// Instrument classes of the universe.
const (
	ClassEquity = "equity"
	ClassCrypto = "crypto"
	ClassFX     = "fx"
	ClassOption = "option" // generated option contracts, in universe mode
)

// spec is one instrument of the universe: its wire description plus the
// parameters of its random walk.
type spec struct {
	name       string
	class      string
	start      string // session open, a decimal on the tick grid
	tick       string // tick size
	pricePrec  int32
	volumePrec int32
}

// The universe, in its fixed order. The first ten are the dashboard's default
// watchlist; after them come equities, crypto pairs and FX pairs. Start prices
// are in the neighbourhood of real late-2025 quotes; tick sizes follow the
// venues (US equities 0.01, Coinbase quote increments, FX pips/10).
var builtin = []spec{
	// Default watchlist.
	{"AAPL", ClassEquity, "268.50", "0.01", 2, 0},
	{"MSFT", ClassEquity, "507.20", "0.01", 2, 0},
	{"NVDA", ClassEquity, "186.60", "0.01", 2, 0},
	{"TSLA", ClassEquity, "401.25", "0.01", 2, 0},
	{"AMZN", ClassEquity, "222.70", "0.01", 2, 0},
	{"GOOGL", ClassEquity, "289.45", "0.01", 2, 0},
	{"META", ClassEquity, "597.70", "0.01", 2, 0},
	{"BTC-USD", ClassCrypto, "91250.00", "0.01", 2, 8},
	{"ETH-USD", ClassCrypto, "3020.50", "0.01", 2, 8},
	{"EUR/USD", ClassFX, "1.15420", "0.00001", 5, 0},

	// US equities and ETFs.
	{"AVGO", ClassEquity, "342.10", "0.01", 2, 0},
	{"BRK.B", ClassEquity, "505.30", "0.01", 2, 0},
	{"JPM", ClassEquity, "302.40", "0.01", 2, 0},
	{"V", ClassEquity, "330.15", "0.01", 2, 0},
	{"LLY", ClassEquity, "1040.80", "0.01", 2, 0},
	{"UNH", ClassEquity, "325.60", "0.01", 2, 0},
	{"XOM", ClassEquity, "117.35", "0.01", 2, 0},
	{"MA", ClassEquity, "545.20", "0.01", 2, 0},
	{"JNJ", ClassEquity, "197.40", "0.01", 2, 0},
	{"PG", ClassEquity, "149.10", "0.01", 2, 0},
	{"HD", ClassEquity, "355.75", "0.01", 2, 0},
	{"COST", ClassEquity, "915.30", "0.01", 2, 0},
	{"ABBV", ClassEquity, "228.90", "0.01", 2, 0},
	{"WMT", ClassEquity, "102.45", "0.01", 2, 0},
	{"NFLX", ClassEquity, "111.20", "0.01", 2, 0},
	{"BAC", ClassEquity, "52.15", "0.01", 2, 0},
	{"KO", ClassEquity, "70.30", "0.01", 2, 0},
	{"PEP", ClassEquity, "150.25", "0.01", 2, 0},
	{"CRM", ClassEquity, "240.60", "0.01", 2, 0},
	{"ORCL", ClassEquity, "220.45", "0.01", 2, 0},
	{"AMD", ClassEquity, "240.10", "0.01", 2, 0},
	{"ADBE", ClassEquity, "330.80", "0.01", 2, 0},
	{"CSCO", ClassEquity, "72.55", "0.01", 2, 0},
	{"TMO", ClassEquity, "570.20", "0.01", 2, 0},
	{"MRK", ClassEquity, "95.40", "0.01", 2, 0},
	{"CVX", ClassEquity, "152.30", "0.01", 2, 0},
	{"ACN", ClassEquity, "245.10", "0.01", 2, 0},
	{"MCD", ClassEquity, "300.65", "0.01", 2, 0},
	{"ABT", ClassEquity, "128.20", "0.01", 2, 0},
	{"WFC", ClassEquity, "84.10", "0.01", 2, 0},
	{"DIS", ClassEquity, "107.35", "0.01", 2, 0},
	{"INTC", ClassEquity, "35.20", "0.01", 2, 0},
	{"IBM", ClassEquity, "295.40", "0.01", 2, 0},
	{"QCOM", ClassEquity, "170.15", "0.01", 2, 0},
	{"TXN", ClassEquity, "160.30", "0.01", 2, 0},
	{"AMGN", ClassEquity, "330.70", "0.01", 2, 0},
	{"GE", ClassEquity, "290.50", "0.01", 2, 0},
	{"CAT", ClassEquity, "520.40", "0.01", 2, 0},
	{"BA", ClassEquity, "195.25", "0.01", 2, 0},
	{"GS", ClassEquity, "780.90", "0.01", 2, 0},
	{"MS", ClassEquity, "160.45", "0.01", 2, 0},
	{"UBER", ClassEquity, "90.35", "0.01", 2, 0},
	{"PFE", ClassEquity, "25.10", "0.01", 2, 0},
	{"T", ClassEquity, "25.40", "0.01", 2, 0},
	{"VZ", ClassEquity, "41.05", "0.01", 2, 0},
	{"NKE", ClassEquity, "63.20", "0.01", 2, 0},
	{"SBUX", ClassEquity, "84.30", "0.01", 2, 0},
	{"PYPL", ClassEquity, "62.15", "0.01", 2, 0},
	{"PLTR", ClassEquity, "170.60", "0.01", 2, 0},
	{"COIN", ClassEquity, "270.40", "0.01", 2, 0},
	{"MU", ClassEquity, "220.75", "0.01", 2, 0},
	{"F", ClassEquity, "13.20", "0.01", 2, 0},
	{"SPY", ClassEquity, "660.30", "0.01", 2, 0},
	{"QQQ", ClassEquity, "600.15", "0.01", 2, 0},
	{"IWM", ClassEquity, "240.20", "0.01", 2, 0},
	{"DIA", ClassEquity, "460.50", "0.01", 2, 0},

	// Crypto pairs (Coinbase-style product ids and quote increments).
	{"SOL-USD", ClassCrypto, "140.25", "0.01", 2, 8},
	{"XRP-USD", ClassCrypto, "2.1500", "0.0001", 4, 6},
	{"DOGE-USD", ClassCrypto, "0.15820", "0.00001", 5, 1},
	{"ADA-USD", ClassCrypto, "0.4650", "0.0001", 4, 2},
	{"AVAX-USD", ClassCrypto, "14.52", "0.01", 2, 8},
	{"LINK-USD", ClassCrypto, "13.250", "0.001", 3, 2},
	{"DOT-USD", ClassCrypto, "2.520", "0.001", 3, 8},
	{"LTC-USD", ClassCrypto, "88.40", "0.01", 2, 8},
	{"BCH-USD", ClassCrypto, "520.15", "0.01", 2, 8},
	{"SHIB-USD", ClassCrypto, "0.00000880", "0.00000001", 8, 0},
	{"UNI-USD", ClassCrypto, "6.350", "0.001", 3, 6},
	{"XLM-USD", ClassCrypto, "0.248000", "0.000001", 6, 0},
	{"ATOM-USD", ClassCrypto, "2.850", "0.001", 3, 4},
	{"NEAR-USD", ClassCrypto, "2.150", "0.001", 3, 4},
	{"AAVE-USD", ClassCrypto, "175.30", "0.01", 2, 6},
	{"ETC-USD", ClassCrypto, "13.40", "0.01", 2, 8},
	{"FIL-USD", ClassCrypto, "1.650", "0.001", 3, 6},
	{"POL-USD", ClassCrypto, "0.1620", "0.0001", 4, 1},
	{"ARB-USD", ClassCrypto, "0.2150", "0.0001", 4, 2},
	{"SUI-USD", ClassCrypto, "1.6500", "0.0001", 4, 1},

	// FX pairs: pips/10 (5 decimals; 3 for JPY pairs), notional volume.
	{"USD/JPY", ClassFX, "155.120", "0.001", 3, 0},
	{"GBP/USD", ClassFX, "1.31050", "0.00001", 5, 0},
	{"USD/CHF", ClassFX, "0.80150", "0.00001", 5, 0},
	{"AUD/USD", ClassFX, "0.64850", "0.00001", 5, 0},
	{"USD/CAD", ClassFX, "1.41020", "0.00001", 5, 0},
	{"NZD/USD", ClassFX, "0.56200", "0.00001", 5, 0},
	{"EUR/GBP", ClassFX, "0.88070", "0.00001", 5, 0},
	{"EUR/JPY", ClassFX, "179.050", "0.001", 3, 0},
	{"GBP/JPY", ClassFX, "203.300", "0.001", 3, 0},
	{"EUR/CHF", ClassFX, "0.92510", "0.00001", 5, 0},
	{"AUD/JPY", ClassFX, "100.600", "0.001", 3, 0},
	{"EUR/AUD", ClassFX, "1.78000", "0.00001", 5, 0},
	{"USD/SGD", ClassFX, "1.30500", "0.00001", 5, 0},
	{"USD/HKD", ClassFX, "7.77800", "0.00001", 5, 0},
	{"USD/CNH", ClassFX, "7.11200", "0.00001", 5, 0},
	{"USD/MXN", ClassFX, "18.45000", "0.00001", 5, 0},
	{"USD/SEK", ClassFX, "9.52000", "0.00001", 5, 0},
	{"USD/NOK", ClassFX, "10.15000", "0.00001", 5, 0},
	{"USD/ZAR", ClassFX, "17.30000", "0.00001", 5, 0},
	{"USD/INR", ClassFX, "88.7000", "0.0001", 4, 0},
}

// kind selects the parameters of a class of instruments.
type kind uint8

const (
	kindEquity kind = iota
	kindCrypto
	kindFX
	kindOption
	numKinds
)

// Per-kind parameters. Volatility is per update of the symbol: with the
// mean reversion of walk, an equity wanders a few percent around its open,
// like a session.
var kinds = [numKinds]struct {
	class     string
	vol       float64 // std dev of one step of the fair price, as a fraction of the price
	maxSpread int64   // the bid/ask spread is 1..maxSpread ticks after each update; < floor
	floor     int64   // the fair price never goes below this many ticks
}{
	kindEquity: {ClassEquity, 0.0002, 3, 10},
	kindCrypto: {ClassCrypto, 0.0004, 5, 10},
	kindFX:     {ClassFX, 0.00003, 4, 10},
	kindOption: {ClassOption, 0.003, 3, 5},
}

func kindOf(class string) (kind, bool) {
	for k := range numKinds {
		if kinds[k].class == class {
			return k, true
		}
	}
	return 0, false
}

// instruments is the compiled built-in universe, built once at init; a
// malformed table entry is a programming error and panics at init. New
// copies the part it runs.
var instruments = compile(builtin)

func compile(specs []spec) []symbol {
	out := make([]symbol, len(specs))
	seen := make(map[string]bool, len(specs))
	for i, s := range specs {
		in, err := compileSpec(s)
		if err != nil {
			panic(err)
		}
		if seen[s.name] {
			panic(fmt.Sprintf("sim: duplicate symbol %s", s.name))
		}
		seen[s.name] = true
		// Zipf-like popularity: the i-th symbol ticks ~ 1/(i+1)^0.9 as often as the first.
		in.weight = float32(zipf(i))
		out[i] = in
	}
	return out
}

func compileSpec(s spec) (symbol, error) {
	tick, err := decimal.NewFromString(s.tick)
	if err != nil {
		return symbol{}, fmt.Errorf("sim: %s tick: %w", s.name, err)
	}
	start, err := decimal.NewFromString(s.start)
	if err != nil {
		return symbol{}, fmt.Errorf("sim: %s start: %w", s.name, err)
	}
	scale := decimal.New(1, s.pricePrec)
	tu, su := tick.Mul(scale), start.Mul(scale)
	if !tu.IsInteger() || !tu.IsPositive() || !su.IsInteger() || !su.Mod(tu).IsZero() {
		return symbol{}, fmt.Errorf("sim: %s: start %s not on the grid of tick %s at %d decimals", s.name, s.start, s.tick, s.pricePrec)
	}
	k, ok := kindOf(s.class)
	if !ok {
		return symbol{}, fmt.Errorf("sim: %s: unknown class %q", s.name, s.class)
	}
	in := symbol{
		sym: feed.Symbol{
			Name:       s.name,
			Class:      s.class,
			PricePrec:  s.pricePrec,
			VolumePrec: s.volumePrec,
			TickSize:   tick,
		},
		open: su.IntPart(),
		tick: tu.IntPart(),
		kind: k,
	}
	if in.open/in.tick < 10*kinds[k].floor {
		return symbol{}, fmt.Errorf("sim: %s: start %s is too close to the floor", s.name, s.start)
	}
	return in, nil
}

// Universe returns the built-in symbols, in their fixed order: the ten best
// known first (AAPL, MSFT, NVDA, TSLA, AMZN, GOOGL, META, BTC-USD, ETH-USD,
// EUR/USD), then more equities, crypto pairs and FX pairs.
// Config.Symbols = N runs the first N of this list; Config.Universe runs all
// of them and generated symbols after them.
func Universe() []feed.Symbol {
	out := make([]feed.Symbol, len(instruments))
	for i := range instruments {
		out[i] = instruments[i].sym
	}
	return out
}
