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
//   - The name index is a hash table of symbol pointers (nameTable) that
//     a change edits in place, slot by slot: a change allocates nothing
//     there, but now and then a new table when the old one fills up.
//   - The listing (listing order, and names sorted for search) is an
//     immutable value swapped in whole, but each of its two orders is a
//     list of chunks of at most chunkMax symbols, in pages of at most
//     chunkMax chunks: a change copies the chunks it touches, their pages
//     and the list of pages, and shares the rest with the listing before.
//   - What is made of a whole listing (Symbols, the "list" reply) is made
//     once per listing, on first use, by whoever asks: never by the change.
//
// Per symbol nobody watches, the hub holds: the symbol (symbol, with its
// quote stream), its index slots, two pointers in the listing's chunks and
// the name itself; measured in TestUnwatchedSymbolMemory.
type universe struct {
	seed  maphash.Seed
	index atomic.Pointer[nameTable]
	cur   atomic.Pointer[listing]

	mu   sync.Mutex // serialises changes (List, Delist)
	next uint64     // guarded by mu: the listing number of the next symbol listed
	live int        // guarded by mu: the symbols in index
	used int        // guarded by mu: the slots of index not nil (live or delisted)

	// Time of each change, by op: the caller's time in List or Delist.
	changeList, changeDelist durations

	// pageNames holds the "list" reply's encoding of each page of the
	// listing order the last list reply was made from (listing.pieces),
	// so that the next listing re-encodes only the pages a change made.
	pageMu    sync.Mutex
	pageNames map[pageKey][]byte
}

// pageKey names a page of a listing's order: a page is immutable, and the
// map that holds its key holds the page, so its array is not reused.
type pageKey struct {
	first *[]*symbol
	n     int
}

// nameTable is the name index: open addressing with linear probing,
// a slot per power of two, at most maxLoad of them used. Readers (lookup)
// take no lock; the one writer, under universe.mu, only ever fills a nil
// slot or turns a symbol's slot into delisted or a delisted slot into a
// symbol. So a reader's probe never stops early at a nil that was a
// symbol, and whatever it reads, it either finds the name or the name was
// not listed at some moment of the probe. A table that would fill past
// maxLoad is replaced by one twice the live symbols' room, without the
// delisted slots; a reader still in the old one sees the universe as it
// was before the change.
type nameTable struct {
	slots []atomic.Pointer[symbol]
	mask  uint64
}

// delistedSlot marks a slot whose symbol was delisted: probes go on past
// it, and a symbol listed later may take it.
var delistedSlot = new(symbol)

// maxLoad is the share of a table's slots that may be used, in eighths,
// before a change makes a new table; a new table has at most half its
// slots used.
const maxLoad = 6

func newNameTable(n int) *nameTable {
	size := 16
	for size < 2*n {
		size *= 2
	}
	return &nameTable{slots: make([]atomic.Pointer[symbol], size), mask: uint64(size - 1)}
}

// listing is one version of the universe, immutable once published.
type listing struct {
	order  chunks // in listing order (symbol.num)
	sorted chunks // by name, for search

	namesOnce  sync.Once
	nameList   []string // Symbols(), made on first use
	piecesOnce sync.Once
	listPieces [][]byte // the "list" reply after its names' opening bracket (see pieces)
	zOnce      sync.Once
	zTail      []byte // the "list" reply after its id, compressed (see zlistReply); nil if it does not pay
}

func newUniverse() *universe {
	u := &universe{seed: maphash.MakeSeed()}
	u.index.Store(newNameTable(0))
	u.cur.Store(&listing{})
	return u
}

