package sim

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
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

func sequence(m *Market, n int) []string {
	out := make([]string, n)
	var t protocol.Tick
	for i := range out {
		m.next(&t)
		out[i] = tickString(&t)
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
	for _, in := range instruments {
		if in.maxSpread >= in.floorTicks {
			t.Errorf("%s: max spread %d ticks >= floor %d ticks: bid could reach 0", in.sym.Name, in.maxSpread, in.floorTicks)
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

func TestDeterminism(t *testing.T) {
	for _, steady := range []bool{false, true} {
		cfg := Config{Seed: 42, Steady: steady, Clock: fakeClock()}
		a := sequence(mustNew(t, cfg), 10000)
		cfg.Clock = fakeClock()
		b := sequence(mustNew(t, cfg), 10000)
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("steady=%v: tick %d differs for the same seed:\n%s\n%s", steady, i, a[i], b[i])
			}
		}
		cfg.Seed, cfg.Clock = 43, fakeClock()
		c := sequence(mustNew(t, cfg), 10000)
		same := 0
		for i := range a {
			if a[i] == c[i] {
				same++
			}
		}
		if same > 100 {
			t.Errorf("steady=%v: seeds 42 and 43 share %d of 10000 ticks, want them to differ", steady, same)
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
			open[s.Name] = decimal.New(instruments[i].startUnits, -s.PricePrec)
			ticksz[s.Name] = s.TickSize.Shift(s.PricePrec).IntPart()
			prec[s.Name] = s.PricePrec
		}
		var tk protocol.Tick
		var ts int64
		five := decimal.NewFromInt(5)
		for n := range 100000 {
			m.next(&tk)
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
	var tk protocol.Tick
	for range 100000 {
		m.next(&tk)
		count[tk.Symbol]++
	}
	if a, z := count["AAPL"], count["USD/INR"]; a < 20*z {
		t.Errorf("AAPL ticked %d times, USD/INR %d: want AAPL >= 20x", a, z)
	}
}

func TestSteadyRoundRobin(t *testing.T) {
	m := mustNew(t, Config{Seed: 9, Symbols: 5, Steady: true})
	want := []string{"AAPL", "MSFT", "NVDA", "TSLA", "AMZN"}
	var tk protocol.Tick
	for n := range 1000 {
		m.next(&tk)
		if tk.Symbol != want[n%5] || tk.Seq != uint64(n/5+1) {
			t.Fatalf("update %d = %s seq %d, want %s seq %d", n, tk.Symbol, tk.Seq, want[n%5], n/5+1)
		}
	}
}

// TestFloor drives a symbol hard toward zero and checks that it stops at the
// floor of ten ticks with a positive bid below the ask.
func TestFloor(t *testing.T) {
	m := mustNew(t, Config{Symbols: 1, Steady: true})
	m.insts = append([]instrument(nil), m.insts...) // don't touch the shared universe
	m.insts[0].startUnits = 1                       // open (the pull target) at 0.01
	m.insts[0].vol = 0.5                            // huge steps
	m.states[0].price = 1000
	var tk protocol.Tick
	floor := decimal.RequireFromString("0.10")
	atFloor := 0
	for range 10000 {
		m.next(&tk)
		if tk.Price.LessThan(floor) || !tk.Bid.IsPositive() || !tk.Bid.LessThan(tk.Ask) {
			t.Fatalf("near the floor: price %s bid %s ask %s", tk.Price, tk.Bid, tk.Ask)
		}
		if tk.Price.Equal(floor) {
			atFloor++
		}
	}
	if atFloor == 0 {
		t.Errorf("the price never reached the floor %s; the test does not test it", floor)
	}
}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }
func nan() float64                              { return math.NaN() }
func inf() float64                              { return math.Inf(1) }

func BenchmarkNext(b *testing.B) {
	m := mustNew(b, Config{Seed: 1})
	var tk protocol.Tick
	b.ReportAllocs()
	for b.Loop() {
		m.next(&tk)
	}
}
