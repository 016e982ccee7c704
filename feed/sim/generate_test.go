package sim

import (
	"context"
	"fmt"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/protocol"
)

var occName = regexp.MustCompile(`^([A-Z0-9]{1,6})(\d\d)(\d\d)(\d\d)([CP])(\d{8})$`)

// TestUniverseListings runs a universe through several trading days with
// the checker (nothing published for a symbol that is not listed, every
// book, trade and quote consistent) and checks the calendar: the first
// update lists every option, so that exactly Universe symbols are listed
// from then on; at each day boundary the contracts that expired that day
// are delisted and as many of the next expiry are listed.
func TestUniverseListings(t *testing.T) {
	const n, day = 5000, 2000 // symbols, updates a day
	m := mustNew(t, Config{Seed: 3, Universe: n, Rate: 1000, DayLength: 2 * time.Second, Clock: fakeClock()})
	base := len(m.Symbols())
	if want := len(instruments) + (n-len(instruments))/10; base != want {
		t.Errorf("Symbols() has %d symbols, want %d: the built-in ones and a tenth of the rest as equities", base, want)
	}
	for _, s := range m.Symbols()[len(instruments):] {
		if s.Class != ClassEquity || len(s.Name) != 4 || strings.Trim(s.Name, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
			t.Fatalf("generated symbol %+v, want a four-letter equity", s)
		}
	}

	c := newChecker(t, m)
	var listed, delisted [][]string // per day
	record := func(to *[][]string, names []string) {
		if d := int(m.n / day); len(*to) <= d {
			*to = append(*to, make([][]string, d+1-len(*to))...)
		}
		d := int(m.n / day)
		(*to)[d] = append((*to)[d], names...)
	}
	sink := feed.SinkFuncs{
		Tick: c.Publish, Trade: c.PublishTrade, Book: c.PublishBook,
		Listed: func(syms []feed.Symbol) {
			if len(syms) > listBatch {
				t.Fatalf("List of %d symbols, want at most %d a call", len(syms), listBatch)
			}
			c.List(syms)
			var names []string
			for _, s := range syms {
				names = append(names, s.Name)
				if s.Class != ClassOption || s.PricePrec != 2 || s.VolumePrec != 0 || s.TickSize.String() != "0.01" {
					t.Fatalf("listed %+v, want an option with 2 price decimals, 0 size decimals, tick 0.01", s)
				}
			}
			record(&listed, names)
		},
		Delisted: func(names []string) {
			c.Delist(names)
			record(&delisted, slices.Clone(names))
		},
	}
	for range 4*day + 1 {
		m.next(sink)
		if len(c.syms) != n {
			t.Fatalf("after update %d: %d symbols listed, want %d", m.n, len(c.syms), n)
		}
	}
	if len(listed) != 5 || len(listed[0]) != n-base {
		t.Fatalf("listings per day %v, want %d on the first update then some on each of 4 more days", lens(listed), n-base)
	}
	for d := 1; d <= 4; d++ {
		if len(delisted[d]) == 0 || len(delisted[d]) != len(listed[d]) {
			t.Errorf("day %d: %d delisted, %d listed: want the same number, not 0", d, len(delisted[d]), len(listed[d]))
		}
		exp := date(d - 1).Format("060102")
		for _, name := range delisted[d] {
			if p := occName.FindStringSubmatch(name); p == nil || p[2]+p[3]+p[4] != exp {
				t.Fatalf("day %d delists %s, want a contract expiring %s", d, name, exp)
			}
		}
		exp = date(d - 1 + expiries).Format("060102")
		for _, name := range listed[d] {
			if p := occName.FindStringSubmatch(name); p == nil || p[2]+p[3]+p[4] != exp {
				t.Fatalf("day %d lists %s, want a contract expiring %s", d, name, exp)
			}
		}
	}
	// Every contract name is OCC-style and names its underlying and a
	// strike near the underlying's price.
	under := map[string]float64{}
	for _, s := range m.syms {
		if s.kind == kindEquity {
			under[root(s.sym.Name)] = float64(s.open) / 100
		}
	}
	for _, name := range listed[0] {
		p := occName.FindStringSubmatch(name)
		if p == nil {
			t.Fatalf("option %q is not OCC-style", name)
		}
		spot, ok := under[p[1]]
		var strike float64
		fmt.Sscan(p[6], &strike)
		if strike /= 1000; !ok || strike < 0.6*spot || strike > 1.4*spot {
			t.Fatalf("option %s: strike %v for an underlying at %v", name, strike, spot)
		}
	}
	if c.quotes == 0 || c.trades == 0 {
		t.Errorf("%d quotes, %d trades", c.quotes, c.trades)
	}
}

func lens(s [][]string) []int {
	var out []int
	for _, x := range s {
		out = append(out, len(x))
	}
	return out
}

