package book

import (
	"runtime"
	"testing"
	"unsafe"

	"github.com/tickerd/tickerd/protocol"
)

// BenchmarkApply measures level changes applied per second on a realistic
// stream: updates of 1 to 4 changes, 90% of them within a few levels of
// the touch (slot exponential with mean 5 ticks: mostly size changes,
// some inserts and removals) and 10% anywhere in the book. "levels" is
// about how many levels a side holds; "views" says which depths are
// worked out and encoded with AppendDelta after each update.
//
//	go test ./internal/book -run '^$' -bench Apply -benchtime 2s -count 5
func BenchmarkApply(b *testing.B) {
	for _, bc := range []struct {
		name  string
		slots int
		want  Depths
	}{
		{"levels=750/views=none", 1000, 0},
		{"levels=750/views=10", 1000, 1 << Depth10},
		{"levels=750/views=all", 1000, AllDepths},
		{"levels=15000/views=none", 20000, 0},
		{"levels=15000/views=all", 20000, AllDepths},
	} {
		b.Run(bc.name, func(b *testing.B) {
			m := newMarket(1, 5, bc.slots, 0.1)
			snap := m.snapshot()
			stream := make([]*protocol.BookUpdate, 1<<15)
			for i := range stream {
				stream[i] = m.update(1 + i%4)
			}
			bk := New(m.symbol, Config{})
			buf := make([]byte, 0, 64<<10)
			seq, i, changes := uint64(0), 0, 0
			apply := func(u *protocol.BookUpdate) {
				seq++
				u.Seq = seq
				if err := bk.Apply(u, bc.want); err != nil {
					b.Fatal(err)
				}
				for d := range NumDepths {
					if bc.want.Has(d) {
						buf, _, _ = bk.AppendDelta(buf[:0], d)
					}
				}
			}
			apply(snap)
			b.ReportAllocs()
			for b.Loop() {
				if i == len(stream) { // start the stream over from its snapshot
					apply(snap)
					i = 0
				}
				u := stream[i]
				i++
				apply(u)
				changes += len(u.Bids) + len(u.Asks)
			}
			b.ReportMetric(float64(changes)/b.Elapsed().Seconds(), "changes/s")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(changes), "ns/change")
		})
	}
}

// BenchmarkSnapshot measures encoding a depth's snapshot message, which
// Snapshot does once per version of the view.
func BenchmarkSnapshot(b *testing.B) {
	m := newMarket(1, 5, 1000, 0.1)
	bk := New(m.symbol, Config{})
	if err := bk.Apply(m.snapshot(), AllDepths); err != nil {
		b.Fatal(err)
	}
	for d := range NumDepths {
		b.Run("depth="+[...]string{"10", "50", "200"}[d], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				bk.views[d].snap = nil // as after a change
				bk.Snapshot(d)
			}
		})
	}
}

// Memory of a book, as documented in the package doc.
const (
	maxFixedBytes = 1024 // a book with no levels
	// After a snapshot: 16 a level and a quarter more room, plus the
	// allocator's rounding to its size classes.
	maxBytesPerLevel = 21
)

// TestMemoryPerBook measures the heap a book takes: fixed, per level, and
// for serving all three depths. It checks the figures of the package doc.
//
//	go test ./internal/book -run TestMemoryPerBook -v
func TestMemoryPerBook(t *testing.T) {
	snapshot := func(levels int) *protocol.BookUpdate {
		u := &protocol.BookUpdate{Symbol: "BTC-USD", Seq: 1, Snapshot: true, PricePrec: 2, SizePrec: 8}
		for i := range levels {
			u.Bids = append(u.Bids, protocol.Level{Price: int64(9_154_930 - i), Size: int64(52_000_000 + i)})
			u.Asks = append(u.Asks, protocol.Level{Price: int64(9_154_940 + i), Size: int64(120_000_000 + i)})
		}
		return u
	}
	// heapPerBook returns the heap taken by a book after setup, on average
	// over many books.
	heapPerBook := func(setup func(*Book)) float64 {
		const books = 1000
		bs := make([]*Book, books)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for i := range bs {
			bs[i] = New("BTC-USD", Config{})
			setup(bs[i])
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		runtime.KeepAlive(bs)
		return float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / books
	}
	load := func(u *protocol.BookUpdate, want Depths) func(*Book) {
		return func(b *Book) {
			if err := b.Apply(u, want); err != nil {
				t.Fatal(err)
			}
		}
	}
	empty := heapPerBook(func(*Book) {})
	small, large := snapshot(100), snapshot(1000)
	at100 := heapPerBook(load(small, 0))
	at1000 := heapPerBook(load(large, 0))
	perLevel := (at1000 - at100) / (2 * 900)
	serving := heapPerBook(func(b *Book) {
		load(large, AllDepths)(b)
		for d := range NumDepths {
			b.AppendDelta(nil, d)
			b.Snapshot(d)
		}
	})
	t.Logf("Book struct %d bytes; new book %.0f bytes; %.1f bytes a level after a snapshot; "+
		"1000 levels a side: %.0f bytes, %.0f more serving all depths",
		unsafe.Sizeof(Book{}), empty, perLevel, at1000, serving-at1000)
	if empty > maxFixedBytes {
		t.Errorf("a new book takes %.0f bytes, documented at most %d", empty, maxFixedBytes)
	}
	if perLevel > maxBytesPerLevel {
		t.Errorf("a level takes %.1f bytes, documented at most %d", perLevel, maxBytesPerLevel)
	}
}
