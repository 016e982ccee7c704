package hub

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tickerd/tickerd/internal/book"
	"github.com/tickerd/tickerd/protocol"
)

// This file is the book channel. A symbol's order book (internal/book)
// is applied once per feed update, on the feed's goroutine; each depth
// (10, 50, 200) that has subscribers is a stream whose updates are that
// depth's messages, each encoded once: a delta from the view's previous
// version (prev_seq), or a snapshot when the feed sent one.
//
// A book subscription remembers the view seq its client is at
// (subExt.seq). It is sent the deltas that apply to it, in order; one
// that needs a snapshot (just subscribed, the same depth asked for again,
// behind: owed more than the ring holds or for longer than MaxReplayAge,
// rate-limited, or owed a delta whose prev_seq is not its seq) is sent the
// depth's snapshot at the current version instead, encoded once per
// version and shared. It is never sent a delta it cannot apply, and
// never closed for being slow on books (BacklogTimeout still closes a
// client that reads nothing).

// bookStreams is a symbol's book and its streams, one per depth.
type bookStreams struct {
	depths [book.NumDepths]stream
	snaps  [book.NumDepths]frameCache // each depth's snapshot as a frame

	b atomic.Pointer[book.Book] // nil until the first update

	mu    sync.Mutex  // serialises publishers: Apply, AppendDelta and the depth streams' state
	want  book.Depths // guarded by mu: the depths with a fanout (join and leave change it)
	buf   []byte      // guarded by mu: AppendDelta's scratch
	seen  bool        // guarded by mu: the book has been valid: a higher epoch resets
	epoch uint64      // guarded by mu: the epoch of the last valid state
}

// watch adds or removes depth d from the depths the publisher encodes
// messages for. join and leave call it, under the symbol's watchMu.
func (bs *bookStreams) watch(d book.Depth, on bool) {
	bs.mu.Lock()
	if on {
		bs.want = bs.want.With(d)
	} else {
		bs.want &^= 1 << d
	}
	bs.mu.Unlock()
}

// PublishBook applies u to its symbol's book, once, and hands each
// watched depth's message, encoded once, to the shards whose connections
// watch that depth. It implements feed.Sink; call it in the feed's order,
// one update of a symbol at a time. An update the book refuses is
// counted (BookErrors, or Stale for an old one); a delta after a refused
// one leaves the book invalid until the next snapshot, and subscribers
// get nothing meanwhile. A higher epoch's snapshot resets the book's
// subscribers (a reset, then a snapshot); the first epoch is taken
// silently.
func (h *Hub) PublishBook(u *protocol.BookUpdate) {
	sym := h.uni.lookup(u.Symbol)
	if sym == nil {
		h.stats.unknown.Add(1)
		return
	}
	bs := &sym.channels().book
	now := time.Now().UnixNano()
	var fans [book.NumDepths]*fanout
	bs.mu.Lock()
	b := bs.b.Load()
	if b == nil {
		b = book.New(sym.name, book.Config{})
		bs.b.Store(b)
	}
	if err := b.Apply(u, bs.want); err != nil {
		if errors.Is(err, book.ErrStale) {
			h.stats.stale.Add(1)
		} else {
			h.stats.bookErrors.Add(1)
		}
	}
	_, epoch, valid := b.State()
	reset := valid && bs.seen && epoch > bs.epoch
	if valid {
		bs.seen, bs.epoch = true, epoch
	}
	if reset {
		h.stats.resets.Add(1)
	}
	for d := range book.NumDepths {
		if !bs.want.Has(d) {
			continue
		}
		msg, delta, ok := b.AppendDelta(bs.buf[:0], d)
		bs.buf = msg[:0]
		if !ok {
			continue
		}
		st := &bs.depths[d]
		if reset {
			st.mark = &epochMark{reset: textFrame(protocol.AppendReset(nil, protocol.ChannelBook, sym.name, epoch))}
		}
		nu := newRichUpdate()
		nu.tick = textFrame(msg)
		nu.seq, nu.ts, nu.at = delta.Seq, u.TS, now
		nu.more.prevSeq, nu.more.full = delta.PrevSeq, delta.Snapshot
		fans[d] = st.accept(nu)
	}
	bs.mu.Unlock()
	h.stats.books.Add(1)
	for _, f := range fans {
		if f != nil {
			h.notify(f)
		}
	}
}

// DropBook forgets symbol's book until the feed's next snapshot of it:
// meanwhile no subscriber is sent it, and a new one waits for that
// snapshot. A feed that stops following a book calls it (an Edge, whose
// clients no longer watch the symbol, so that the next one is not served
// the book as it was when the last one left), on the goroutine that
// calls PublishBook, in order with it; the feed's next update of the
// book must be a snapshot. A single node's feed keeps every book current
// and never calls it.
func (h *Hub) DropBook(symbol string) {
	sym := h.uni.lookup(symbol)
	if sym == nil {
		return
	}
	ch := sym.chans.Load()
	if ch == nil {
		return // no book
	}
	bs := &ch.book
	bs.mu.Lock()
	bs.b.Store(nil)
	bs.mu.Unlock()
}

// bookSnapshot returns the snapshot of st's depth at its current
// version, as a frame shared by every subscriber that needs it, and that
// version; ok is false while the book is not valid. Any shard.
func (h *Hub) bookSnapshot(c *conn, st *stream) (frame []byte, seq uint64, ok bool) {
	bs := &st.sym.chans.Load().book
	b := bs.b.Load()
	if b == nil {
		return nil, 0, false
	}
	msg, seq, ok := b.Snapshot(book.Depth(st.param))
	if !ok {
		return nil, 0, false
	}
	return bs.snaps[st.param].get(h, c, msg), seq, true
}

// appendBook appends what e, c's subscription to st, a book stream, is
// owed up to u: the deltas after the view seq its client is at, if the ring holds
// every update it is owed, the first of them accepted after oldest (Unix
// ns), and each applies in turn; else a snapshot at the current version.
func (s *shard) appendBook(c *conn, e *subRef, st *stream, u *update, o origin, oldest int64, bufs [][]byte, from []origin) ([][]byte, []origin) {
	x := &c.x.ext[e.index()]
	o.ext, o.pseq = true, x.seq
	if e.bits&subSnap == 0 && !o.rated && u.ver-e.sent <= ringSize {
		f := st.fan.Load()
		var got [ringSize]*update
		n := 0
		ok := true
		seq := x.seq
		for v := e.sent + 1; ; v++ {
			p := u
			if v != u.ver {
				p = f.ring[v%ringSize].Load()
			}
			if p == nil || p.ver != v || n == 0 && p.at < oldest {
				ok = false // overwritten already, or owed for too long
				break
			}
			if p.seq > seq {
				if !p.more.full && p.more.prevSeq != seq {
					ok = false // a delta the client cannot apply
					break
				}
				got[n] = p
				n++
				seq = p.seq
			}
			if v == u.ver {
				break
			}
		}
		if ok {
			for _, p := range got[:n] {
				o.ts = p.ts
				bufs, from = append(bufs, s.h.zframe(c, &p.ztick, p.tick)), append(from, o)
				o.prev, o.pseq = p.ver, p.seq
			}
			e.sent, x.seq = u.ver, seq
			return bufs, from
		}
	}
	frame, seq, ok := s.h.bookSnapshot(c, st)
	e.sent = u.ver
	if !ok {
		e.bits |= subSnap // the book is not valid: a snapshot once it is
		return bufs, from
	}
	e.bits &^= subSnap
	o.snap = true
	x.seq = seq
	s.h.stats.bookSnapshots.Add(1)
	return append(bufs, frame), append(from, o)
}
