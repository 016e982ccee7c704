package book

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/tickerd/tickerd/protocol"
)

// LevelBytes is the memory of one stored level: a fixed-point price and
// size.
const LevelBytes = 16

// scanLevels is how many of the best levels search looks at one by one
// before it falls back to binary search: most changes are at the touch.
const scanLevels = 8

// side is one side of a book: its levels sorted by key ascending, so the
// best level is last. A bid's key is its price and an ask's key its
// negated price, so on both sides a larger key is a better level, and a
// change near the touch moves only the few levels between it and the end.
type side struct {
	levels []protocol.Level // Price holds the key
	ask    bool
	// max bounds len and cap of levels; 0 means unbounded. When an insert
	// finds the side full, the worst max/8 levels are dropped at once, the
	// best of them becomes the floor, and from then on the side holds
	// exactly the feed's levels better than the floor: changes at or
	// beyond it are ignored until the next load.
	max       int
	floor     int64
	truncated bool
}

// change is one level of a side whose size changed during an update, by
// key. old or new is 0 when the level did not exist before or after.
type change struct {
	key, old, new int64
}

// key returns the side's sort key of price.
func (s *side) key(price int64) int64 {
	if s.ask {
		return -price
	}
	return price
}

// len returns the number of levels.
func (s *side) len() int { return len(s.levels) }

// rankLevel returns the level at rank r (0 is the best), with its price.
func (s *side) rankLevel(r int) protocol.Level {
	l := s.levels[len(s.levels)-1-r]
	return protocol.Level{Price: s.key(l.Price), Size: l.Size}
}

// appendTop appends the best n levels (fewer if the side is shorter), best
// first, with their prices.
func (s *side) appendTop(dst []protocol.Level, n int) []protocol.Level {
	for r := range min(n, len(s.levels)) {
		dst = append(dst, s.rankLevel(r))
	}
	return dst
}

// search returns the index of key in s.levels, or where it would be
// inserted, and whether it is there. It looks at the best scanLevels
// levels one by one first.
func (s *side) search(key int64) (int, bool) {
	l := s.levels
	n := len(l)
	lo := max(n-scanLevels, 0)
	if n > 0 && key >= l[lo].Price {
		i := n
		for i > lo && l[i-1].Price >= key {
			i--
		}
		return i, i < n && l[i].Price == key
	}
	i, j := 0, lo
	for i < j {
		h := int(uint(i+j) >> 1)
		if l[h].Price < key {
			i = h + 1
		} else {
			j = h
		}
	}
	return i, i < n && l[i].Price == key
}

// rank returns the number of levels better than key.
func (s *side) rank(key int64) int {
	i, found := s.search(key)
	if found {
		i++
	}
	return len(s.levels) - i
}

// set sets the level at key to size, removing it if size is 0, and
// appends each level whose size changed to *log when log is not nil. It
// reports whether it dropped levels at the bound.
func (s *side) set(key, size int64, log *[]change) (dropped bool) {
	i, found := s.search(key)
	if found {
		old := s.levels[i].Size
		if size == old {
			return false
		}
		if size == 0 {
			s.levels = slices.Delete(s.levels, i, i+1)
		} else {
			s.levels[i].Size = size
		}
		if log != nil {
			*log = append(*log, change{key, old, size})
		}
		return false
	}
	if size == 0 || s.truncated && key <= s.floor {
		return false
	}
	if s.max > 0 && len(s.levels) == s.max {
		i -= s.dropWorst(log)
		dropped = true
		if key <= s.floor {
			return true // it would have been among the dropped
		}
	}
	if len(s.levels) == cap(s.levels) {
		s.grow(len(s.levels) + 1)
	}
	s.levels = slices.Insert(s.levels, i, protocol.Level{Price: key, Size: size})
	if log != nil {
		*log = append(*log, change{key, 0, size})
	}
	return dropped
}

// dropWorst drops the worst max/8 levels (at least one), makes the best of
// them the floor, logs them as removed, and returns how many it dropped.
func (s *side) dropWorst(log *[]change) int {
	k := max(s.max/8, 1)
	if log != nil {
		for _, l := range s.levels[:k] {
			*log = append(*log, change{l.Price, l.Size, 0})
		}
	}
	s.floor = s.levels[k-1].Price
	s.truncated = true
	s.levels = slices.Delete(s.levels, 0, k)
	return k
}

// grow makes room for at least n levels, doubling the capacity but never
// past max.
func (s *side) grow(n int) {
	c := max(2*cap(s.levels), n, 16)
	if s.max > 0 {
		c = min(c, s.max)
	}
	l := make([]protocol.Level, len(s.levels), c)
	copy(l, s.levels)
	s.levels = l
}

// Errors of a snapshot's levels.
var (
	errBadSize  = errors.New("a level's size is not positive")
	errBadPrice = errors.New("a level's price is out of range")
	errDupPrice = errors.New("two levels have the same price")
)

// load replaces the side's levels with levels, which may come in any
// order (best first is fastest: anything else is sorted in a copy). If
// there are more than max it keeps the best max and reports that it
// dropped the others.
func (s *side) load(levels []protocol.Level) (dropped bool, err error) {
	s.levels, s.floor, s.truncated = s.levels[:0], 0, false
	sorted := true
	for i, l := range levels {
		switch {
		case l.Size <= 0:
			return false, fmt.Errorf("%w: price %d size %d", errBadSize, l.Price, l.Size)
		case l.Price == math.MinInt64:
			return false, fmt.Errorf("%w: %d", errBadPrice, l.Price)
		case i > 0 && s.key(l.Price) >= s.key(levels[i-1].Price):
			sorted = false
		}
	}
	if !sorted {
		levels = slices.Clone(levels)
		slices.SortFunc(levels, func(a, b protocol.Level) int { return cmp.Compare(s.key(b.Price), s.key(a.Price)) })
	}
	n := len(levels)
	if s.max > 0 && n > s.max {
		n, dropped = s.max, true
	}
	if c := cap(s.levels); c < n || c > 4*n && c > 1024 {
		s.levels = nil // too small, or far larger than needed: memory follows use
		s.grow(n + n/4)
	}
	l := s.levels[:n]
	for i, p := range levels[:n] {
		if i > 0 && p.Price == levels[i-1].Price {
			return false, fmt.Errorf("%w: %d", errDupPrice, p.Price)
		}
		l[n-1-i] = protocol.Level{Price: s.key(p.Price), Size: p.Size}
	}
	if dropped {
		if levels[n].Price == levels[n-1].Price {
			return false, fmt.Errorf("%w: %d", errDupPrice, levels[n].Price)
		}
		s.floor, s.truncated = s.key(levels[n].Price), true
	}
	s.levels = l
	return dropped, nil
}
