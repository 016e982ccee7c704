package book

import (
	"errors"
	"fmt"
	"math"
	"sync"

	"github.com/tickerd/tickerd/protocol"
)

// Bounds of Config.MaxSideBytes.
const (
	DefaultMaxSideBytes = 1 << 20 // 65,536 levels a side
	// MinSideBytes keeps room for the deepest view after levels are
	// dropped at the bound: 256 levels, of which 224 stay after a drop.
	MinSideBytes = 256 * LevelBytes
)

// Config configures a Book. The zero value works.
type Config struct {
	// MaxSideBytes bounds the memory of one side's levels (LevelBytes
	// each, capacity included). An insert into a full side drops its
	// worst eighth; see ErrLevelBound. 0 means DefaultMaxSideBytes; less
	// than MinSideBytes means MinSideBytes.
	MaxSideBytes int
}

// Errors of Apply, wrapped with the symbol and seq. After ErrCrossed and
// ErrLevelBound the update was applied and the book is valid (unless the
// message says the book is invalid); after ErrStale and ErrWrongSymbol it
// was ignored and the book is as before; after the others the book is
// invalid until the next snapshot.
var (
	ErrSeq         = errors.New("book: update out of sequence")
	ErrNoBook      = errors.New("book: no valid book to apply a delta to")
	ErrStale       = errors.New("book: stale update ignored")
	ErrBadUpdate   = errors.New("book: bad update")
	ErrWrongSymbol = errors.New("book: update for another symbol ignored")
	ErrCrossed     = errors.New("book: crossed or locked (best bid >= best ask)")
	ErrLevelBound  = errors.New("book: levels dropped at the bound")
)

// Book is the server's L2 order book of one symbol, and the views of it
// that clients subscribe to: the top 10, 50 or 200 levels a side.
//
// One goroutine, the publisher, calls Apply and AppendDelta, never two at
// once. Every other method may be called from any goroutine, concurrently
// with the publisher: Snapshot is for the shard goroutines.
type Book struct {
	// Static after New.
	symbol string

	// mu guards the fields below. Only Apply writes them, except that
	// Snapshot fills the caches (sum, view.snap); AppendDelta, on the
	// publisher, reads the ones Apply writes without it.
	mu        sync.Mutex
	valid     bool
	epoch     uint64
	seq       uint64
	ts        int64
	pricePrec int32
	sizePrec  int32
	bids      side
	asks      side
	sum       uint32 // BookChecksum of the book, if sumOK
	sumOK     bool   // kept while the top 10 levels do not change
	views     [NumDepths]view

	// Owned by the publisher.
	log [2][]change // changes of the last update: bids, asks
}

// New returns an empty, invalid book for symbol: it becomes valid with
// the first snapshot.
func New(symbol string, cfg Config) *Book {
	n := cfg.MaxSideBytes
	if n == 0 {
		n = DefaultMaxSideBytes
	}
	n = max(n, MinSideBytes) / LevelBytes
	b := &Book{symbol: symbol}
	b.bids = side{max: n}
	b.asks = side{max: n, ask: true}
	return b
}

