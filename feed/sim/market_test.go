package sim

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/protocol"
)

// fakeClock returns a clock that advances by one millisecond per call.
func fakeClock() func() time.Time {
	t := time.Unix(1763718000, 0)
	return func() time.Time {
		t = t.Add(time.Millisecond)
		return t
	}
}

func mustNew(t testing.TB, cfg Config) *Market {
	t.Helper()
	m, err := New(cfg)
	if err != nil {
		t.Fatalf("New(%+v): %v", cfg, err)
	}
	return m
}

// tickString is every field of a tick as the wire carries it, for
// comparisons.
func tickString(t *protocol.Tick) string {
	return string(protocol.AppendTick(nil, t))
}

// quotes is a sink that keeps the quotes as the wire carries them.
type quotes struct {
	feed.SinkFuncs
	lines []string
	last  protocol.Tick
}

func (q *quotes) Publish(t *protocol.Tick) {
	q.lines = append(q.lines, tickString(t))
	q.last = *t
}

// sequence returns the next n quotes of m.
func sequence(m *Market, n int) []string {
	q := &quotes{}
	for range n {
		m.next(q)
	}
	return q.lines
}

// everything returns every event of the next n updates of m, in order,
// one line each.
func everything(m *Market, n int) []string {
	var out []string
	var b []byte
	str := func(ss ...string) {
		for _, s := range ss {
			b = append(append(b, s...), ' ')
		}
	}
	num := func(vs ...int64) {
		for _, v := range vs {
			b = append(strconv.AppendInt(b, v, 10), ' ')
		}
	}
	end := func() {
		out = append(out, string(b))
		b = b[:0]
	}
	sink := feed.SinkFuncs{
		Tick: func(t *protocol.Tick) { out = append(out, tickString(t)) },
		Trade: func(t *protocol.Trade) {
			str("trade", t.Symbol, t.Price.String(), t.Size.String(), t.Side.String())
			num(int64(t.Seq), t.TS)
			end()
		},
		Book: func(u *protocol.BookUpdate) {
			str("book", u.Symbol, strconv.FormatBool(u.Snapshot))
			num(int64(u.Seq), u.TS)
			for _, l := range append(u.Bids, u.Asks...) {
				num(l.Price, l.Size)
			}
			end()
		},
		Listed: func(syms []feed.Symbol) {
			for _, s := range syms {
				str("list", s.Name, s.Class, s.TickSize.String())
				num(int64(s.PricePrec), int64(s.VolumePrec))
			}
			end()
		},
		Delisted: func(names []string) {
			str("delist")
			str(names...)
			end()
		},
	}
	for range n {
		m.next(sink)
	}
	return out
}

func TestUniverse(t *testing.T) {
	u := Universe()
	if len(u) < 100 {
		t.Errorf("len(Universe()) = %d, want >= 100", len(u))
	}
	first := []string{"AAPL", "MSFT", "NVDA", "TSLA", "AMZN", "GOOGL", "META", "BTC-USD", "ETH-USD", "EUR/USD"}
	for i, name := range first {
		if u[i].Name != name {
			t.Errorf("Universe()[%d] = %s, want %s", i, u[i].Name, name)
		}
	}
	classes := map[string]int{}
	for _, s := range u {
		classes[s.Class]++
		if s.TickSize.Exponent() < -s.PricePrec {
			t.Errorf("%s: tick size %s finer than %d decimals", s.Name, s.TickSize, s.PricePrec)
		}
		switch s.Class {
		case ClassEquity:
			if s.PricePrec != 2 || !s.TickSize.Equal(decimal.RequireFromString("0.01")) || s.VolumePrec != 0 {
				t.Errorf("%s: equity with prec %d tick %s volume prec %d, want 2, 0.01, 0", s.Name, s.PricePrec, s.TickSize, s.VolumePrec)
			}
		case ClassFX:
			if s.VolumePrec != 0 {
				t.Errorf("%s: fx volume prec %d, want 0", s.Name, s.VolumePrec)
			}
		}
	}
	for class, min := range map[string]int{ClassEquity: 55, ClassCrypto: 18, ClassFX: 18} {
		if classes[class] < min {
			t.Errorf("Universe() has %d %s symbols, want >= %d", classes[class], class, min)
		}
	}
	for k, p := range kinds {
		if p.maxSpread >= p.floor {
			t.Errorf("kind %d: max spread %d ticks >= floor %d ticks: bid could reach 0", k, p.maxSpread, p.floor)
		}
	}

	// Universe returns a copy.
	u[0].Name = "changed"
	if Universe()[0].Name != "AAPL" {
		t.Errorf("Universe() shares its backing array with callers")
	}
}

