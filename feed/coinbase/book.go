package coinbase

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/protocol"
)

// bookState is where a product's book stands.
type bookState uint8

const (
	bookNone     bookState = iota // no snapshot yet on this connection
	bookLive                      // a snapshot arrived; updates apply to it
	bookWaiting                   // out of sync: a fresh snapshot is asked for; updates are dropped
	bookDisabled                  // levels do not fit the product's increments: not published
)

// snapshotWait is how long a book waits for the snapshot it asked for
// before asking again.
const snapshotWait = 10 * time.Second

// maxKeptChanges is the most parsed changes whose room is kept from one
// l2update to the next.
const maxKeptChanges = 1024

// book is the feed's copy of one product's level-2 book: exactly what it
// has published, kept to check each update against. Owned by the reader.
//
// Coinbase's level2 messages carry no sequence number, so the checks are
// these: an update that arrives before its snapshot, a message that does
// not decode, a level that is not a positive price with a non-negative
// size, a snapshot listing a price twice, and a book whose best bid is at
// or above its best ask after a message. Each means the book no longer
// matches the upstream's; the feed re-fetches it (resyncBook).
type book struct {
	state      bookState
	bids, asks bookSide
	seq        uint64    // our seq: +1 per published update, across connections
	due        time.Time // bookWaiting: when the re-fetch was to be sent
	resyncs    int       // re-fetches in a row, for their backoff
	lastResync time.Time
}

// change is one parsed level change of an l2update.
type change struct {
	ask bool
	lvl protocol.Level
}

func (b *book) init(levels int) {
	b.bids = bookSide{max: levels, floor: math.MinInt64}
	b.asks = bookSide{max: levels, floor: math.MinInt64, ask: true}
}

// snapshotArrived ends a wait for a snapshot: the one asked for has come,
// usable or not.
func (b *book) snapshotArrived() {
	if b.state == bookWaiting {
		b.state = bookNone
	}
}

func (b *book) crossed() bool {
	bid, ask := b.bids.best(), b.asks.best()
	return bid != nil && ask != nil && bid.Price >= ask.Price
}

// snapshot replaces the product's book with a level2 snapshot and
// publishes it whole: bids descending, asks ascending, at most BookLevels
// a side.
func (f *Feed) snapshot(m *message, sink feed.Sink, bufs *buffers) error {
	p := f.byID[m.ProductID]
	if p == nil {
		return nil // not ours
	}
	b := &p.st.book
	if b.state == bookDisabled {
		return nil
	}
	b.snapshotArrived()
	ts, err := parseTime(m.Time)
	if err == nil {
		err = b.bids.load(m.Bids, p.sym.PricePrec, p.sym.VolumePrec)
	}
	if err == nil {
		err = b.asks.load(m.Asks, p.sym.PricePrec, p.sym.VolumePrec)
	}
	if err != nil {
		f.bookFailed(p, sink, "snapshot", err)
		return fmt.Errorf("coinbase: %s snapshot: %w", p.ID, err)
	}
	if b.crossed() {
		f.resyncBook(p, "crossed snapshot")
		return nil
	}
	b.state = bookLive
	u := &bufs.book
	u.Bids, u.Asks = b.bids.bestFirst(u.Bids[:0]), b.asks.bestFirst(u.Asks[:0])
	f.publishBook(p, sink, u, ts, true)
	return nil
}

