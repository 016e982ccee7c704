package book

import (
	"errors"
	"testing"

	"github.com/tickerd/tickerd/protocol"
)

// TestMirrorErrors checks that a mirror refuses what it cannot apply and
// then waits for a snapshot.
func TestMirrorErrors(t *testing.T) {
	bids, asks := lv(100, 5, 99, 6), lv(101, 7)
	snap := protocol.BookMessage{Symbol: "X", Depth: 10, Seq: 7, Snapshot: true, Bids: bids, Asks: asks,
		PricePrec: 2, SizePrec: 1}
	snap.Checksum = protocol.BookChecksum(bids, asks, 2, 1)
	delta := func(prev uint64, bids []protocol.Level, asks []protocol.Level, sum uint32) *protocol.BookMessage {
		return &protocol.BookMessage{Symbol: "X", Depth: 10, Seq: prev + 3, PrevSeq: prev, Bids: bids, Asks: asks,
			Checksum: sum, PricePrec: 2, SizePrec: -1}
	}
	good := delta(7, lv(100, 0), nil, protocol.BookChecksum(lv(99, 6), asks, 2, 1))
	tests := []struct {
		name string
		msg  *protocol.BookMessage
		err  error
	}{
		{"delta before a snapshot", good, ErrNoBook},
		{"snapshot", &snap, nil},
		{"wrong prev_seq", delta(6, lv(100, 0), nil, good.Checksum), ErrSeq},
		{"after an error", good, ErrNoBook},
		{"snapshot", &snap, nil},
		{"wrong checksum", delta(7, lv(100, 0), nil, good.Checksum+1), ErrChecksum},
		{"snapshot", &snap, nil},
		{"removes a level it does not hold", delta(7, lv(98, 0), nil, 0), ErrBadUpdate},
		{"snapshot", &snap, nil},
		{"other precision", &protocol.BookMessage{Symbol: "X", Depth: 10, Seq: 8, PrevSeq: 7, Bids: lv(100, 1), PricePrec: 3, SizePrec: 1}, ErrBadUpdate},
		{"snapshot", &snap, nil},
		{"other depth", &protocol.BookMessage{Symbol: "X", Depth: 50, Seq: 8, PrevSeq: 7}, ErrBadUpdate},
		{"snapshot", &snap, nil},
		{"more levels than the depth", func() *protocol.BookMessage {
			m := delta(7, nil, nil, 0)
			for i := range 9 {
				m.Bids = append(m.Bids, protocol.Level{Price: int64(90 - i), Size: 1})
			}
			return m
		}(), ErrBadUpdate},
		{"bad snapshot", &protocol.BookMessage{Symbol: "X", Depth: 10, Seq: 8, Snapshot: true, Bids: lv(1, 1, 1, 1)}, ErrBadUpdate},
		{"snapshot with a wrong checksum", &protocol.BookMessage{Symbol: "X", Depth: 10, Seq: 8, Snapshot: true, Bids: lv(1, 1), Checksum: 1}, ErrChecksum},
		{"snapshot", &snap, nil},
		{"good delta", good, nil},
	}
	var m Mirror
	for _, tt := range tests {
		err := m.Apply(tt.msg)
		if !errors.Is(err, tt.err) {
			t.Errorf("%s: Apply = %v, want %v", tt.name, err, tt.err)
		}
		if seq, valid := m.Seq(); valid != (err == nil) || err == nil && seq != tt.msg.Seq {
			t.Errorf("%s: Seq() = %d, %v", tt.name, seq, valid)
		}
	}
}
