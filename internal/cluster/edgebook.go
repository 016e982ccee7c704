package cluster

import (
	"time"

	"github.com/tickerd/tickerd/protocol"
)

// Book updates an Edge asks a snapshot for at most this often per book,
// and again after wantRetry while it still waits.
const (
	wantMin   = 250 * time.Millisecond
	wantRetry = 500 * time.Millisecond
)

// freshWait is how long an Edge that starts watching a book waits for the
// fresh snapshot it asks for before it hands on the stored one instead
// (the feed node serves a want within wantEvery).
const freshWait = 500 * time.Millisecond

// edgeBook is what an Edge knows of the book its sink holds for a symbol.
// Owned by the Run goroutine.
type edgeBook struct {
	at     seqState // the last update handed to the sink: the sink's book is at it
	synced bool     // the next update in order applies to the sink's book
	held   [][]byte // updates that came while not synced, oldest first
	bytes  int      // their size
	wantAt time.Time

	// The stored snapshot is up to Config.BookSnapshot old, so an Edge
	// that starts watching a book asks for a fresh one and keeps the
	// fetched one in stored until freshBy, the fresh one or an update
	// that follows it, whichever comes first; an update that does not
	// follow it proves it stale, and it is dropped.
	freshBy  time.Time // while not zero, a fresh snapshot is asked for
	stored   []byte    // a fetched snapshot newer than the sink's book
	storedAt seqState  // its epoch and seq
	seen     seqState  // the newest update (not snapshot) that came while watched
}

// bookMsg handles a book message of s from its subscription (live: on
// the snapshot subject).
func (r *edgeRun) bookMsg(s *edgeSym, data []byte, live bool) {
	r.bookUpdate(s, data, live)
	if s.book.stored != nil {
		r.settleStored(s, time.Now())
	}
}

func (r *edgeRun) bookUpdate(s *edgeSym, data []byte, live bool) {
	if len(data) == 0 {
		return // what a delisting left
	}
	u := &r.bu
	if err := decodeBookWire(data, u); err != nil {
		if r.e.stats.bad.Add(1) == 1 {
			r.e.log.Warn("edge dropped a malformed book message", "symbol", s.def.Name, "err", err)
		}
		return
	}
	u.Symbol = s.def.Name
	if u.Snapshot {
		r.bookSnapshot(s, u, live)
		return
	}
	b := &s.book
	v := b.at.check(u.Epoch, u.Seq)
	if w := b.seen.check(u.Epoch, u.Seq); v != dropStale && (w == deliverNew || w == deliverReset) {
		b.seen.take(u.Epoch, u.Seq)
	}
	switch {
	case b.synced && v == deliverNew && u.Seq == b.at.seq+1:
		r.deliverBook(s, u)
		return
	case v == dropDup, v == dropOlder:
		return
	case v == dropStale:
		r.dropStale(s, "book", b.at, u.Epoch, u.Seq)
		return
	}
	// A gap, a new epoch without a snapshot yet, or no snapshot yet: hold
	// the update for the snapshot it will follow.
	if b.synced {
		b.synced = false
		r.e.stats.resyncs.Add(1)
	}
	r.unsynced[s] = struct{}{}
	r.holdBook(s, data)
	r.wantBook(s, time.Now())
}

// bookSnapshot hands a snapshot newer than the sink's book to the sink,
// then the held updates that follow it.
func (r *edgeRun) bookSnapshot(s *edgeSym, u *protocol.BookUpdate, live bool) {
	b := &s.book
	switch v := b.at.check(u.Epoch, u.Seq); {
	case v == dropStale:
		if live {
			r.dropStale(s, "book", b.at, u.Epoch, u.Seq)
		}
		return
	case v == dropOlder, v == dropDup && b.synced:
		return // the sink's book is as new
	case v == deliverReset:
		r.reset(s, "book", b.at.epoch, u.Epoch)
	case b.synced:
		r.e.stats.resyncs.Add(1) // ahead of the updates handed on: some were missed
	}
	b.synced = true
	delete(r.unsynced, s)
	b.freshBy = time.Time{}
	r.deliverBook(s, u)
	held := b.held
	r.dropHeldBook(s)
	for i, data := range held {
		if err := decodeBookWire(data, u); err != nil {
			continue // checked when it came
		}
		u.Symbol = s.def.Name
		switch v := b.at.check(u.Epoch, u.Seq); {
		case v == deliverNew && u.Seq == b.at.seq+1 && !u.Snapshot:
			r.deliverBook(s, u)
		case v == deliverNew, v == deliverReset:
			// A gap after the snapshot: hold the rest for the next one.
			b.synced = false
			r.unsynced[s] = struct{}{}
			for _, d := range held[i:] {
				r.holdBook(s, d)
			}
			r.wantBook(s, time.Now())
			return
		}
	}
}

func (r *edgeRun) deliverBook(s *edgeSym, u *protocol.BookUpdate) {
	s.book.at.take(u.Epoch, u.Seq)
	r.fresh(s)
	r.flushListings()
	r.sink.PublishBook(u)
}

// bookHeldAll bounds the book updates held over all symbols, in
// Config.BookBuffer (what one symbol may hold).
const bookHeldAll = 16