// TestUniverseNames: a universe's symbols are unique, without spaces, the
// same for every seed, and exactly Universe of them.
func TestUniverseNames(t *testing.T) {
	names := func(seed int64) []string {
		m := mustNew(t, Config{Seed: seed, Universe: 100000})
		var out []string
		for _, s := range m.Symbols() {
			out = append(out, s.Name)
		}
		m.next(feed.SinkFuncs{Listed: func(syms []feed.Symbol) {
			for _, s := range syms {
				out = append(out, s.Name)
			}
		}})
		return out
	}
	a := names(1)
	if len(a) != 100000 {
		t.Fatalf("%d symbols, want 100000", len(a))
	}
	seen := map[string]bool{}
	for _, n := range a {
		if seen[n] || strings.ContainsAny(n, " \t") || n == "" {
			t.Fatalf("symbol %q is a duplicate or has a space", n)
		}
		seen[n] = true
	}
	if b := names(2); !slices.Equal(a, b) {
		t.Errorf("seeds 1 and 2 give different universes")
	}
}

// TestUniverseActivity: most symbols are quiet and a few hot. In 100,000
// updates of a 100,000-symbol universe, the busiest 1% of the symbols get
// most of the updates, and most symbols get none.
func TestUniverseActivity(t *testing.T) {
	m := mustNew(t, Config{Seed: 4, Universe: 100000})
	count := map[string]int{}
	m.next(feed.SinkFuncs{}) // the listings
	q := feed.SinkFuncs{Tick: func(tk *protocol.Tick) { count[tk.Symbol]++ }}
	n := updates(100000)
	for range n {
		m.next(q)
	}
	var counts []int
	for _, c := range count {
		counts = append(counts, c)
	}
	slices.Sort(counts)
	slices.Reverse(counts)
	top := 0
	for _, c := range counts[:1000] {
		top += c
	}
	if top < n/2 {
		t.Errorf("the busiest 1,000 symbols got %d of %d updates, want most", top, n)
	}
	if len(count) > 50000 {
		t.Errorf("%d of 100,000 symbols updated, want most of them quiet", len(count))
	}
	opt := 0
	for name, c := range count {
		if occName.MatchString(name) {
			opt += c
		}
	}
	if opt < n/10 || opt > n/2 {
		t.Errorf("options got %d of %d updates, want between a tenth and a half", opt, n)
	}
	t.Logf("%d symbols updated; top 1,000 got %d; options %d; busiest %d", len(count), top, opt, counts[0])
}

// bytesPerSymbol is the documented bound of the sim's memory per symbol
// that has not updated yet (see the package doc, "Memory").
const bytesPerSymbol = 256

// TestUniverseMemory: a universe of 100,000 symbols, all listed, costs at
// most bytesPerSymbol of heap per symbol before they trade; and books
// follow the symbols that update: a day boundary frees the books of the
// symbols that did not update during the day that ended.
func TestUniverseMemory(t *testing.T) {
	const n = 100000
	heap := func() uint64 {
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	before := heap()
	m := mustNew(t, Config{Seed: 1, Universe: n, Rate: 1000, DayLength: 20 * time.Second})
	m.next(feed.SinkFuncs{}) // lists every option
	per := float64(heap()-before) / n
	t.Logf("%.0f bytes a symbol", per)
	if per > bytesPerSymbol {
		t.Errorf("%.0f bytes of heap per symbol, want <= %d", per, bytesPerSymbol)
	}

	books := func() (n int) {
		for i := range m.syms {
			if m.syms[i].book != nil {
				n++
			}
		}
		return n
	}
	active := func() (n int) {
		for i := range m.syms {
			if m.syms[i].active {
				n++
			}
		}
		return n
	}
	// Day 0, then day 1: at the end of day 1 the books are those of the
	// symbols updated on day 0 or day 1.
	for range 2*20000 - 1 {
		m.next(feed.SinkFuncs{})
	}
	held, day1 := books(), active()
	if day1 == 0 || held <= day1 {
		t.Fatalf("%d books, %d symbols updated on day 1: want more books than that (day 0's too)", held, day1)
	}
	for range 10 { // past the boundary
		m.next(feed.SinkFuncs{})
	}
	if after := books(); after > day1+10 {
		t.Errorf("%d books after the day boundary, want at most the %d symbols updated on day 1 and the 10 since", after, day1)
	}
	runtime.KeepAlive(m)
}

// TestUniverseRunAgain: a second Run lists again every option listed now,
// for a sink that did not see them listed, before any update.
func TestUniverseRunAgain(t *testing.T) {
	m := mustNew(t, Config{Seed: 2, Universe: 3000, Rate: 1e6})
	run := func(stopAfter int) (listed, quotesBefore int) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		quotes := 0
		err := m.Run(ctx, feed.SinkFuncs{
			Listed: func(syms []feed.Symbol) {
				if quotes == 0 {
					listed += len(syms)
				}
			},
			Tick: func(*protocol.Tick) {
				if quotes++; quotes == stopAfter {
					cancel()
				}
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		return listed, quotes
	}
	options := 3000 - len(m.Symbols())
	if listed, _ := run(100); listed != options {
		t.Errorf("first Run listed %d options before its first quote, want %d", listed, options)
	}
	if listed, _ := run(100); listed != options {
		t.Errorf("second Run listed %d options before its first quote, want %d again", listed, options)
	}
}
