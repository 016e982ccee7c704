package hub

import (
	"hash/maphash"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/protocol"
)

// universe is the set of symbols the hub serves, which List and Delist
// change while it runs. Lookups (publishers, readers, upgrades) take no
// lock and never wait for a change, and a change costs what it changes,
// not the universe:
//
//   - The name index is nameBuckets buckets, each an immutable slice of
//     (hash, symbol) sorted by hash behind an atomic pointer; a change
//     replaces the buckets it touches with copies (about n/nameBuckets
//     entries each: 25 at 100,000 symbols).
//   - The listing (listing order, and names sorted for search) is an
//     immutable value swapped in whole, but each of its two orders is a
//     list of chunks of at most chunkMax symbols: a change copies the
//     chunks it touches and the list of chunk pointers, and shares the
//     rest with the listing before.
//   - What is made of a whole listing (Symbols, the "list" reply) is made
//     once per listing, on first use, by whoever asks: never by the change.
//
// Per symbol nobody watches, the hub holds: the symbol (symbol, with its
// quote stream), its index entry, two pointers in the listing's chunks and
// the name itself; measured in TestUnwatchedSymbolMemory.
type universe struct {
	seed  maphash.Seed
	index [nameBuckets]atomic.Pointer[[]nameEntry]
	cur   atomic.Pointer[listing]

	mu   sync.Mutex // serialises changes (List, Delist)
	next uint64     // guarded by mu: the listing number of the next symbol listed

	// Time of each change, by op: the caller's time in List or Delist.
	changeList, changeDelist durations
}

// nameBuckets is how many slices the name index is split into: a change
// of k symbols copies at most k of them.
const nameBuckets = 4096

// nameEntry is a symbol in the name index, with its name's hash.
type nameEntry struct {
	hash uint64
	sym  *symbol
}

// listing is one version of the universe, immutable once published.
type listing struct {
	order  chunks // in listing order (symbol.num)
	sorted chunks // by name, for search

	namesOnce sync.Once
	names     []string // Symbols(), made on first use
	listOnce  sync.Once
	listTail  []byte // the "list" reply after its id, made on first use
	zOnce     sync.Once
	zTail     []byte // listTail compressed (see zlistReply); nil if it does not pay
}

func newUniverse() *universe {
	u := &universe{seed: maphash.MakeSeed()}
	u.cur.Store(&listing{})
	return u
}

// lookup returns the listed symbol called name, or nil. Any goroutine may
// call it.
func (u *universe) lookup(name string) *symbol {
	h := maphash.String(u.seed, name)
	b := u.index[h%nameBuckets].Load()
	if b == nil {
		return nil
	}
	es := *b
	i, _ := slices.BinarySearchFunc(es, h, func(e nameEntry, h uint64) int { return cmpUint(e.hash, h) })
	for ; i < len(es) && es[i].hash == h; i++ {
		if es[i].sym.name == name {
			return es[i].sym
		}
	}
	return nil
}

// current returns the listing now in force. Any goroutine may call it.
func (u *universe) current() *listing { return u.cur.Load() }

// list adds the symbols of syms not listed yet, in their order, and
// returns how many it added. A name listed twice in syms counts once. Its
// time is counted in the list histogram.
func (u *universe) list(syms []feed.Symbol) int {
	start := time.Now()
	n := u.add(syms)
	if n > 0 {
		u.changeList.observe(time.Since(start))
	}
	return n
}

// add is list without the histogram: the universe a hub starts with.
func (u *universe) add(syms []feed.Symbol) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	var added []*symbol
	var seen map[string]bool
	if len(syms) > 16 {
		seen = make(map[string]bool, len(syms))
	}
	for _, s := range syms {
		if s.Name == "" || u.lookup(s.Name) != nil {
			continue
		}
		if seen != nil {
			if seen[s.Name] {
				continue
			}
			seen[s.Name] = true
		} else if slices.ContainsFunc(added, func(a *symbol) bool { return a.name == s.Name }) {
			continue
		}
		sym := newSymbol(s.Name)
		sym.num = u.next
		u.next++
		added = append(added, sym)
	}
	if len(added) == 0 {
		return 0
	}
	u.edit(added, true)
	old := u.cur.Load()
	l := &listing{order: old.order.insert(added, byListing)}
	byName := slices.Clone(added)
	slices.SortFunc(byName, bySymbolName)
	l.sorted = old.sorted.insert(byName, bySymbolName)
	u.cur.Store(l)
	return len(added)
}

// delist removes the listed symbols among names and returns them.
func (u *universe) delist(names []string) []*symbol {
	start := time.Now()
	u.mu.Lock()
	defer u.mu.Unlock()
	var gone []*symbol
	for _, n := range names {
		if sym := u.lookup(n); sym != nil && !sym.delisted.Load() {
			sym.delisted.Store(true) // set before any shard is told (see Delist)
			gone = append(gone, sym)
		}
	}
	if len(gone) == 0 {
		return nil
	}
	u.edit(gone, false)
	old := u.cur.Load()
	byNum := slices.Clone(gone)
	slices.SortFunc(byNum, byListing)
	byName := slices.Clone(gone)
	slices.SortFunc(byName, bySymbolName)
	u.cur.Store(&listing{
		order:  old.order.remove(byNum, byListing),
		sorted: old.sorted.remove(byName, bySymbolName),
	})
	u.changeDelist.observe(time.Since(start))
	return gone
}

