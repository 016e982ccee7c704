package sim

import (
	"sort"

	"github.com/tickerd/tickerd/protocol"
)

// book is one symbol's L2 order book. Prices and sizes are fixed point at
// the symbol's PricePrec and VolumePrec, as protocol.Level carries them.
type book struct {
	bids, asks side
}

// side is one side of a book. Its levels are sorted worst first and best
// last, so that the touch, where most of the activity is, sits at the end
// of the slice: orders there move few bytes. The slice's capacity is the
// book's depth, fixed when the book is made; a side never grows past it.
type side struct {
	lv  []protocol.Level
	bid bool // bids: best is highest; asks: best is lowest
}

func newBook(depth int) *book {
	// One allocation holds both sides.
	all := make([]protocol.Level, 2*depth)
	return &book{
		bids: side{lv: all[:0:depth], bid: true},
		asks: side{lv: all[depth : depth : 2*depth]},
	}
}

// best returns the touch. A side is never empty once its book is built.
func (s *side) best() protocol.Level { return s.lv[len(s.lv)-1] }

// full reports whether the side holds as many levels as its depth.
func (s *side) full() bool { return len(s.lv) == cap(s.lv) }

// key orders prices so that a larger key is a better price.
func (s *side) key(p int64) int64 {
	if s.bid {
		return p
	}
	return -p
}

// away returns the price d units away from p, away from the touch
// (lower for bids, higher for asks).
func (s *side) away(p, d int64) int64 {
	if s.bid {
		return p - d
	}
	return p + d
}

// search returns the index at which a level at price p is or would be.
func (s *side) search(p int64) (i int, found bool) {
	k := s.key(p)
	i = sort.Search(len(s.lv), func(j int) bool { return s.key(s.lv[j].Price) >= k })
	return i, i < len(s.lv) && s.lv[i].Price == p
}

// set gives the level at price p the size sz > 0, adding the level if it is
// new, and records the change in ch. A full side drops its worst level to
// make room, and records that too; a new level that would itself be the
// worst of a full side is not added. set reports whether the level is in
// the book afterwards.
func (s *side) set(p, sz int64, ch *changes) bool {
	i, found := s.search(p)
	if found {
		s.lv[i].Size = sz
		ch.add(s.bid, p, sz, false)
		return true
	}
	if s.full() {
		if i == 0 {
			return false
		}
		ch.add(s.bid, s.lv[0].Price, 0, false)
		copy(s.lv, s.lv[1:i])
		i--
	} else {
		s.lv = s.lv[:len(s.lv)+1]
		copy(s.lv[i+1:], s.lv[i:])
	}
	s.lv[i] = protocol.Level{Price: p, Size: sz}
	ch.add(s.bid, p, sz, true)
	return true
}

// remove deletes the level at index i and records it.
func (s *side) remove(i int, ch *changes) {
	ch.add(s.bid, s.lv[i].Price, 0, false)
	s.lv = append(s.lv[:i], s.lv[i+1:]...)
}

// appendBest writes the side's levels into dst best first, the order of
// the wire.
func (s *side) appendBest(dst []protocol.Level) []protocol.Level {
	for i := len(s.lv) - 1; i >= 0; i-- {
		dst = append(dst, s.lv[i])
	}
	return dst
}

// changes collects the level changes of one book update, as the consumer
// of the update must apply them: a price changed twice keeps its last size,
// and a level added and removed again within the update is not mentioned
// at all (its consumer never had it). The buffers are reused from update to
// update.
type changes struct {
	bids, asks []change
}

type change struct {
	protocol.Level
	fresh bool // the level was not in the book before this update
}

// add records that the level at price p now has size sz (0: removed).
// fresh says that the level was not in the book before the call.
func (c *changes) add(bid bool, p, sz int64, fresh bool) {
	lv := &c.asks
	if bid {
		lv = &c.bids
	}
	for i := range *lv {
		if e := &(*lv)[i]; e.Price == p {
			if sz == 0 && e.fresh {
				*lv = append((*lv)[:i], (*lv)[i+1:]...)
			} else {
				e.Size = sz
			}
			return
		}
	}
	*lv = append(*lv, change{protocol.Level{Price: p, Size: sz}, fresh})
}

func (c *changes) empty() bool { return len(c.bids) == 0 && len(c.asks) == 0 }

func (c *changes) reset() { c.bids, c.asks = c.bids[:0], c.asks[:0] }

// levels appends the changed levels of one side to dst.
func levels(dst []protocol.Level, ch []change) []protocol.Level {
	for _, c := range ch {
		dst = append(dst, c.Level)
	}
	return dst
}