// Apply applies u, a snapshot or a change of levels, to the book and, for
// each depth in want (the depths that have subscribers), works out the
// message that takes that depth's view from before u to after it, for
// AppendDelta. Every depth's version is kept, wanted or not, at the cost
// of one search per side; only wanted depths cost more.
//
// A snapshot sets each depth's version from u.Views where it gives one
// (a stored snapshot of another node's book), else to u's seq.
//
// A delta applies only to the book of seq u.Seq-1 in the same epoch and
// at the same precisions; anything else makes the book invalid until the
// next snapshot. A snapshot of a lower seq than the book's in the same
// epoch, or any update of a lower epoch, is ignored (ErrStale). Levels
// must have a price above math.MinInt64; sizes must be positive in a
// snapshot and not negative in a change, where 0 removes the level.
// Removing a level the book does not have is not an error.
//
// Apply returns nil or an error that wraps one of the Err values; see
// there whether the update was applied. Publisher only.
func (b *Book) Apply(u *protocol.BookUpdate, want Depths) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	var old [NumDepths]protocol.BookView
	for d, v := range b.views {
		old[d] = protocol.BookView{Seq: v.seq, TS: v.ts}
	}
	fresh := b.valid && u.Epoch == b.epoch
	b.log[0], b.log[1] = b.log[0][:0], b.log[1][:0]
	applied, err := b.applyLocked(u)
	switch {
	case !b.valid:
		b.sumOK = false
		for d := range b.views {
			b.views[d] = view{bids: b.views[d].bids[:0], asks: b.views[d].asks[:0]}
		}
	case applied:
		b.viewsLocked(u, want, old, fresh)
	default:
		for d := range b.views {
			b.views[d].changed = false
		}
	}
	for i, l := range b.log {
		if cap(l) > maxLogKeep {
			b.log[i] = nil // a huge update: do not keep its memory
		}
	}
	if err != nil {
		return fmt.Errorf("%w: %s seq %d: %s", err.err, b.symbol, u.Seq, err.detail)
	}
	return nil
}

// maxLogKeep is the capacity of a change log kept between updates.
const maxLogKeep = 4096

// failure is an Err value and what went wrong with one update.
type failure struct {
	err    error
	detail string
}

func fail(err error, format string, args ...any) *failure {
	return &failure{err, fmt.Sprintf(format, args...)}
}

// applyLocked applies u and reports whether it did. It sets b.valid.
func (b *Book) applyLocked(u *protocol.BookUpdate) (applied bool, err *failure) {
	switch {
	case u.Symbol != b.symbol:
		return false, fail(ErrWrongSymbol, "update for %q", u.Symbol)
	case b.valid && u.Epoch < b.epoch:
		return false, fail(ErrStale, "epoch %d, book at epoch %d", u.Epoch, b.epoch)
	case u.Snapshot && b.valid && u.Epoch == b.epoch && u.Seq < b.seq:
		return false, fail(ErrStale, "snapshot older than the book's seq %d", b.seq)
	case u.Snapshot:
		return b.loadLocked(u)
	case !b.valid:
		return false, fail(ErrNoBook, "waiting for a snapshot")
	case u.Epoch != b.epoch:
		b.valid = false
		return false, fail(ErrSeq, "delta of epoch %d, book at epoch %d; invalid until a snapshot", u.Epoch, b.epoch)
	case u.Seq != b.seq+1:
		b.valid = false
		return false, fail(ErrSeq, "delta after seq %d; invalid until a snapshot", b.seq)
	case u.PricePrec != b.pricePrec || u.SizePrec != b.sizePrec:
		b.valid = false
		return false, fail(ErrBadUpdate, "precisions %d/%d, book has %d/%d; invalid until a snapshot", u.PricePrec, u.SizePrec, b.pricePrec, b.sizePrec)
	}
	for _, ls := range [2][]protocol.Level{u.Bids, u.Asks} {
		for _, l := range ls {
			if l.Size < 0 || l.Price == math.MinInt64 {
				b.valid = false
				return false, fail(ErrBadUpdate, "level price %d size %d; invalid until a snapshot", l.Price, l.Size)
			}
		}
	}
	dropped := false
	for _, l := range u.Bids {
		dropped = b.bids.set(l.Price, l.Size, &b.log[0]) || dropped
	}
	for _, l := range u.Asks {
		dropped = b.asks.set(-l.Price, l.Size, &b.log[1]) || dropped
	}
	b.seq, b.ts = u.Seq, u.TS
	for _, s := range []*side{&b.bids, &b.asks} {
		if s.truncated && s.len() < maxViewLevels {
			b.valid = false
			return true, fail(ErrLevelBound, "fewer than %d levels left above the dropped ones; invalid until a snapshot", maxViewLevels)
		}
	}
	if dropped {
		return true, b.boundError()
	}
	return true, b.crossedError()
}

