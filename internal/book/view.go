package book

import (
	"cmp"
	"slices"

	"github.com/tickerd/tickerd/protocol"
)

// Depth is one of the views a client subscribes to: the top 10, 50 or
// 200 levels of each side.
type Depth uint8

// The depths of protocol v1.
const (
	Depth10 Depth = iota
	Depth50
	Depth200
	NumDepths

	MaxDepth = Depth200
)

// maxViewLevels is the number of levels of MaxDepth.
const maxViewLevels = 200

var depthLevels = [NumDepths]int{10, 50, maxViewLevels}

// Levels returns the number of levels a side of the view has.
func (d Depth) Levels() int { return depthLevels[d] }

// ParseDepth returns the depth of n levels: 10, 50 or 200.
func ParseDepth(n int) (Depth, bool) {
	for d, l := range depthLevels {
		if l == n {
			return Depth(d), true
		}
	}
	return 0, false
}

// Depths is a set of depths.
type Depths uint8

// AllDepths holds every depth.
const AllDepths Depths = 1<<NumDepths - 1

// With returns s with d added.
func (s Depths) With(d Depth) Depths { return s | 1<<d }

// Has reports whether d is in s.
func (s Depths) Has(d Depth) bool { return s&(1<<d) != 0 }

// view is the state of one depth's view. Fields are guarded by Book.mu
// and written by Apply, except snap (also Snapshot); AppendDelta reads
// the output fields without the lock, on the publisher.
type view struct {
	// seq is the version of the view: the seq of the last update that
	// changed it, with ts its time. Apply keeps it for every depth,
	// wanted or not, so it depends only on the updates applied.
	seq  uint64
	ts   int64
	snap []byte // snapshot message of the current version, or nil

	// Output of the last Apply.
	changed  bool
	snapshot bool // the message is a snapshot (the update was one)
	prevSeq  uint64
	sum      uint32
	bids     []protocol.Level // delta levels, best first
	asks     []protocol.Level
}

// Delta describes the message AppendDelta wrote for a depth.
type Delta struct {
	Seq     uint64 // the view's version after the message
	PrevSeq uint64 // the version a delta applies to; 0 for a snapshot
	// Snapshot marks a snapshot message: the update was a snapshot, and
	// every subscriber of the depth must be sent this message (or a later
	// snapshot) before any later delta.
	Snapshot bool
}

// viewsLocked works out each depth's version after the update u, which
// has been applied to a valid book, and each wanted depth's message. It
// keeps the book's checksum while the top 10 levels, which are all it
// covers, stay the same. old holds the views' versions before a snapshot
// and fresh whether they may be kept (see loadViewsLocked).
func (b *Book) viewsLocked(u *protocol.BookUpdate, want Depths, old [NumDepths]protocol.BookView, fresh bool) {
	if u.Snapshot {
		b.sumOK = false
		b.loadViewsLocked(u, want, old, fresh)
		return
	}
	b.log[0], b.log[1] = compact(b.log[0]), compact(b.log[1])
	// The best changed level of either side is the first change of its
	// compacted log, and its rank is the same before and after the
	// update: a view of n levels changed if and only if that rank is
	// below n.
	top := maxViewLevels
	if len(b.log[0]) > 0 {
		top = min(top, b.bids.rank(b.log[0][0].key))
	}
	if len(b.log[1]) > 0 {
		top = min(top, b.asks.rank(b.log[1][0].key))
	}
	if top < protocol.ChecksumLevels {
		b.sumOK = false
	}
	for d := range NumDepths {
		v := &b.views[d]
		v.changed = false
		if top >= d.Levels() {
			continue
		}
		v.prevSeq, v.seq, v.ts, v.snap = v.seq, u.Seq, u.TS, nil
		if !want.Has(d) {
			continue
		}
		v.bids = appendViewDelta(v.bids[:0], &b.bids, b.log[0], d.Levels())
		v.asks = appendViewDelta(v.asks[:0], &b.asks, b.log[1], d.Levels())
		v.changed, v.snapshot = true, false
		v.sum = b.checksumLocked()
	}
}

// loadViewsLocked sets each depth's version after the snapshot u: u.Views
// when it gives one, else u's seq. A wanted depth's message is the
// snapshot, except that when fresh (the book was valid, in u's epoch,
// before u) a depth whose given version is the one it had already is
// unchanged and has none.
func (b *Book) loadViewsLocked(u *protocol.BookUpdate, want Depths, old [NumDepths]protocol.BookView, fresh bool) {
	for d := range NumDepths {
		v := &b.views[d]
		ver := u.Views[d]
		given := ver.Seq != 0
		if !given {
			ver = protocol.BookView{Seq: u.Seq, TS: u.TS}
		}
		if given && fresh && old[d].Seq == ver.Seq {
			v.changed = false
			continue
		}
		*v = view{seq: ver.Seq, ts: ver.TS, changed: want.Has(d), snapshot: true, bids: v.bids[:0], asks: v.asks[:0]}
		if v.changed {
			v.sum = b.checksumLocked()
		}
	}
}

