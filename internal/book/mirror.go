package book

import (
	"errors"
	"fmt"
	"math"

	"github.com/tickerd/tickerd/protocol"
)

// ErrChecksum is the error of Mirror.Apply when the checksum of the
// mirrored book does not match the message's.
var ErrChecksum = errors.New("book: checksum mismatch")

// Mirror is a client's copy of one depth's view of a book, kept from the
// server's "book" messages: a snapshot, then the deltas whose prev_seq is
// the mirror's seq, each verified with its checksum. Tests and the load
// tester use it; the zero value is ready to take a snapshot. A Mirror is
// not safe for concurrent use.
//
//	var m protocol.BookMessage
//	var mirror book.Mirror
//	for frame := range frames {
//		if err := protocol.DecodeBook(frame, &m); err != nil { … }
//		if err := mirror.Apply(&m); err != nil { … resubscribe … }
//	}
type Mirror struct {
	symbol    string
	depth     int
	seq       uint64
	valid     bool
	pricePrec int32 // -1 while no level has shown it
	sizePrec  int32
	bids      side
	asks      side
}

// Apply applies a book message: a snapshot replaces the mirror, a delta
// must have PrevSeq equal to the mirror's seq and the same symbol, depth
// and precisions. After it the mirror may hold at most Depth levels a side
// and must match the message's checksum. Any error leaves the mirror
// invalid until the next snapshot.
func (m *Mirror) Apply(msg *protocol.BookMessage) error {
	err := m.apply(msg)
	if err != nil {
		m.valid = false
	}
	return err
}

func (m *Mirror) apply(msg *protocol.BookMessage) error {
	m.asks.ask = true
	if msg.Snapshot {
		m.valid = false
		if _, err := m.bids.load(msg.Bids); err != nil {
			return fmt.Errorf("%w: snapshot bids: %v", ErrBadUpdate, err)
		}
		if _, err := m.asks.load(msg.Asks); err != nil {
			return fmt.Errorf("%w: snapshot asks: %v", ErrBadUpdate, err)
		}
		m.symbol, m.depth = msg.Symbol, msg.Depth
		m.pricePrec, m.sizePrec = msg.PricePrec, msg.SizePrec
	} else {
		switch {
		case !m.valid:
			return fmt.Errorf("%w: delta %d before a snapshot", ErrNoBook, msg.Seq)
		case msg.Symbol != m.symbol || msg.Depth != m.depth:
			return fmt.Errorf("%w: delta for %s depth %d, mirror of %s depth %d", ErrBadUpdate, msg.Symbol, msg.Depth, m.symbol, m.depth)
		case msg.PrevSeq != m.seq:
			return fmt.Errorf("%w: delta from seq %d, mirror at %d", ErrSeq, msg.PrevSeq, m.seq)
		case !samePrec(&m.pricePrec, msg.PricePrec) || !samePrec(&m.sizePrec, msg.SizePrec):
			return fmt.Errorf("%w: delta precisions %d/%d, mirror has %d/%d", ErrBadUpdate, msg.PricePrec, msg.SizePrec, m.pricePrec, m.sizePrec)
		}
		for i, ls := range [2][]protocol.Level{msg.Bids, msg.Asks} {
			s := &m.bids
			if i == 1 {
				s = &m.asks
			}
			for _, l := range ls {
				if l.Size < 0 || l.Price == math.MinInt64 {
					return fmt.Errorf("%w: level price %d size %d", ErrBadUpdate, l.Price, l.Size)
				}
				k := s.key(l.Price)
				if _, found := s.search(k); l.Size == 0 && !found {
					return fmt.Errorf("%w: delta %d removes price %d, which the mirror does not hold", ErrBadUpdate, msg.Seq, l.Price)
				}
				s.set(k, l.Size, nil)
			}
		}
	}
	m.seq = msg.Seq
	if nb, na := m.bids.len(), m.asks.len(); nb > m.depth || na > m.depth {
		return fmt.Errorf("%w: %d bids and %d asks at depth %d after seq %d", ErrBadUpdate, nb, na, m.depth, msg.Seq)
	}
	if sum := checksum(&m.bids, &m.asks, m.pricePrec, m.sizePrec); sum != msg.Checksum {
		return fmt.Errorf("%w: seq %d: message has %d, mirror has %d", ErrChecksum, msg.Seq, msg.Checksum, sum)
	}
	m.valid = true
	return nil
}

// samePrec reports whether a message's precision got agrees with the
// mirror's *have; either may be -1 for not known yet.
func samePrec(have *int32, got int32) bool {
	switch {
	case got < 0:
		return true
	case *have < 0:
		*have = got
		return true
	}
	return *have == got
}

// Seq returns the seq of the last message applied, and whether the mirror
// is valid.
func (m *Mirror) Seq() (seq uint64, valid bool) { return m.seq, m.valid }

// AppendTop appends the mirror's bids and asks, best first.
func (m *Mirror) AppendTop(bids, asks []protocol.Level) ([]protocol.Level, []protocol.Level) {
	return m.bids.appendTop(bids, m.bids.len()), m.asks.appendTop(asks, m.asks.len())
}
