package book

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/tickerd/tickerd/protocol"
)

func lv(pairs ...int64) []protocol.Level {
	var ls []protocol.Level
	for i := 0; i+1 < len(pairs); i += 2 {
		ls = append(ls, protocol.Level{Price: pairs[i], Size: pairs[i+1]})
	}
	return ls
}

func TestApply(t *testing.T) {
	b := New("X", Config{})
	if _, _, valid := b.State(); valid {
		t.Fatal("a new book is valid")
	}
	// Unsorted snapshot levels are sorted; bids best first, asks best first.
	mustApply(t, b, &protocol.BookUpdate{Symbol: "X", Seq: 10, Snapshot: true, PricePrec: 1, SizePrec: 2,
		Bids: lv(98, 1, 100, 2, 99, 3), Asks: lv(103, 4, 101, 5)}, 0)
	mustApply(t, b, &protocol.BookUpdate{Symbol: "X", Seq: 11, PricePrec: 1, SizePrec: 2,
		Bids: lv(100, 0, 97, 6, 99, 7, 55, 0), Asks: lv(102, 8, 101, 0, 104, 9)}, 0)
	bids, asks := b.AppendTop(nil, nil, 10)
	if want := lv(99, 7, 98, 1, 97, 6); !slices.Equal(bids, want) {
		t.Errorf("bids = %v, want %v", bids, want)
	}
	if want := lv(102, 8, 103, 4, 104, 9); !slices.Equal(asks, want) {
		t.Errorf("asks = %v, want %v", asks, want)
	}
	bid, ask, bidOK, askOK := b.Best()
	if bid != (protocol.Level{Price: 99, Size: 7}) || ask != (protocol.Level{Price: 102, Size: 8}) || !bidOK || !askOK {
		t.Errorf("Best() = %v %v %v %v", bid, ask, bidOK, askOK)
	}
	if seq, _, valid := b.State(); seq != 11 || !valid {
		t.Errorf("State() = %d, %v", seq, valid)
	}
}

// TestApplyErrors checks the sequence rules: which updates are refused,
// which are ignored, and when the book becomes invalid until a snapshot.
func TestApplyErrors(t *testing.T) {
	snap := func(seq, epoch uint64) *protocol.BookUpdate {
		return &protocol.BookUpdate{Symbol: "X", Seq: seq, Epoch: epoch, Snapshot: true, PricePrec: 2, SizePrec: 2,
			Bids: lv(100, 1), Asks: lv(101, 1)}
	}
	delta := func(seq, epoch uint64, bids ...int64) *protocol.BookUpdate {
		return &protocol.BookUpdate{Symbol: "X", Seq: seq, Epoch: epoch, PricePrec: 2, SizePrec: 2, Bids: lv(bids...)}
	}
	tests := []struct {
		name  string
		u     *protocol.BookUpdate
		err   error
		valid bool // after the update
		seq   uint64
		msg   string
	}{
		{"delta before a snapshot", delta(1, 0, 99, 1), ErrNoBook, false, 0, "waiting for a snapshot"},
		{"snapshot", snap(5, 1), nil, true, 5, ""},
		{"next delta", delta(6, 1, 99, 1), nil, true, 6, ""},
		{"other symbol", &protocol.BookUpdate{Symbol: "Y", Seq: 7, Epoch: 1}, ErrWrongSymbol, true, 6, `update for "Y"`},
		{"older epoch", delta(7, 0), ErrStale, true, 6, "epoch 0, book at epoch 1"},
		{"older snapshot", snap(4, 1), ErrStale, true, 6, "older than the book's seq 6"},
		{"negative size", delta(7, 1, 99, -1), ErrBadUpdate, false, 6, "size -1"},
		{"delta while invalid", delta(8, 1, 99, 1), ErrNoBook, false, 6, ""},
		{"snapshot heals", snap(6, 1), nil, true, 6, ""},
		{"gap", delta(8, 1, 99, 1), ErrSeq, false, 6, "delta after seq 6; invalid until a snapshot"},
		{"snapshot again", snap(9, 1), nil, true, 9, ""},
		{"repeat", delta(9, 1, 99, 1), ErrSeq, false, 9, "delta after seq 9"},
		{"snapshot of a new epoch", snap(1, 2), nil, true, 1, ""},
		{"delta of a newer epoch", delta(2, 3), ErrSeq, false, 1, "delta of epoch 3, book at epoch 2"},
		{"snapshot", snap(2, 3), nil, true, 2, ""},
		{"precision change", &protocol.BookUpdate{Symbol: "X", Seq: 3, Epoch: 3, PricePrec: 3, SizePrec: 2}, ErrBadUpdate, false, 2, "precisions 3/2, book has 2/2"},
		{"bad snapshot", &protocol.BookUpdate{Symbol: "X", Seq: 4, Epoch: 3, Snapshot: true, Bids: lv(100, 1, 100, 2)}, ErrBadUpdate, false, 2, "same price"},
		{"zero size in a snapshot", &protocol.BookUpdate{Symbol: "X", Seq: 4, Epoch: 3, Snapshot: true, Asks: lv(100, 0)}, ErrBadUpdate, false, 2, "not positive"},
		{"lowest price", &protocol.BookUpdate{Symbol: "X", Seq: 4, Epoch: 3, Snapshot: true, Asks: lv(math.MinInt64, 1)}, ErrBadUpdate, false, 2, "out of range"},
		{"crossed snapshot", &protocol.BookUpdate{Symbol: "X", Seq: 4, Epoch: 3, Snapshot: true, Bids: lv(101, 1), Asks: lv(101, 1)}, ErrCrossed, true, 4, "best bid 101, best ask 101"},
		{"uncrossing delta", &protocol.BookUpdate{Symbol: "X", Seq: 5, Epoch: 3, Bids: lv(101, 0, 100, 1)}, nil, true, 5, ""},
		{"crossing delta", &protocol.BookUpdate{Symbol: "X", Seq: 6, Epoch: 3, Bids: lv(102, 1)}, ErrCrossed, true, 6, "best bid 102"},
	}
	b := New("X", Config{})
	for _, tt := range tests {
		err := b.Apply(tt.u, AllDepths)
		if !errors.Is(err, tt.err) || err != nil && !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s: Apply = %v, want %v with %q", tt.name, err, tt.err, tt.msg)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "book: ") {
			t.Errorf("%s: error %q lacks the prefix", tt.name, err)
		}
		if seq, _, valid := b.State(); valid != tt.valid || seq != tt.seq {
			t.Errorf("%s: State() = %d, %v; want %d, %v", tt.name, seq, valid, tt.seq, tt.valid)
		}
		if _, _, ok := b.Snapshot(Depth10); ok != tt.valid {
			t.Errorf("%s: Snapshot ok = %v, want %v", tt.name, ok, tt.valid)
		}
	}
}