// loadLocked replaces the book with the snapshot u.
func (b *Book) loadLocked(u *protocol.BookUpdate) (bool, *failure) {
	b.valid = false
	droppedBids, err := b.bids.load(u.Bids)
	if err != nil {
		return false, fail(ErrBadUpdate, "snapshot bids: %v; invalid until a snapshot", err)
	}
	droppedAsks, err := b.asks.load(u.Asks)
	if err != nil {
		return false, fail(ErrBadUpdate, "snapshot asks: %v; invalid until a snapshot", err)
	}
	b.valid = true
	b.epoch, b.seq, b.ts = u.Epoch, u.Seq, u.TS
	b.pricePrec, b.sizePrec = u.PricePrec, u.SizePrec
	if droppedBids || droppedAsks {
		return true, b.boundError()
	}
	return true, b.crossedError()
}

func (b *Book) boundError() *failure {
	return fail(ErrLevelBound, "a side holds at most %d levels; the worst were dropped", b.bids.max)
}

// crossedError reports a crossed or locked book.
func (b *Book) crossedError() *failure {
	if b.bids.len() == 0 || b.asks.len() == 0 {
		return nil
	}
	bid, ask := b.bids.rankLevel(0).Price, b.asks.rankLevel(0).Price
	if bid < ask {
		return nil
	}
	return fail(ErrCrossed, "best bid %d, best ask %d", bid, ask)
}

// checksumLocked returns the book's checksum.
func (b *Book) checksumLocked() uint32 {
	if !b.sumOK {
		b.sum = checksum(&b.bids, &b.asks, b.pricePrec, b.sizePrec)
		b.sumOK = true
	}
	return b.sum
}

// checksum returns protocol.BookChecksum of the top of two sides.
func checksum(bids, asks *side, pricePrec, sizePrec int32) uint32 {
	var bt, at [protocol.ChecksumLevels]protocol.Level
	return protocol.BookChecksum(bids.appendTop(bt[:0], len(bt)), asks.appendTop(at[:0], len(at)), pricePrec, sizePrec)
}

// Symbol returns the book's symbol.
func (b *Book) Symbol() string { return b.symbol }

// State returns the seq and epoch of the last update applied and whether
// the book is valid: it has had a snapshot and every delta since.
func (b *Book) State() (seq, epoch uint64, valid bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.seq, b.epoch, b.valid
}

// Views returns each depth's version, by Depth: the seq and ts of the
// last update that changed its view. A node that stores the book's
// snapshot for another to load sets these as the snapshot's
// BookUpdate.Views. All zero while the book is invalid.
func (b *Book) Views() (v [NumDepths]protocol.BookView) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.valid {
		return v
	}
	for d := range b.views {
		v[d] = protocol.BookView{Seq: b.views[d].seq, TS: b.views[d].ts}
	}
	return v
}

// Best returns the best bid and ask, with ok false for an empty side or
// an invalid book. A quote derived from the book uses these.
func (b *Book) Best() (bid, ask protocol.Level, bidOK, askOK bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.valid {
		return bid, ask, false, false
	}
	if bidOK = b.bids.len() > 0; bidOK {
		bid = b.bids.rankLevel(0)
	}
	if askOK = b.asks.len() > 0; askOK {
		ask = b.asks.rankLevel(0)
	}
	return bid, ask, bidOK, askOK
}

// AppendTop appends the best n bids and asks (fewer if a side is
// shorter), best first, to bids and asks. An invalid book appends none.
func (b *Book) AppendTop(bids, asks []protocol.Level, n int) ([]protocol.Level, []protocol.Level) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.valid {
		return bids, asks
	}
	return b.bids.appendTop(bids, n), b.asks.appendTop(asks, n)
}