// holdBook keeps an update of s until a snapshot, within Config.BookBuffer
// bytes for s, the oldest going first (a snapshot will be newer than
// them), and bookHeldAll times that for all symbols, past which s holds
// nothing more and waits for a snapshot and the updates after it.
func (r *edgeRun) holdBook(s *edgeSym, data []byte) {
	b := &s.book
	limit := r.e.cfg.BookBuffer
	if len(data) > limit || r.bookHeld+len(data) > bookHeldAll*limit {
		r.dropHeldBook(s)
		return
	}
	drop := 0
	for b.bytes+len(data) > limit {
		b.bytes -= len(b.held[drop])
		r.bookHeld -= len(b.held[drop])
		drop++
	}
	if drop > 0 {
		n := copy(b.held, b.held[drop:])
		clear(b.held[n:])
		b.held = b.held[:n]
	}
	b.held = append(b.held, data)
	b.bytes += len(data)
	r.bookHeld += len(data)
}

// dropHeldBook lets go of the updates held for s.
func (r *edgeRun) dropHeldBook(s *edgeSym) {
	r.bookHeld -= s.book.bytes
	s.book.held, s.book.bytes = nil, 0
}

// wantBook asks the feed node for a fresh snapshot of s's book, at most
// once per wantMin.
func (r *edgeRun) wantBook(s *edgeSym, now time.Time) {
	b := &s.book
	if now.Sub(b.wantAt) < wantMin {
		return
	}
	b.wantAt = now
	if err := r.e.nc.Publish(r.e.subj.want(s.token), nil); err != nil {
		r.e.log.Debug("edge cannot ask for a book snapshot", "symbol", s.def.Name, "err", err)
	}
}

// bookWatched asks for a fresh snapshot of s's book, which local clients
// start watching, and has a fetched stored snapshot wait for it.
func (r *edgeRun) bookWatched(s *edgeSym, now time.Time) {
	s.book.freshBy = now.Add(freshWait)
	s.book.wantAt = time.Time{}
	r.wantBook(s, now)
}

// fetchedBook handles the stored snapshot of s, fetched from the stream.
func (r *edgeRun) fetchedBook(s *edgeSym, data []byte, now time.Time) {
	if len(data) == 0 {
		return // what a delisting left
	}
	u := &r.bu
	if err := decodeBookWire(data, u); err != nil || !u.Snapshot {
		r.bookMsg(s, data, true) // counted there
		return
	}
	b := &s.book
	if !newerBook(b, u.Epoch, u.Seq) {
		r.bookMsg(s, data, true) // dropped there
		return
	}
	if b.stored != nil {
		if v := b.storedAt.check(u.Epoch, u.Seq); v != deliverNew && v != deliverReset {
			return // one as new waits
		}
	}
	b.stored = data
	b.storedAt = seqState{epoch: u.Epoch, seq: u.Seq, set: true}
	r.storing[s] = struct{}{}
	r.settleStored(s, now)
}

// newerBook reports whether a snapshot at epoch and seq is to be handed
// to the sink.
func newerBook(b *edgeBook, epoch, seq uint64) bool {
	v := b.at.check(epoch, seq)
	return v == deliverNew || v == deliverReset || v == dropDup && !b.synced
}

// settleStored hands on the stored snapshot of s once an update that
// follows it came or nothing fresher came by freshBy, and drops it once
// the sink's book is as new or an update that does not follow it came.
func (r *edgeRun) settleStored(s *edgeSym, now time.Time) {
	b := &s.book
	if b.stored == nil {
		return
	}
	st, seen := b.storedAt, b.seen
	switch {
	case !newerBook(b, st.epoch, st.seq):
	case seen.set && (seen.epoch > st.epoch || seen.epoch == st.epoch && seen.seq > st.seq+1):
		// Stale: wait for the fresh snapshot (asked for on the gap).
	case seen.set && seen.epoch == st.epoch && seen.seq == st.seq+1, b.freshBy.IsZero(), !now.Before(b.freshBy):
		if !b.freshBy.IsZero() && !now.Before(b.freshBy) {
			r.e.stats.storedBooks.Add(1)
		}
		data := b.stored
		r.dropStored(s)
		u := &r.bu
		if err := decodeBookWire(data, u); err != nil {
			return // checked when it came
		}
		u.Symbol = s.def.Name
		r.bookSnapshot(s, u, true)
		return
	default:
		return // waits
	}
	r.dropStored(s)
}

func (r *edgeRun) dropStored(s *edgeSym) {
	s.book.stored = nil
	delete(r.storing, s)
}

// bookRetries hands on the stored snapshots that waited long enough, and
// asks again for the books still waiting with held updates.
func (r *edgeRun) bookRetries(now time.Time) {
	for s := range r.storing {
		r.settleStored(s, now)
	}
	for s := range r.unsynced {
		if s.sub != nil && len(s.book.held) > 0 && now.Sub(s.book.wantAt) >= wantRetry {
			r.wantBook(s, now)
		}
	}
}

// bookDropper is a sink that forgets a book the Edge stops following
// until the Edge hands it a snapshot again; *hub.Hub is one.
type bookDropper interface {
	DropBook(symbol string)
}

// bookUnwatched forgets the updates held for s, which is no longer
// watched, and has the sink forget its book, which nothing keeps current
// now: a client that watches s later is not sent the book as it was when
// the last one left, but the snapshot the Edge hands on when s is watched
// again. s.book.at stays, so that snapshot is not older than what the
// sink was handed before.
func (r *edgeRun) bookUnwatched(s *edgeSym) {
	r.dropHeldBook(s)
	delete(r.unsynced, s)
	r.dropStored(s)
	b := &s.book
	b.freshBy, b.seen = time.Time{}, seqState{}
	if b.at.set {
		b.synced = false
		if r.drop != nil {
			r.drop.DropBook(s.def.Name)
		}
	}
}
