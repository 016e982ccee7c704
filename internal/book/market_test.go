package book

import (
	"cmp"
	"maps"
	"math/rand/v2"
	"slices"

	"github.com/tickerd/tickerd/protocol"
)

// market is a reference book and a generator of realistic updates for it:
// bids at mid-1-k and asks at mid+1+k ticks for a slot k ≥ 0; most changes
// are a few slots from the touch, some are anywhere down to deepSlots.
type market struct {
	r         *rand.Rand
	symbol    string
	mid       int64
	nearSlots float64 // mean slot of a change near the touch
	deepSlots int     // slots a deep change may land in
	deep      float64 // share of deep changes
	bids      map[int64]int64
	asks      map[int64]int64
	seq       uint64
	epoch     uint64
	ts        int64
}

func newMarket(seed uint64, nearSlots float64, deepSlots int, deep float64) *market {
	m := &market{
		r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), symbol: "BTC-USD", mid: 9_154_935,
		nearSlots: nearSlots, deepSlots: deepSlots, deep: deep,
		bids: map[int64]int64{}, asks: map[int64]int64{},
	}
	for k := range deepSlots {
		if m.r.Float64() < 0.75 {
			m.bids[m.mid-1-int64(k)] = m.size(k)
		}
		if m.r.Float64() < 0.75 {
			m.asks[m.mid+1+int64(k)] = m.size(k)
		}
	}
	return m
}

// size returns a size that tends to grow away from the touch.
func (m *market) size(slot int) int64 {
	return 1 + m.r.Int64N(int64(1000+100*slot))
}

func (m *market) slot() int {
	if m.r.Float64() < m.deep {
		return m.r.IntN(m.deepSlots + 10)
	}
	return int(m.r.ExpFloat64() * m.nearSlots)
}

// snapshot returns the whole book as a snapshot update at the next seq.
func (m *market) snapshot() *protocol.BookUpdate {
	m.seq++
	m.ts++
	return &protocol.BookUpdate{
		Symbol: m.symbol, Seq: m.seq, Epoch: m.epoch, TS: m.ts, Snapshot: true,
		Bids: m.top(m.bids, true, len(m.bids)), Asks: m.top(m.asks, false, len(m.asks)),
		PricePrec: 2, SizePrec: 3,
	}
}

// update returns a change of n levels at the next seq, applied to the
// reference book. A change may name a price twice.
func (m *market) update(n int) *protocol.BookUpdate {
	m.seq++
	m.ts++
	u := &protocol.BookUpdate{Symbol: m.symbol, Seq: m.seq, Epoch: m.epoch, TS: m.ts, PricePrec: 2, SizePrec: 3}
	for range n {
		m.change(u)
	}
	return u
}

func (m *market) change(u *protocol.BookUpdate) {
	k := m.slot()
	levels, dst, price := m.bids, &u.Bids, m.mid-1-int64(k)
	if m.r.IntN(2) == 0 {
		levels, dst, price = m.asks, &u.Asks, m.mid+1+int64(k)
	}
	size := m.size(k)
	if _, ok := levels[price]; ok && m.r.Float64() < 0.3 {
		size = 0
	}
	m.set(levels, dst, price, size)
}

func (m *market) set(levels map[int64]int64, dst *[]protocol.Level, price, size int64) {
	if size == 0 {
		delete(levels, price)
	} else {
		levels[price] = size
	}
	*dst = append(*dst, protocol.Level{Price: price, Size: size})
}

// sweep removes the best n levels of one side, as a large trade does.
func (m *market) sweep(n int) *protocol.BookUpdate {
	m.seq++
	m.ts++
	u := &protocol.BookUpdate{Symbol: m.symbol, Seq: m.seq, Epoch: m.epoch, TS: m.ts, PricePrec: 2, SizePrec: 3}
	levels, dst, bids := m.bids, &u.Bids, true
	if m.r.IntN(2) == 0 {
		levels, dst, bids = m.asks, &u.Asks, false
	}
	for _, l := range m.top(levels, bids, n) {
		m.set(levels, dst, l.Price, 0)
	}
	return u
}

// refill inserts n levels at free slots near the touch of one side.
func (m *market) refill(n int) *protocol.BookUpdate {
	m.seq++
	m.ts++
	u := &protocol.BookUpdate{Symbol: m.symbol, Seq: m.seq, Epoch: m.epoch, TS: m.ts, PricePrec: 2, SizePrec: 3}
	levels, dst, sign := m.bids, &u.Bids, int64(-1)
	if m.r.IntN(2) == 0 {
		levels, dst, sign = m.asks, &u.Asks, 1
	}
	for k := 0; n > 0 && k < 4*m.deepSlots; k++ {
		price := m.mid + sign*(1+int64(k))
		if _, ok := levels[price]; !ok {
			m.set(levels, dst, price, m.size(k))
			n--
		}
	}
	return u
}

// top returns the best n levels of a side, best first.
func (m *market) top(levels map[int64]int64, bids bool, n int) []protocol.Level {
	prices := slices.Collect(maps.Keys(levels))
	slices.SortFunc(prices, func(a, b int64) int {
		if bids {
			return cmp.Compare(b, a)
		}
		return cmp.Compare(a, b)
	})
	out := make([]protocol.Level, 0, min(n, len(prices)))
	for _, p := range prices[:min(n, len(prices))] {
		out = append(out, protocol.Level{Price: p, Size: levels[p]})
	}
	return out
}
