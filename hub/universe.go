package hub

import (
	"hash/maphash"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/protocol"
)

// universe is the set of symbols the hub serves, which List and Delist
// change while it runs. Lookups (publishers, readers, upgrades) take no
// lock and never wait for a change: the name index is split in buckets,
// each an immutable map behind an atomic pointer that a change replaces
// with a copy (so a change costs the size of the buckets it touches, not
// the universe), and the listing (order, sorted names, the cached "list"
// reply) is an immutable value swapped in whole.
//
// Per symbol nobody watches, the hub holds: the symbol (symbol, with its
// quote stream), its entry in a bucket map, two pointers in the listing
// and the name itself; measured in TestUnwatchedSymbolMemory.
type universe struct {
	seed  maphash.Seed
	index [nameBuckets]atomic.Pointer[map[string]*symbol]
	cur   atomic.Pointer[listing]

	mu sync.Mutex // serialises changes (List, Delist)
}

// nameBuckets is how many maps the name index is split into: a change of
// one symbol copies 1/nameBuckets of the index.
const nameBuckets = 64

// listing is one version of the universe, immutable once published.
type listing struct {
	syms   []*symbol // in listing order
	sorted []*symbol // by name, for search

	namesOnce sync.Once
	names     []string // Symbols(), made on first use
	listOnce  sync.Once
	listTail  []byte // the "list" reply after its id, made on first use
}

func newUniverse() *universe {
	u := &universe{seed: maphash.MakeSeed()}
	empty := map[string]*symbol{}
	for i := range u.index {
		u.index[i].Store(&empty)
	}
	u.cur.Store(&listing{})
	return u
}

func (u *universe) bucket(name string) *atomic.Pointer[map[string]*symbol] {
	return &u.index[maphash.String(u.seed, name)%nameBuckets]
}

// lookup returns the listed symbol called name, or nil. Any goroutine may
// call it.
func (u *universe) lookup(name string) *symbol {
	return (*u.bucket(name).Load())[name]
}

// current returns the listing now in force. Any goroutine may call it.
func (u *universe) current() *listing { return u.cur.Load() }

// list adds the symbols of syms not listed yet, in their order, and
// returns how many it added. A name listed twice in syms counts once.
func (u *universe) list(syms []feed.Symbol) int {
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
		added = append(added, newSymbol(s.Name))
	}
	if len(added) == 0 {
		return 0
	}
	u.edit(added, func(m map[string]*symbol, sym *symbol) { m[sym.name] = sym })

	old := u.cur.Load()
	l := &listing{syms: make([]*symbol, 0, len(old.syms)+len(added))}
	l.syms = append(append(l.syms, old.syms...), added...)
	slices.SortFunc(added, bySymbolName)
	l.sorted = mergeSorted(old.sorted, added)
	u.cur.Store(l)
	return len(added)
}

// delist removes the listed symbols among names and returns them.
func (u *universe) delist(names []string) []*symbol {
	u.mu.Lock()
	defer u.mu.Unlock()
	var gone []*symbol
	for _, n := range names {
		if sym := u.lookup(n); sym != nil && !slices.Contains(gone, sym) {
			gone = append(gone, sym)
		}
	}
	if len(gone) == 0 {
		return nil
	}
	u.edit(gone, func(m map[string]*symbol, sym *symbol) { delete(m, sym.name) })
	for _, sym := range gone {
		sym.delisted.Store(true)
	}
	old := u.cur.Load()
	keep := func(s *symbol) bool { return !s.delisted.Load() }
	l := &listing{
		syms:   filter(old.syms, keep, len(old.syms)-len(gone)),
		sorted: filter(old.sorted, keep, len(old.sorted)-len(gone)),
	}
	u.cur.Store(l)
	return gone
}

// edit applies change to a copy of each bucket that holds one of syms,
// then publishes the copies. u.mu is held.
func (u *universe) edit(syms []*symbol, change func(map[string]*symbol, *symbol)) {
	var touched [nameBuckets][]*symbol
	for _, sym := range syms {
		i := maphash.String(u.seed, sym.name) % nameBuckets
		touched[i] = append(touched[i], sym)
	}
	for i, group := range touched {
		if len(group) == 0 {
			continue
		}
		old := *u.index[i].Load()
		m := make(map[string]*symbol, len(old)+len(group))
		for k, v := range old {
			m[k] = v
		}
		for _, sym := range group {
			change(m, sym)
		}
		u.index[i].Store(&m)
	}
}

func bySymbolName(a, b *symbol) int { return strings.Compare(a.name, b.name) }

// mergeSorted merges two lists sorted by name into a new one.
func mergeSorted(a, b []*symbol) []*symbol {
	out := make([]*symbol, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		if a[0].name <= b[0].name {
			out, a = append(out, a[0]), a[1:]
		} else {
			out, b = append(out, b[0]), b[1:]
		}
	}
	return append(append(out, a...), b...)
}

// filter returns the elements of syms keep accepts, in a new slice of
// capacity n.
func filter(syms []*symbol, keep func(*symbol) bool, n int) []*symbol {
	out := make([]*symbol, 0, max(n, 0))
	for _, s := range syms {
		if keep(s) {
			out = append(out, s)
		}
	}
	return out
}

// symbolNames returns the names of the listing, in listing order. The
// slice is shared: callers must not change it.
func (l *listing) symbolNames() []string {
	l.namesOnce.Do(func() {
		l.names = make([]string, len(l.syms))
		for i, s := range l.syms {
			l.names[i] = s.name
		}
	})
	return l.names
}

// listReply returns the "list" reply for request id as two pieces that
// go out back to back as one frame: a small head made for this request
// (frame header, type and id) and the rest, made once per listing and
// shared by every connection that asks.
func (l *listing) listReply(id []byte) (head, tail []byte) {
	l.listOnce.Do(func() {
		full := protocol.AppendSymbols(nil, nil, l.symbolNames())
		l.listTail = full[len(symbolsStart):]
	})
	tail = l.listTail
	js := protocol.AppendSymbols(nil, id, nil)
	js = js[:len(js)-len(emptySymbolsEnd)]
	head = appendTextHeader(make([]byte, 0, 10+len(js)), len(js)+len(tail))
	return append(head, js...), tail
}

// The pieces protocol.AppendSymbols writes around the id and the names.
const (
	symbolsStart    = `{"type":"symbols"`
	emptySymbolsEnd = `,"symbols":[]}`
)

// search returns the names that start with prefix, in byte order, at most
// limit of them, and whether more match.
func (l *listing) search(prefix string, limit int) (names []string, more bool) {
	i := sort.Search(len(l.sorted), func(i int) bool { return l.sorted[i].name >= prefix })
	for ; i < len(l.sorted) && strings.HasPrefix(l.sorted[i].name, prefix); i++ {
		if len(names) == limit {
			return names, true
		}
		names = append(names, l.sorted[i].name)
	}
	return names, false
}