// l2update applies an l2update's changes to the product's book and
// publishes those that changed it.
func (f *Feed) l2update(m *message, sink feed.Sink, bufs *buffers) error {
	p := f.byID[m.ProductID]
	if p == nil {
		return nil // not ours
	}
	b := &p.st.book
	switch b.state {
	case bookDisabled:
		return nil
	case bookNone:
		f.resyncBook(p, "update before its snapshot")
		return nil
	case bookWaiting:
		if time.Since(b.due) > snapshotWait {
			b.state = bookNone
			f.resyncBook(p, fmt.Sprintf("no snapshot %v after asking", snapshotWait))
		}
		return nil // the snapshot to come replaces the book
	}

	// Parse every change before applying any: a message is applied whole
	// or not at all.
	ts, err := parseTime(m.Time)
	chg := bufs.chg[:0]
	for i := 0; err == nil && i < len(m.Changes); i++ {
		c := m.Changes[i]
		ch := change{ask: c[0] == "sell"}
		if !ch.ask && c[0] != "buy" {
			err = fmt.Errorf("change side %q is neither buy nor sell", c[0])
			break
		}
		if ch.lvl, err = parseLevel(c[1], c[2], p.sym.PricePrec, p.sym.VolumePrec); err == nil {
			chg = append(chg, ch)
		}
	}
	bufs.chg = chg
	if cap(chg) > maxKeptChanges {
		bufs.chg = nil
	}
	if err != nil {
		f.bookFailed(p, sink, "l2update", err)
		return fmt.Errorf("coinbase: %s l2update: %w", p.ID, err)
	}

	u := &bufs.book
	u.Bids, u.Asks = u.Bids[:0], u.Asks[:0]
	for _, c := range chg {
		if c.ask {
			u.Asks = b.asks.set(c.lvl, u.Asks)
		} else {
			u.Bids = b.bids.set(c.lvl, u.Bids)
		}
	}
	if b.crossed() {
		f.resyncBook(p, "crossed book")
		return nil
	}
	if len(u.Bids)+len(u.Asks) > 0 {
		f.publishBook(p, sink, u, ts, false)
	}
	return nil
}

func (f *Feed) publishBook(p *product, sink feed.Sink, u *protocol.BookUpdate, ts int64, snapshot bool) {
	b := &p.st.book
	b.seq++
	u.Symbol, u.Seq, u.Epoch, u.TS, u.Snapshot = p.Symbol, b.seq, 0, ts, snapshot
	u.PricePrec, u.SizePrec = p.sym.PricePrec, p.sym.VolumePrec
	sink.PublishBook(u)
	f.published()
}

// bookFailed handles a book message that could not be used: the book is
// re-fetched, or, when its levels have more decimals than the product's
// increments allow (a configuration error that a re-fetch cannot fix),
// disabled: an empty snapshot replaces what was published, and nothing
// more is published for it until tickerd restarts with the right
// increments.
func (f *Feed) bookFailed(p *product, sink feed.Sink, what string, err error) {
	if !errors.Is(err, errPrecision) {
		f.resyncBook(p, "bad "+what)
		return
	}
	b := &p.st.book
	published := b.seq > 0
	b.state = bookDisabled
	b.bids.levels, b.asks.levels = nil, nil
	f.log.Error("coinbase: book disabled: its levels have more decimals than the product's increments",
		"product", p.ID, "err", err, "fix", "give its increments, as "+p.ID+":QUOTE_INCREMENT:BASE_INCREMENT")
	if published {
		f.publishBook(p, sink, &protocol.BookUpdate{}, time.Now().UnixNano(), true)
	}
}

// resyncBook marks p's book out of sync and asks the session to re-fetch
// it, counting it in Health.Resyncs. Re-fetches of one book in a row are
// spaced by the reconnect backoff, so an upstream that keeps sending a
// book that makes no sense costs a few messages a minute, not a loop. What
// was published stays until the fresh snapshot replaces it.
func (f *Feed) resyncBook(p *product, why string) {
	b := &p.st.book
	if b.state == bookWaiting || b.state == bookDisabled {
		return
	}
	now := time.Now()
	if now.Sub(b.lastResync) > 2*f.cfg.MaxBackoff {
		b.resyncs = 0
	}
	var delay time.Duration
	if b.resyncs > 0 {
		delay = backoff(f.cfg.MinBackoff, f.cfg.MaxBackoff, b.resyncs-1)
	}
	b.resyncs++
	b.state, b.due = bookWaiting, now.Add(delay)
	b.lastResync = b.due
	f.log.Warn("coinbase: book out of sync, re-fetching it", "product", p.ID, "reason", why, "in", delay)
	f.updateHealth(func(h *feed.Health) { h.Resyncs++ })
	f.requestResync(p.ID, b.due)
}

// bookSide is one side of a book, sorted by key with the best level last:
// the key is the price for bids and minus the price for asks, so that the
// changes near the touch, nearly all of them, move only the few levels
// after them. At most max levels are kept: when a side outgrows it, its
// worst level is dropped and every key at or below the dropped one becomes
// unknown (below floor); changes there are ignored until the next
// snapshot.
type bookSide struct {
	ask    bool
	max    int
	levels []protocol.Level
	floor  int64 // keys below floor are not tracked
}

func (s *bookSide) key(price int64) int64 {
	if s.ask {
		return -price
	}
	return price
}