func TestSymbols(t *testing.T) {
	for _, n := range []int{0, 1, 10, len(instruments)} {
		m := mustNew(t, Config{Symbols: n})
		got := m.Symbols()
		want := n
		if n == 0 {
			want = len(instruments)
		}
		if len(got) != want {
			t.Errorf("Config{Symbols: %d}.Symbols() has %d symbols, want %d", n, len(got), want)
			continue
		}
		for i := range got {
			if got[i].Name != instruments[i].sym.Name {
				t.Errorf("Config{Symbols: %d}.Symbols()[%d] = %s, want %s", n, i, got[i].Name, instruments[i].sym.Name)
			}
		}
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string // substring of the error; "" for no error
	}{
		{"zero", Config{}, ""},
		{"all", Config{Symbols: len(instruments), Rate: 100000, Steady: true}, ""},
		{"negative rate", Config{Rate: -1}, "rate -1 is negative"},
		{"NaN rate", Config{Rate: nan()}, "not a finite number"},
		{"infinite rate", Config{Rate: inf()}, "not a finite number"},
		{"negative symbols", Config{Symbols: -3}, "symbols -3 is negative"},
		{"too many symbols", Config{Symbols: len(instruments) + 1}, "more than the"},
		{"negative book depth", Config{BookDepth: -1}, "book depth -1"},
		{"deep book", Config{BookDepth: MaxBookDepth + 1}, "book depth 1001 is not between 0 and 1000"},
		{"book depth", Config{BookDepth: 5, QuotesOnly: true}, ""},
		{"universe", Config{Universe: 1000, DayLength: time.Minute}, ""},
		{"small universe", Config{Universe: 50}, "universe 50 is not between 106"},
		{"huge universe", Config{Universe: MaxUniverse + 1}, "is not between"},
		{"negative universe", Config{Universe: -1}, "universe -1"},
		{"universe and symbols", Config{Universe: 1000, Symbols: 5}, "cannot both be set"},
		{"negative day", Config{Universe: 1000, DayLength: -time.Second}, "day length -1s is negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("New(%+v) = %v, want no error", tt.cfg, err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("New(%+v) = %v, want error containing %q", tt.cfg, err, tt.want)
			case err != nil && !strings.HasPrefix(err.Error(), "sim: "):
				t.Errorf("New(%+v) = %q, want the prefix \"sim: \"", tt.cfg, err)
			}
		})
	}
}

// TestDeterminism: the same seed and config give the same events (quotes,
// trades, book updates, listings) in the same order; another seed gives
// others.
func TestDeterminism(t *testing.T) {
	for _, cfg := range []Config{
		{Seed: 42},
		{Seed: 42, Steady: true},
		{Seed: 42, Universe: 2000, Rate: 1000, DayLength: 2 * time.Second},
	} {
		name := fmt.Sprintf("steady=%v universe=%d", cfg.Steady, cfg.Universe)
		cfg.Clock = fakeClock()
		a := everything(mustNew(t, cfg), updates(10000))
		cfg.Clock = fakeClock()
		b := everything(mustNew(t, cfg), updates(10000))
		if len(a) != len(b) {
			t.Fatalf("%s: %d and %d events for the same seed", name, len(a), len(b))
		}
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("%s: event %d differs for the same seed:\n%s\n%s", name, i, a[i], b[i])
			}
		}
		cfg.Seed, cfg.Clock = 43, fakeClock()
		c := everything(mustNew(t, cfg), updates(10000))
		same := 0
		for i := range min(len(a), len(c)) {
			if a[i] == c[i] && !strings.HasPrefix(a[i], "list ") {
				same++
			}
		}
		if same > 100 {
			t.Errorf("%s: seeds 42 and 43 share %d of %d events, want them to differ", name, same, len(a))
		}
	}
}

// TestDeterminismIgnoresRate: the tick sequence does not depend on the rate
// or the clock, only on the seed and the set of symbols.
func TestDeterminismIgnoresRate(t *testing.T) {
	strip := func(s []string) {
		for i := range s { // drop TS
			s[i] = s[i][:strings.LastIndex(s[i], `"ts":`)]
		}
	}
	a := sequence(mustNew(t, Config{Seed: 7, Rate: 10}), 5000)
	b := sequence(mustNew(t, Config{Seed: 7, Rate: 100000, Clock: fakeClock()}), 5000)
	strip(a)
	strip(b)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("tick %d differs between rates:\n%s\n%s", i, a[i], b[i])
		}
	}
}