// compact sorts a side's change log best first and leaves one change per
// key, from its first old size to its last new size, dropping those that
// end where they started.
func compact(log []change) []change {
	slices.SortStableFunc(log, func(a, b change) int { return cmp.Compare(b.key, a.key) })
	out := log[:0]
	for _, c := range log {
		if n := len(out); n > 0 && out[n-1].key == c.key {
			out[n-1].new = c.new
			continue
		}
		out = append(out, c)
	}
	return slices.DeleteFunc(out, func(c change) bool { return c.old == c.new })
}

// appendViewDelta appends to dst, best first, the levels that a holder of
// the side's top n levels before an update needs to hold its top n after
// it: the changed levels in the new top n, the levels that entered it
// (with their sizes) and the levels that left it (with size 0). s is the
// side after the update and log its compacted changes.
//
// A level's rank is the number of levels better than it. Walking the
// changes best first, d counts the levels added minus those removed so
// far, so an unchanged level of new rank r had old rank r-d. Between two
// changes every level is unchanged, and only those whose old and new
// ranks fall on either side of n cross the boundary.
func appendViewDelta(dst []protocol.Level, s *side, log []change, n int) []protocol.Level {
	d, run := 0, 0 // run: new rank of the first unchanged level after the last change
	for _, c := range log {
		r := s.rank(c.key)
		dst = appendCrossings(dst, s, run, r, d, n)
		oldRank := r - d
		switch {
		case c.new > 0 && r < n:
			dst = append(dst, protocol.Level{Price: s.key(c.key), Size: c.new})
		case c.old > 0 && oldRank < n:
			dst = append(dst, protocol.Level{Price: s.key(c.key)})
		}
		run = r
		switch {
		case c.old == 0:
			d++
			run++
		case c.new == 0:
			d--
		default:
			run++
		}
		if r >= n && oldRank >= n {
			return dst // every later level is out of both tops
		}
	}
	return appendCrossings(dst, s, run, s.len(), d, n)
}

// appendCrossings appends the unchanged levels of new ranks [from, to)
// that cross the top-n boundary when the levels better than them changed
// by d: for d > 0 those pushed out (new rank >= n > old rank), with size
// 0; for d < 0 those pulled in.
func appendCrossings(dst []protocol.Level, s *side, from, to, d, n int) []protocol.Level {
	switch {
	case d > 0:
		for r := max(from, n); r < min(to, n+d); r++ {
			dst = append(dst, protocol.Level{Price: s.rankLevel(r).Price})
		}
	case d < 0:
		for r := max(from, n+d); r < min(to, n); r++ {
			dst = append(dst, s.rankLevel(r))
		}
	}
	return dst
}

// AppendDelta appends to dst the message that the last Apply produced for
// depth d, and reports it; ok is false when there is none: d was not
// wanted, the update did not change the view, or it was not applied. The
// message is a delta from the view's previous version, or a snapshot when
// the update was one. Encode once, send to every subscriber of d whose
// view is at PrevSeq. It does not allocate when dst has room. Publisher
// only, after Apply.
func (b *Book) AppendDelta(dst []byte, d Depth) (out []byte, delta Delta, ok bool) {
	v := &b.views[d]
	if !v.changed {
		return dst, Delta{}, false
	}
	if v.snapshot {
		dst = b.appendSnapshot(dst, d, v.seq, v.ts, v.sum)
	} else {
		dst = protocol.AppendBook(dst, &protocol.BookMessage{
			Symbol: b.symbol, Depth: d.Levels(), Seq: v.seq, PrevSeq: v.prevSeq,
			Bids: v.bids, Asks: v.asks, Checksum: v.sum, TS: v.ts,
			PricePrec: b.pricePrec, SizePrec: b.sizePrec,
		})
	}
	return dst, Delta{Seq: v.seq, PrevSeq: v.prevSeq, Snapshot: v.snapshot}, true
}

// appendSnapshot appends the snapshot message of depth d's view, which is
// at version seq of time ts, with checksum sum. Publisher, or mu held.
func (b *Book) appendSnapshot(dst []byte, d Depth, seq uint64, ts int64, sum uint32) []byte {
	var bids, asks [maxViewLevels]protocol.Level
	n := d.Levels()
	return protocol.AppendBook(dst, &protocol.BookMessage{
		Symbol: b.symbol, Depth: n, Seq: seq, Snapshot: true,
		Bids: b.bids.appendTop(bids[:0], n), Asks: b.asks.appendTop(asks[:0], n),
		Checksum: sum, TS: ts, PricePrec: b.pricePrec, SizePrec: b.sizePrec,
	})
}

// Snapshot returns the snapshot message of depth d's view at its current
// version, and that version: the message a subscriber starts from, after
// which it is sent every delta whose PrevSeq is seq, in turn. ok is false
// while the book is invalid. The message is encoded the first time it is
// asked for and cached until the view changes: callers share it and must
// not modify it. Any goroutine.
func (b *Book) Snapshot(d Depth) (frame []byte, seq uint64, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.valid {
		return nil, 0, false
	}
	v := &b.views[d]
	seq, ts := v.seq, v.ts
	if v.snap != nil {
		return v.snap, seq, true
	}
	// About 40 bytes a level; the slice is never written again.
	n := min(b.bids.len(), d.Levels()) + min(b.asks.len(), d.Levels())
	v.snap = b.appendSnapshot(make([]byte, 0, 128+40*n), d, seq, ts, b.checksumLocked())
	return v.snap, seq, true
}