func (s *bookSide) best() *protocol.Level {
	if len(s.levels) == 0 {
		return nil
	}
	return &s.levels[len(s.levels)-1]
}

// bestFirst appends the levels to dst, best first.
func (s *bookSide) bestFirst(dst []protocol.Level) []protocol.Level {
	for i := len(s.levels) - 1; i >= 0; i-- {
		dst = append(dst, s.levels[i])
	}
	return dst
}

func (s *bookSide) compare(l protocol.Level, key int64) int { return cmp.Compare(s.key(l.Price), key) }

// set applies one change (size 0 removes the level) and appends to out
// the levels it changed, with size 0 for a level that left, including a
// worst level dropped to stay within max.
func (s *bookSide) set(l protocol.Level, out []protocol.Level) []protocol.Level {
	k := s.key(l.Price)
	if k < s.floor {
		return out
	}
	i, found := slices.BinarySearchFunc(s.levels, k, s.compare)
	switch {
	case found && l.Size == 0:
		s.levels = slices.Delete(s.levels, i, i+1)
	case found && s.levels[i].Size != l.Size:
		s.levels[i].Size = l.Size
	case !found && l.Size != 0:
		if i == 0 && len(s.levels) >= s.max { // worse than every level of a full side
			s.floor = k + 1
			return out
		}
		s.levels = slices.Insert(s.levels, i, l)
		out = append(out, l)
		if len(s.levels) > s.max {
			worst := s.levels[0]
			s.levels = s.levels[1:] // the array is reallocated, live part only, as inserts need room
			s.floor = s.key(worst.Price) + 1
			out = append(out, protocol.Level{Price: worst.Price})
		}
		return out
	default:
		return out // no change
	}
	return append(out, l)
}

// load replaces the side with the [price, size] levels of a snapshot,
// keeping the best max. Levels of size 0 are left out.
func (s *bookSide) load(levels [][2]string, pricePrec, sizePrec int32) error {
	s.levels, s.floor = s.levels[:0], math.MinInt64
	for _, pl := range levels {
		l, err := parseLevel(pl[0], pl[1], pricePrec, sizePrec)
		if err != nil {
			return err
		}
		if l.Size != 0 {
			s.levels = append(s.levels, l)
		}
	}
	slices.SortFunc(s.levels, func(a, b protocol.Level) int { return cmp.Compare(s.key(a.Price), s.key(b.Price)) })
	for i := 1; i < len(s.levels); i++ {
		if s.levels[i].Price == s.levels[i-1].Price {
			return fmt.Errorf("price %s listed twice", protocol.AppendFixed(nil, s.levels[i].Price, pricePrec))
		}
	}
	if n := len(s.levels) - s.max; n > 0 {
		s.floor = s.key(s.levels[n-1].Price) + 1
		s.levels = s.levels[n:]
	}
	if cap(s.levels) > 2*s.max { // a deep snapshot: keep no more room than the cut needs
		s.levels = slices.Clone(s.levels)
	}
	return nil
}

// errPrecision marks a decimal that is valid in itself but has more
// decimals than the product's increments allow.
var errPrecision = errors.New("more decimals than the product's increment")

// parseLevel parses a level's price (positive) and size (not negative)
// into fixed point.
func parseLevel(price, size string, pricePrec, sizePrec int32) (protocol.Level, error) {
	var l protocol.Level
	var err error
	if l.Price, err = parseFixed(price, pricePrec); err != nil {
		return l, fmt.Errorf("price: %w", err)
	}
	if l.Size, err = parseFixed(size, sizePrec); err != nil {
		return l, fmt.Errorf("size: %w", err)
	}
	if l.Price <= 0 || l.Size < 0 {
		return l, fmt.Errorf("level [%q, %q] is not a positive price and a size", price, size)
	}
	return l, nil
}

// parseFixed is protocol.ParseFixed, telling a decimal with too many
// decimals (errPrecision) from one that is not a usable decimal at all.
func parseFixed(s string, prec int32) (int64, error) {
	v, err := protocol.ParseFixed(s, prec)
	if err == nil {
		return v, nil
	}
	if d, derr := protocol.ParseDecimal(s); derr == nil && finer(d, prec) {
		return 0, fmt.Errorf("%q: %w (%d)", s, errPrecision, prec)
	}
	return 0, err
}