func TestInvariants(t *testing.T) {
	for _, steady := range []bool{false, true} {
		m := mustNew(t, Config{Seed: 1, Steady: steady, Clock: fakeClock()})
		syms := m.Symbols()
		type last struct {
			seq    uint64
			volume decimal.Decimal
		}
		seen := map[string]*last{}
		open := map[string]decimal.Decimal{}
		ticksz := map[string]int64{} // tick size in units of the last decimal
		prec := map[string]int32{}
		for i, s := range syms {
			open[s.Name] = decimal.New(instruments[i].open, -s.PricePrec)
			ticksz[s.Name] = s.TickSize.Shift(s.PricePrec).IntPart()
			prec[s.Name] = s.PricePrec
		}
		q := &quotes{}
		var ts int64
		five := decimal.NewFromInt(5)
		for n := range updates(100000) {
			m.next(q)
			tk := q.last
			fail := func(format string, args ...any) {
				t.Helper()
				t.Fatalf("steady=%v tick %d (%s): %s", steady, n, tickString(&tk), sprintf(format, args...))
			}
			tick, ok := ticksz[tk.Symbol]
			if !ok {
				fail("unknown symbol")
			}
			if !tk.Bid.LessThan(tk.Ask) {
				fail("bid >= ask")
			}
			if tk.Price.LessThan(tk.Bid) || tk.Price.GreaterThan(tk.Ask) {
				fail("price outside [bid, ask]")
			}
			if tk.Price.LessThan(tk.Low) || tk.Price.GreaterThan(tk.High) {
				fail("price outside [low, high]")
			}
			if !tk.Bid.IsPositive() {
				fail("bid not positive")
			}
			for _, p := range []decimal.Decimal{tk.Price, tk.Bid, tk.Ask, tk.Open, tk.High, tk.Low} {
				if p.Exponent() != -prec[tk.Symbol] || p.CoefficientInt64()%tick != 0 {
					fail("%s is off the grid of %d units of 1e-%d", p, tick, prec[tk.Symbol])
				}
			}
			if !tk.Open.Equal(open[tk.Symbol]) {
				fail("open changed from %s", open[tk.Symbol])
			}
			if tk.TS <= ts {
				fail("ts %d not after %d", tk.TS, ts)
			}
			ts = tk.TS
			l := seen[tk.Symbol]
			if l == nil {
				l = &last{volume: decimal.Zero}
				seen[tk.Symbol] = l
			}
			if tk.Seq != l.seq+1 {
				fail("seq %d after %d", tk.Seq, l.seq)
			}
			if !tk.Volume.GreaterThan(l.volume) {
				fail("volume %s not above %s", tk.Volume, l.volume)
			}
			l.seq, l.volume = tk.Seq, tk.Volume

			// The walk stays a believable session: within half the open.
			if tk.Price.Sub(tk.Open).Abs().Shift(1).GreaterThan(tk.Open.Mul(five)) {
				fail("price wandered more than 50%% from open")
			}
		}
		if len(seen) != len(syms) {
			t.Errorf("steady=%v: %d of %d symbols ticked in 100000 updates", steady, len(seen), len(syms))
		}
	}
}

// TestPopularity: bursty picks favour the head of the universe.
func TestPopularity(t *testing.T) {
	m := mustNew(t, Config{Seed: 3})
	count := map[string]int{}
	q := &quotes{}
	for range updates(100000) {
		m.next(q)
		count[q.last.Symbol]++
	}
	if a, z := count["AAPL"], count["USD/INR"]; a < 20*z {
		t.Errorf("AAPL ticked %d times, USD/INR %d: want AAPL >= 20x", a, z)
	}
}

func TestSteadyRoundRobin(t *testing.T) {
	m := mustNew(t, Config{Seed: 9, Symbols: 5, Steady: true})
	want := []string{"AAPL", "MSFT", "NVDA", "TSLA", "AMZN"}
	q := &quotes{}
	for n := range 1000 {
		m.next(q)
		tk := q.last
		if tk.Symbol != want[n%5] || tk.Seq != uint64(n/5+1) {
			t.Fatalf("update %d = %s seq %d, want %s seq %d", n, tk.Symbol, tk.Seq, want[n%5], n/5+1)
		}
	}
}

// TestFloor drives a symbol hard toward zero and checks that it stops at the
// floor of ten ticks with a positive bid below the ask.
func TestFloor(t *testing.T) {
	m := mustNew(t, Config{Symbols: 1, Steady: true, BookDepth: 20})
	m.syms[0].open = 1 // open (the pull target) at 0.01
	m.syms[0].fair = 1000
	c := newChecker(t, m)
	q := &quotes{}
	floor := decimal.RequireFromString("0.10")
	atFloor := 0
	for range 10000 {
		m.next(feed.SinkFuncs{Tick: func(tk *protocol.Tick) { c.Publish(tk); q.Publish(tk) }, Trade: c.PublishTrade, Book: c.PublishBook})
		tk := q.last
		if !tk.Bid.IsPositive() || !tk.Bid.LessThan(tk.Ask) {
			t.Fatalf("near the floor: price %s bid %s ask %s", tk.Price, tk.Bid, tk.Ask)
		}
		if m.syms[0].fair < 10 {
			t.Fatalf("the fair price %d went below the floor of 10 ticks", m.syms[0].fair)
		}
		if m.syms[0].fair == 10 {
			atFloor++
		}
	}
	if atFloor == 0 {
		t.Errorf("the fair price never reached the floor %s; the test does not test it", floor)
	}
}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }
func nan() float64                              { return math.NaN() }
func inf() float64                              { return math.Inf(1) }