// lookup returns the listed symbol called name, or nil. Any goroutine may
// call it.
func (u *universe) lookup(name string) *symbol {
	return u.index.Load().find(maphash.String(u.seed, name), name)
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
	t := u.indexFor(len(syms))
	added := make([]*symbol, 0, len(syms))
	for _, s := range syms {
		if s.Name == "" {
			continue
		}
		h := maphash.String(u.seed, s.Name)
		if t.find(h, s.Name) != nil {
			continue // listed, or earlier in syms
		}
		sym := newSymbol(s.Name)
		sym.num = u.next
		u.next++
		u.used += t.insert(h, sym)
		added = append(added, sym)
	}
	u.live += len(added)
	u.index.Store(t)
	if len(added) == 0 {
		return 0
	}
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
	u.unindex(gone)
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

// indexFor returns the index to add up to n symbols to: the one in use,
// or, when it has no room for them, a new one with the listed symbols in
// it, which the caller publishes. u.mu is held.
func (u *universe) indexFor(n int) *nameTable {
	t := u.index.Load()
	if (u.used+n)*8 <= len(t.slots)*maxLoad {
		return t
	}
	t = newNameTable(u.live + n)
	u.used = 0
	for s := range u.current().order.all {
		u.used += t.insert(maphash.String(u.seed, s.name), s)
	}
	return t
}

// unindex takes syms, which are in the index, out of it. u.mu is held.
func (u *universe) unindex(syms []*symbol) {
	t := u.index.Load()
	for _, sym := range syms {
		i := maphash.String(u.seed, sym.name) & t.mask
		for t.slots[i].Load() != sym {
			i = (i + 1) & t.mask
		}
		t.slots[i].Store(delistedSlot)
	}
	u.live -= len(syms)
}

// find returns the symbol called name, whose hash is hash, or nil.
func (t *nameTable) find(hash uint64, name string) *symbol {
	for i := hash & t.mask; ; i = (i + 1) & t.mask {
		s := t.slots[i].Load()
		if s == nil {
			return nil
		}
		if s.name == name && s != delistedSlot {
			return s
		}
	}
}

// insert puts sym, which t does not hold, in the first free slot from
// hash's and returns how many nil slots it took: 0 or 1.
func (t *nameTable) insert(hash uint64, sym *symbol) int {
	for i := hash & t.mask; ; i = (i + 1) & t.mask {
		switch t.slots[i].Load() {
		case nil:
			t.slots[i].Store(sym)
			return 1
		case delistedSlot:
			t.slots[i].Store(sym)
			return 0
		}
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
// chunkMax, themselves kept in immutable pages of at most chunkMax chunks,
// so that a change copies only the chunks it touches, the pages that hold
// them and the page pointers: at 100,000 symbols some 2,000 chunks in 40
// pages. Its zero value is the empty list.
type chunks struct {
	pages [][][]*symbol // none empty, nor any of their chunks
	n     int
}

// chunkMax bounds a chunk and a page; one split in two gets half of it
// each.
const chunkMax = 64

// insert returns the list with add (sorted by cmp, none of them in the
// list) merged in; the chunks and pages add does not touch are shared.
func (l chunks) insert(add []*symbol, cmp func(a, b *symbol) int) chunks {
	intoChunks := func(cs [][]*symbol, add []*symbol) [][]*symbol {
		return insertRuns(cs, add, cmp, chunkEnds, func(ch []*symbol, add []*symbol) []*symbol { return merge(ch, add, cmp) })
	}
	return chunks{pages: insertRuns(l.pages, add, cmp, pageEnds, intoChunks), n: l.n + len(add)}
}

// insertRuns returns runs (of chunks or of symbols, in the order of cmp;
// ends gives a run's first and last symbol) with add (sorted by cmp)
// merged in: each run that add touches is replaced by what into makes of
// it and its part of add, split in runs of at most chunkMax; the other
// runs are shared.
func insertRuns[T any](runs [][]T, add []*symbol, cmp func(a, b *symbol) int,
	ends func([]T) (first, last *symbol), into func(run []T, add []*symbol) []T) [][]T {
	out := make([][]T, 0, len(runs)+len(add)/(chunkMax/2)+1)
	for i, r := range runs {
		if len(add) == 0 {
			out = append(out, runs[i:]...)
			break
		}
		// The symbols of add that go in r: those before the next run.
		k := len(add)
		if i+1 < len(runs) {
			next, _ := ends(runs[i+1])
			k, _ = slices.BinarySearchFunc(add, next, cmp)
		}
		if k == 0 {
			out = append(out, r)
			continue
		}
		out = appendSplit(out, into(r, add[:k]))
		add = add[k:]
	}
	if len(runs) == 0 && len(add) > 0 {
		out = appendSplit(out, into(nil, add))
	}
	return out
}

// remove returns the list without gone (sorted by cmp, each in the list
// and marked delisted); the chunks and pages gone does not touch are
// shared.
func (l chunks) remove(gone []*symbol, cmp func(a, b *symbol) int) chunks {
	fromChunks := func(cs [][]*symbol, gone []*symbol) [][]*symbol {
		return removeRuns(cs, gone, cmp, chunkEnds, func(ch []*symbol, _ []*symbol) []*symbol {
			kept := make([]*symbol, 0, len(ch))
			for _, s := range ch {
				if !s.delisted.Load() {
					kept = append(kept, s)
				}
			}
			return kept
		})
	}
	return chunks{pages: removeRuns(l.pages, gone, cmp, pageEnds, fromChunks), n: l.n - len(gone)}
}

// removeRuns returns runs (as insertRuns takes them) without gone (sorted
// by cmp): each run that gone touches is replaced by what from makes of it
// and its part of gone, and joined to the run before when both are small;
// the other runs are shared.
func removeRuns[T any](runs [][]T, gone []*symbol, cmp func(a, b *symbol) int,
	ends func([]T) (first, last *symbol), from func(run []T, gone []*symbol) []T) [][]T {
	out := make([][]T, 0, len(runs))
	for i, r := range runs {
		if len(gone) == 0 {
			out = append(out, runs[i:]...)
			break
		}
		// The symbols of gone in r: those not after its last.
		_, end := ends(r)
		k, found := slices.BinarySearchFunc(gone, end, cmp)
		if found {
			k++
		}
		if k == 0 {
			out = append(out, r)
			continue
		}
		kept := from(r, gone[:k])
		gone = gone[k:]
		switch prev := len(out) - 1; {
		case len(kept) == 0:
		case prev >= 0 && len(out[prev])+len(kept) <= chunkMax/2:
			// Two small neighbours become one, so runs stay large.
			out[prev] = append(slices.Clip(out[prev]), kept...)
		default:
			out = append(out, kept)
		}
	}
	return out
}

// chunkEnds returns the first and the last symbol of a chunk.
func chunkEnds(ch []*symbol) (first, last *symbol) { return ch[0], ch[len(ch)-1] }

// pageEnds returns the first and the last symbol of a page.
func pageEnds(p [][]*symbol) (first, last *symbol) {
	first, _ = chunkEnds(p[0])
	_, last = chunkEnds(p[len(p)-1])
	return first, last
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

// appendSplit appends r to rs as runs of at most chunkMax.
func appendSplit[T any](rs [][]T, r []T) [][]T {
	if len(r) <= chunkMax {
		return append(rs, r)
	}
	for len(r) > 0 {
		n := min(len(r), chunkMax/2)
		if len(r)-n < chunkMax/4 {
			n = len(r) // no small run at the end
		}
		rs = append(rs, slices.Clip(r[:n]))
		r = r[n:]
	}
	return rs
}

// all yields the symbols in order.
func (l chunks) all(yield func(*symbol) bool) {
	for _, p := range l.pages {
		for _, ch := range p {
			for _, s := range ch {
				if !yield(s) {
					return
				}
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
		l.nameList = make([]string, 0, l.order.n)
		for name := range l.names {
			l.nameList = append(l.nameList, name)
		}
	})
	return l.nameList
}

// names yields the names of the listing, in listing order.
func (l *listing) names(yield func(string) bool) {
	for s := range l.order.all {
		if !yield(s.name) {
			return
		}
	}
}

// listReply returns the "list" reply for request id as pieces that go out
// back to back as one frame: a small head made for this request (frame
// header, type, id, up to the names' opening bracket), then the names and
// the end, made once per listing (pieces) and shared by every connection
// that asks.
func (l *listing) listReply(u *universe, id []byte) (head []byte, tail [][]byte) {
	tail = l.pieces(u)
	js := append(appendListHead(nil, id), `,"symbols":[`...)
	head = appendTextHeader(make([]byte, 0, 10+len(js)), len(js)+size(tail))
	return append(head, js...), tail
}

// pieces returns the "list" reply after `"symbols":[`: the names of each
// page of the listing order, comma-separated, then `]}`; made once per
// listing. A page's names are encoded once for as long as the page is in
// the listings asked for (u.pageNames): a change of a thousand symbols
// touches a few of the 40-odd pages of 100,000, so a new listing's reply
// costs the universe those pages' encoding, not the whole reply's
// (1.9 MB at 100,000 symbols), and each connection's write of it gathers
// the shared pieces.
func (l *listing) pieces(u *universe) [][]byte {
	l.piecesOnce.Do(func() {
		u.pageMu.Lock()
		defer u.pageMu.Unlock()
		next := make(map[pageKey][]byte, len(l.order.pages))
		ps := make([][]byte, 0, len(l.order.pages)+1)
		for _, p := range l.order.pages {
			k := pageKey{&p[0], len(p)}
			enc, ok := u.pageNames[k]
			if !ok {
				enc = encodePage(p)
			}
			next[k] = enc
			if len(ps) == 0 {
				enc = enc[1:] // the first page's names need no comma before them
			}
			ps = append(ps, enc)
		}
		u.pageNames = next
		l.listPieces = append(ps, []byte("]}"))
	})
	return l.listPieces
}

// encodePage returns the names of a page as the "list" reply has them,
// each after a comma.
func encodePage(p [][]*symbol) []byte {
	names := func(yield func(string) bool) {
		for _, ch := range p {
			for _, s := range ch {
				if !yield(s.name) {
					return
				}
			}
		}
	}
	full := protocol.AppendSymbolsSeq(nil, nil, names)
	// {"type":"symbols","symbols":[NAMES]}: the bracket becomes the comma
	// before NAMES.
	enc := full[len(symbolsStart+`,"symbols":[`)-1 : len(full)-len("]}")]
	enc[0] = ','
	return enc
}

// tail returns the "list" reply after its id, `,"symbols":[` and the
// pieces, in one new slice (for compressing it).
func (l *listing) tail(u *universe) []byte {
	ps := l.pieces(u)
	return slices.Concat(append([][]byte{[]byte(`,"symbols":[`)}, ps...)...)
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
	ps := l.sorted.pages
	// The first page whose last name is not below prefix, then the first
	// chunk in it, then the first name in that chunk.
	byLast := func(ch []*symbol, p string) int { return strings.Compare(ch[len(ch)-1].name, p) }
	i, _ := slices.BinarySearchFunc(ps, prefix, func(pg [][]*symbol, p string) int { return byLast(pg[len(pg)-1], p) })
	if i == len(ps) {
		return nil, false
	}
	j, _ := slices.BinarySearchFunc(ps[i], prefix, byLast)
	k, _ := slices.BinarySearchFunc(ps[i][j], prefix, func(s *symbol, p string) int { return strings.Compare(s.name, p) })
	for ; i < len(ps); i, j = i+1, 0 {
		for ; j < len(ps[i]); j, k = j+1, 0 {
			for _, s := range ps[i][j][k:] {
				if !strings.HasPrefix(s.name, prefix) {
					return names, false
				}
				if len(names) == limit {
					return names, true
				}
				names = append(names, s.name)
			}
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
