package hub

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/tickerd/tickerd/feed"
)

// TestUniverseChanges lists and delists random batches and checks the
// index, both orders of the listing and search against a plain model
// after each change, and that every chunk stays within its bounds.
func TestUniverseChanges(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	u := newUniverse()
	var model []string // in listing order
	listed := map[string]bool{}
	for round := range 120 {
		if round%3 == 2 && len(model) > 0 {
			var names []string
			for range r.IntN(min(len(model), 900)) + 1 {
				names = append(names, model[r.IntN(len(model))])
			}
			names = append(names, "NOPE")
			gone := u.delist(names)
			for _, s := range gone {
				delete(listed, s.name)
			}
			model = slices.DeleteFunc(model, func(n string) bool { return !listed[n] })
			if want := len(slices.Compact(slices.Sorted(slices.Values(names[:len(names)-1])))); len(gone) != want {
				t.Fatalf("round %d: delist returned %d symbols, want %d", round, len(gone), want)
			}
		} else {
			var syms []feed.Symbol
			for range r.IntN(1200) + 1 {
				syms = append(syms, feed.Symbol{Name: fmt.Sprintf("S%05d", r.IntN(20_000))})
			}
			u.list(syms)
			for _, s := range syms {
				if !listed[s.Name] {
					listed[s.Name] = true
					model = append(model, s.Name)
				}
			}
		}
		l := u.current()
		if got := l.symbolNames(); !slices.Equal(got, model) {
			t.Fatalf("round %d: listing order has %d names, want %d", round, len(got), len(model))
		}
		var sorted []string
		for s := range l.sorted.all {
			sorted = append(sorted, s.name)
		}
		if want := slices.Sorted(slices.Values(model)); !slices.Equal(sorted, want) {
			t.Fatalf("round %d: sorted order is not the names sorted", round)
		}
		for _, cs := range []chunks{l.order, l.sorted} {
			n := 0
			for _, p := range cs.pages {
				if len(p) == 0 || len(p) > chunkMax {
					t.Fatalf("round %d: a page of %d chunks", round, len(p))
				}
			}
			for _, ch := range cs.chunkList() {
				if len(ch) == 0 || len(ch) > chunkMax {
					t.Fatalf("round %d: a chunk of %d symbols", round, len(ch))
				}
				n += len(ch)
			}
			if n != cs.n || n != len(model) {
				t.Fatalf("round %d: chunks hold %d, count %d, want %d", round, n, cs.n, len(model))
			}
		}
		for range 20 {
			name := fmt.Sprintf("S%05d", r.IntN(20_000))
			if got := u.lookup(name) != nil; got != listed[name] {
				t.Fatalf("round %d: lookup(%s) found %v, want %v", round, name, got, listed[name])
			}
		}
		prefix := fmt.Sprintf("S%03d", r.IntN(500))
		got, more := l.search(prefix, 5)
		var want []string
		for _, n := range slices.Sorted(slices.Values(model)) {
			if len(n) >= len(prefix) && n[:len(prefix)] == prefix {
				want = append(want, n)
			}
		}
		if !slices.Equal(got, want[:min(5, len(want))]) || more != (len(want) > 5) {
			t.Fatalf("round %d: search(%s) = %v %v, want %v", round, prefix, got, more, want)
		}
	}
}

// TestUniverseChangeShares lists 100 symbols into 100,000 and checks
// that the new listing shares most chunks with the old one, and that the
// index took them in place: the change costs what it changed.
func TestUniverseChangeShares(t *testing.T) {
	u := newUniverse()
	u.add(symbolsNamed("OPT%06d", 100_000))
	old := u.current()
	oldIndex := u.index.Load()
	u.list(symbolsNamed("NEW%03d", 100))
	l := u.current()
	for _, o := range []struct {
		name     string
		old, new chunks
	}{{"listing order", old.order, l.order}, {"sorted order", old.sorted, l.sorted}} {
		// NEW… sorts before OPT…: one chunk, in one page, takes them.
		oldChunks := o.old.chunkList()
		if n := shared(oldChunks, o.new.chunkList()); n < len(oldChunks)-1 {
			t.Errorf("%s: %d of %d chunks shared after adding 100, want all but one", o.name, n, len(oldChunks))
		}
		if n := shared(o.old.pages, o.new.pages); n < len(o.old.pages)-1 {
			t.Errorf("%s: %d of %d pages shared after adding 100, want all but one", o.name, n, len(o.old.pages))
		}
	}
	if u.index.Load() != oldIndex {
		t.Errorf("the index was made anew for 100 symbols in a table with room for them")
	}
	if st := u.changeList.snapshot(); st.Counts[len(st.Counts)-1] != 0 || st.Sum <= 0 {
		t.Errorf("list histogram %v: want the one change counted in a bounded bucket", st)
	}
}

// TestNameTableBound churns a universe of 10,000 symbols (1,000 delisted
// and 1,000 listed per round, the delisted slots piling up) and checks
// that the index stays within its bound: at most maxLoad eighths of its
// slots used, and at most four slots per symbol listed or being listed.
func TestNameTableBound(t *testing.T) {
	const n, batch = 10_000, 1000
	u := newUniverse()
	names := make([]string, 0, n)
	add := func(round int) {
		syms := make([]feed.Symbol, batch)
		for i := range syms {
			syms[i].Name = fmt.Sprintf("R%d-%d", round, i)
			names = append(names, syms[i].Name)
		}
		u.list(syms)
	}
	for round := range n / batch {
		add(round)
	}
	tables := map[*nameTable]bool{}
	for round := n / batch; round < 300; round++ {
		u.delist(names[:batch])
		names = names[batch:]
		add(round)
		tab := u.index.Load()
		tables[tab] = true
		if max := 4 * (n + batch); len(tab.slots) > max {
			t.Fatalf("round %d: %d slots for %d symbols, want at most %d", round, len(tab.slots), n, max)
		}
		if u.used*8 > len(tab.slots)*maxLoad || u.live != n {
			t.Fatalf("round %d: %d of %d slots used, %d live, want at most %d/8 used and %d live", round, u.used, len(tab.slots), u.live, maxLoad, n)
		}
	}
	if len(tables) < 2 {
		t.Errorf("%d tables in 290 rounds of churn: the delisted slots were never cleared", len(tables))
	}
	for _, name := range names {
		if u.lookup(name) == nil {
			t.Fatalf("%s is listed but not found", name)
		}
	}
	if u.lookup("R0-1") != nil {
		t.Errorf("R0-1 was delisted but is found")
	}
}

// chunkList returns the chunks of l, page after page.
func (l chunks) chunkList() [][]*symbol {
	var cs [][]*symbol
	for _, p := range l.pages {
		cs = append(cs, p...)
	}
	return cs
}

// shared returns how many of the runs of b are runs of a (the same
// backing array).
func shared[T any](a, b [][]T) int {
	seen := map[*T]bool{}
	for _, r := range a {
		seen[&r[0]] = true
	}
	n := 0
	for _, r := range b {
		if seen[&r[0]] {
			n++
		}
	}
	return n
}