// edit publishes a copy of each index bucket that holds one of syms, with
// them added (add) or removed. u.mu is held.
func (u *universe) edit(syms []*symbol, add bool) {
	es := make([]nameEntry, len(syms))
	for i, sym := range syms {
		es[i] = nameEntry{maphash.String(u.seed, sym.name), sym}
	}
	slices.SortFunc(es, func(a, b nameEntry) int {
		if c := cmpUint(a.hash%nameBuckets, b.hash%nameBuckets); c != 0 {
			return c
		}
		return cmpUint(a.hash, b.hash)
	})
	for len(es) > 0 {
		k := es[0].hash % nameBuckets
		n := 1
		for n < len(es) && es[n].hash%nameBuckets == k {
			n++
		}
		group := es[:n]
		es = es[n:]
		var old []nameEntry
		if p := u.index[k].Load(); p != nil {
			old = *p
		}
		var b []nameEntry
		if add {
			b = make([]nameEntry, 0, len(old)+len(group))
			for len(old) > 0 && len(group) > 0 {
				if old[0].hash <= group[0].hash {
					b, old = append(b, old[0]), old[1:]
				} else {
					b, group = append(b, group[0]), group[1:]
				}
			}
			b = append(append(b, old...), group...)
		} else {
			b = make([]nameEntry, 0, max(len(old)-len(group), 0))
			for _, e := range old {
				if !e.sym.delisted.Load() {
					b = append(b, e)
				}
			}
		}
		u.index[k].Store(&b)
	}
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func bySymbolName(a, b *symbol) int { return strings.Compare(a.name, b.name) }

func byListing(a, b *symbol) int { return cmpUint(a.num, b.num) }

// chunks is an ordered list of symbols kept as immutable chunks of at most
// chunkMax, so that a change copies only the chunks it touches and the
// chunk pointers. Its zero value is the empty list.
type chunks struct {
	c [][]*symbol // none empty
	n int
}

// chunkMax bounds a chunk; a chunk split in two gets half of it each.
const chunkMax = 64

// insert returns the list with add (sorted by cmp, none of them in the
// list) merged in; the chunks add does not touch are shared.
func (l chunks) insert(add []*symbol, cmp func(a, b *symbol) int) chunks {
	out := chunks{c: make([][]*symbol, 0, len(l.c)+len(add)/(chunkMax/2)+1), n: l.n + len(add)}
	for i, ch := range l.c {
		if len(add) == 0 {
			out.c = append(out.c, l.c[i:]...)
			break
		}
		// The symbols of add that go in ch: those before the next chunk.
		k := len(add)
		if i+1 < len(l.c) {
			next := l.c[i+1][0]
			k, _ = slices.BinarySearchFunc(add, next, cmp)
		}
		if k == 0 {
			out.c = append(out.c, ch)
			continue
		}
		out.c = appendSplit(out.c, merge(ch, add[:k], cmp))
		add = add[k:]
	}
	if len(l.c) == 0 && len(add) > 0 {
		out.c = appendSplit(out.c, add)
	}
	return out
}

// remove returns the list without gone (sorted by cmp, each in the list
// and marked delisted); the chunks gone does not touch are shared.
func (l chunks) remove(gone []*symbol, cmp func(a, b *symbol) int) chunks {
	out := chunks{c: make([][]*symbol, 0, len(l.c)), n: l.n - len(gone)}
	for i, ch := range l.c {
		if len(gone) == 0 {
			out.c = append(out.c, l.c[i:]...)
			break
		}
		// The symbols of gone in ch: those not after its last.
		k, found := slices.BinarySearchFunc(gone, ch[len(ch)-1], cmp)
		if found {
			k++
		}
		if k == 0 {
			out.c = append(out.c, ch)
			continue
		}
		gone = gone[k:]
		kept := make([]*symbol, 0, len(ch)-k)
		for _, s := range ch {
			if !s.delisted.Load() {
				kept = append(kept, s)
			}
		}
		switch last := len(out.c) - 1; {
		case len(kept) == 0:
		case last >= 0 && len(out.c[last])+len(kept) <= chunkMax/2:
			// Two small neighbours become one, so chunks stay large.
			out.c[last] = append(slices.Clip(out.c[last]), kept...)
		default:
			out.c = append(out.c, kept)
		}
	}
	return out
}

// merge returns a new slice with b merged into a (each sorted by cmp, b
// usually much shorter): each of b is placed by a binary search in what
// is left of a, and the runs of a between are copied whole.
func merge(a, b []*symbol, cmp func(a, b *symbol) int) []*symbol {
	out := make([]*symbol, 0, len(a)+len(b))
	for _, x := range b {
		i, _ := slices.BinarySearchFunc(a, x, cmp)
		out = append(append(out, a[:i]...), x)
		a = a[i:]
	}
	return append(out, a...)
}

// appendSplit appends ch to cs as chunks of at most chunkMax.
func appendSplit(cs [][]*symbol, ch []*symbol) [][]*symbol {
	if len(ch) <= chunkMax {
		return append(cs, ch)
	}
	for len(ch) > 0 {
		n := min(len(ch), chunkMax/2)
		if len(ch)-n < chunkMax/4 {
			n = len(ch) // no small chunk at the end
		}
		cs = append(cs, slices.Clip(ch[:n]))
		ch = ch[n:]
	}
	return cs
}

// all yields the symbols in order.
func (l chunks) all(yield func(*symbol) bool) {
	for _, ch := range l.c {
		for _, s := range ch {
			if !yield(s) {
				return
			}
		}
	}
}

// len returns the number of symbols of the listing.
func (l *listing) len() int { return l.order.n }

// symbolNames returns the names of the listing, in listing order. The
// slice is shared: callers must not change it.
func (l *listing) symbolNames() []string {
	l.namesOnce.Do(func() {
		l.names = make([]string, 0, l.order.n)
		for s := range l.order.all {
			l.names = append(l.names, s.name)
		}
	})
	return l.names
}

// listReply returns the "list" reply for request id as two pieces that
// go out back to back as one frame: a small head made for this request
// (frame header, type and id) and the rest, made once per listing and
// shared by every connection that asks.
func (l *listing) listReply(id []byte) (head, tail []byte) {
	tail = l.tail()
	js := appendListHead(nil, id)
	head = appendTextHeader(make([]byte, 0, 10+len(js)), len(js)+len(tail))
	return append(head, js...), tail
}

// tail returns the "list" reply after its id, made once per listing.
func (l *listing) tail() []byte {
	l.listOnce.Do(func() {
		full := protocol.AppendSymbols(nil, nil, l.symbolNames())
		l.listTail = full[len(symbolsStart):]
	})
	return l.listTail
}

// appendListHead appends the "list" reply for request id up to its names.
func appendListHead(dst, id []byte) []byte {
	js := protocol.AppendSymbols(dst, id, nil)
	return js[:len(js)-len(emptySymbolsEnd)]
}

// The pieces protocol.AppendSymbols writes around the id and the names.
const (
	symbolsStart    = `{"type":"symbols"`
	emptySymbolsEnd = `,"symbols":[]}`
)

// search returns the names that start with prefix, in byte order, at most
// limit of them, and whether more match.
func (l *listing) search(prefix string, limit int) (names []string, more bool) {
	cs := l.sorted.c
	// The first chunk whose last name is not below prefix, then the first
	// name in it that is not.
	i, _ := slices.BinarySearchFunc(cs, prefix, func(ch []*symbol, p string) int {
		return strings.Compare(ch[len(ch)-1].name, p)
	})
	for ; i < len(cs); i++ {
		ch := cs[i]
		j, _ := slices.BinarySearchFunc(ch, prefix, func(s *symbol, p string) int { return strings.Compare(s.name, p) })
		for ; j < len(ch); j++ {
			if !strings.HasPrefix(ch[j].name, prefix) {
				return names, false
			}
			if len(names) == limit {
				return names, true
			}
			names = append(names, ch[j].name)
		}
	}
	return names, false
}

// durations is a histogram of how long something took, for Stats: counts
// per bucket of ChangeBuckets and their sum. Safe for concurrent use.
type durations struct {
	n   [len(changeBounds) + 1]atomic.Uint64
	sum atomic.Int64 // ns
}

// ChangeBuckets are the upper bounds, in seconds, of the universe change
// histograms in Stats (ListSeconds, DelistSeconds): ×4 steps from 16 µs
// to about 4.3 s.
var ChangeBuckets = func() []float64 {
	b := make([]float64, len(changeBounds))
	for i, ns := range changeBounds {
		b[i] = float64(ns) / 1e9
	}
	return b
}()

var changeBounds = func() [10]int64 {
	var b [10]int64
	for i := range b {
		b[i] = 16384 << (2 * i)
	}
	return b
}()

func (d *durations) observe(t time.Duration) {
	i, _ := slices.BinarySearch(changeBounds[:], int64(t))
	d.n[i].Add(1)
	d.sum.Add(int64(t))
}

// Histogram is a snapshot of a duration histogram in Stats: Counts[i] is
// the count in bucket i, whose upper bound is the i-th bound of its
// buckets (the last bucket has none); Sum is their total.
type Histogram struct {
	Counts []uint64
	Sum    time.Duration
}

func (d *durations) snapshot() Histogram {
	h := Histogram{Counts: make([]uint64, len(d.n)), Sum: time.Duration(d.sum.Load())}
	for i := range d.n {
		h.Counts[i] = d.n[i].Load()
	}
	return h
}