// TestLevelBound fills a side past its bound.
func TestLevelBound(t *testing.T) {
	const maxLevels = MinSideBytes / LevelBytes // 256
	b := New("X", Config{MaxSideBytes: 1})      // raised to MinSideBytes
	snap := &protocol.BookUpdate{Symbol: "X", Seq: 1, Snapshot: true}
	for i := range 300 {
		snap.Bids = append(snap.Bids, protocol.Level{Price: int64(1000 - i), Size: 1})
	}
	err := b.Apply(snap, AllDepths)
	if !errors.Is(err, ErrLevelBound) || !strings.Contains(err.Error(), "at most 256 levels") {
		t.Fatalf("snapshot of 300 levels: %v", err)
	}
	bids, _ := b.AppendTop(nil, nil, 1000)
	if len(bids) != maxLevels || bids[0].Price != 1000 || bids[maxLevels-1].Price != 1000-maxLevels+1 {
		t.Fatalf("book holds %d bids from %v to %v, want the best %d", len(bids), bids[0], bids[len(bids)-1], maxLevels)
	}
	if cap(b.bids.levels) > maxLevels {
		t.Fatalf("side capacity %d over the bound %d", cap(b.bids.levels), maxLevels)
	}
	floor := bids[maxLevels-1].Price - 1 // the best level dropped

	// Changes at or beyond the floor are not tracked.
	mustApply(t, b, &protocol.BookUpdate{Symbol: "X", Seq: 2, Bids: lv(floor, 5, floor-10, 5)}, AllDepths)
	if bids, _ = b.AppendTop(bids[:0], nil, 1000); len(bids) != maxLevels || bids[maxLevels-1].Price == floor {
		t.Fatalf("a change beyond the dropped levels was applied")
	}

	// An insert into the full side drops the worst eighth.
	err = b.Apply(&protocol.BookUpdate{Symbol: "X", Seq: 3, Bids: lv(1001, 1)}, AllDepths)
	if !errors.Is(err, ErrLevelBound) {
		t.Fatalf("insert into a full side: %v", err)
	}
	if bids, _ = b.AppendTop(bids[:0], nil, 1000); len(bids) != maxLevels-maxLevels/8+1 || bids[0].Price != 1001 {
		t.Fatalf("after an insert into a full side: %d levels from %v", len(bids), bids[0])
	}
	if cap(b.bids.levels) > maxLevels {
		t.Fatalf("side capacity %d over the bound %d", cap(b.bids.levels), maxLevels)
	}

	// Shrinking below the deepest view makes the book invalid.
	var u protocol.BookUpdate
	u.Symbol, u.Seq = "X", 4
	for _, l := range bids[:len(bids)-MaxDepth.Levels()+1] {
		u.Bids = append(u.Bids, protocol.Level{Price: l.Price})
	}
	err = b.Apply(&u, AllDepths)
	if !errors.Is(err, ErrLevelBound) || !strings.Contains(err.Error(), "fewer than 200 levels") {
		t.Fatalf("shrinking a truncated side: %v", err)
	}
	if _, _, valid := b.State(); valid {
		t.Fatal("book valid with too few levels above the dropped ones")
	}
	// A snapshot within the bound heals it and clears the floor.
	mustApply(t, b, &protocol.BookUpdate{Symbol: "X", Seq: 5, Snapshot: true, Bids: lv(10, 1)}, AllDepths)
	mustApply(t, b, &protocol.BookUpdate{Symbol: "X", Seq: 6, Bids: lv(5, 1)}, AllDepths)
	if bids, _ = b.AppendTop(bids[:0], nil, 10); !slices.Equal(bids, lv(10, 1, 5, 1)) {
		t.Fatalf("after a new snapshot: %v", bids)
	}
}

// TestApplyNoAlloc checks that applying changes does not allocate once the
// sides have grown, with and without views.
func TestApplyNoAlloc(t *testing.T) {
	m := newMarket(1, 5, 1000, 0.1)
	snap := m.snapshot()
	stream := make([]*protocol.BookUpdate, 2000)
	for i := range stream {
		stream[i] = m.update(1 + i%4)
	}
	buf := make([]byte, 0, 64<<10)
	for _, want := range []Depths{0, AllDepths} {
		b := New(m.symbol, Config{})
		mustApply(t, b, snap, want)
		i := 0
		step := func() {
			if err := b.Apply(stream[i], want); err != nil {
				t.Fatal(err)
			}
			i++
			for d := range NumDepths {
				buf, _, _ = b.AppendDelta(buf[:0], d)
			}
		}
		for range 1000 { // the change logs and delta buffers grow
			step()
		}
		if n := testing.AllocsPerRun(500, step); n != 0 {
			t.Errorf("want %03b: %v allocations an update", want, n)
		}
	}
}

// TestBuffersBounded tries to grow a book's buffers past their bounds: a
// side at an odd bound, and the change log after a huge update.
func TestBuffersBounded(t *testing.T) {
	const maxBytes = 5000 // 312 levels
	b := New("X", Config{MaxSideBytes: maxBytes})
	mustApply(t, b, &protocol.BookUpdate{Symbol: "X", Seq: 1, Snapshot: true}, AllDepths)
	for i := range 2000 {
		err := b.Apply(&protocol.BookUpdate{Symbol: "X", Seq: uint64(2 + i), Bids: lv(int64(i), 1)}, AllDepths)
		if err != nil && !errors.Is(err, ErrLevelBound) {
			t.Fatal(err)
		}
		if n := cap(b.bids.levels) * LevelBytes; n > maxBytes {
			t.Fatalf("after %d inserts the bids take %d bytes, over the bound %d", i+1, n, maxBytes)
		}
	}
	huge := &protocol.BookUpdate{Symbol: "X", Seq: 2002}
	for i := range 3 * maxLogKeep {
		huge.Asks = append(huge.Asks, protocol.Level{Price: int64(10000 + i), Size: 1})
	}
	if err := b.Apply(huge, AllDepths); err != nil && !errors.Is(err, ErrLevelBound) {
		t.Fatal(err)
	}
	for i, l := range b.log {
		if cap(l) > maxLogKeep {
			t.Errorf("change log %d keeps %d entries after a huge update, bound %d", i, cap(l), maxLogKeep)
		}
	}
	// A delta names at most the N levels before and the N after a side;
	// append may double that.
	for d := range NumDepths {
		v := &b.views[d]
		if len(v.asks) == 0 || cap(v.bids) > 4*d.Levels() || cap(v.asks) > 4*d.Levels() {
			t.Errorf("depth %d delta buffers: %d bids, %d asks", d.Levels(), cap(v.bids), cap(v.asks))
		}
	}
}
