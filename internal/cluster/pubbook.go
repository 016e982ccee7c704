package cluster

import (
	"context"
	"errors"
	"math"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/tickerd/tickerd/internal/book"
	"github.com/tickerd/tickerd/protocol"
)

// Book snapshots an edge asks for are published within wantEvery, and
// at most once per wantEvery per book.
const wantEvery = 100 * time.Millisecond

// maxWanted bounds the set of books edges asked a snapshot of, and
// wantsPerRound how many of them one round (wantEvery) serves; the rest
// wait for the next.
const (
	maxWanted     = 1 << 16
	wantsPerRound = 256
)

// pubBook is the Publisher's copy of a symbol's book, from which it
// stores snapshots. Guarded by pubRun.mu.
type pubBook struct {
	b                   *book.Book
	snapSubj, bookSubj  string
	ts                  int64 // of the update the book is at
	pricePrec, sizePrec int32
	dirty               bool      // changed since the last stored snapshot
	snapAt              time.Time // when the last snapshot was published
	refused             bool      // an update was refused since the last log
}

// PublishBook publishes a book update: a snapshot on the symbol's snap
// subject, where the stream keeps it, a change of levels on its book
// subject, which only watching edges get. The Publisher applies it to its
// copy of the book, and gives it to the local sink.
func (r *pubRun) PublishBook(u *protocol.BookUpdate) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s := r.syms[u.Symbol]; s != nil {
		u = r.bookLocked(s, u)
	}
	if r.next != nil {
		r.next.PublishBook(u)
	}
}

// bookLocked publishes a book update of s and returns it in the run's seq
// space.
func (r *pubRun) bookLocked(s *pubSym, u *protocol.BookUpdate) *protocol.BookUpdate {
	epoch, seq := s.books.place(u.Epoch, u.Seq, stored{}, r.epoch)
	if epoch != u.Epoch || seq != u.Seq {
		r.bu = *u // shares u's levels, only to read them
		r.bu.Epoch, r.bu.Seq = epoch, seq
		u = &r.bu
	}
	ob := s.ob
	if ob == nil {
		ob = &pubBook{
			b:        book.New(u.Symbol, book.Config{MaxSideBytes: r.p.cfg.BookMaxSideBytes}),
			snapSubj: r.p.subj.symbol(s.token, kindSnap),
			bookSubj: r.p.subj.symbol(s.token, kindBook),
		}
		s.ob = ob
		r.withBook = append(r.withBook, s)
	}
	err := ob.b.Apply(u, 0)
	if at, _, valid := ob.b.State(); valid && at == seq {
		ob.ts, ob.pricePrec, ob.sizePrec = u.TS, u.PricePrec, u.SizePrec
	}
	if err != nil && !errors.Is(err, book.ErrCrossed) {
		r.p.bookErrs.Add(1)
		if !ob.refused {
			ob.refused = true
			r.p.log.Warn("book update refused; edges resync from the next snapshot", "err", err)
		}
	}
	r.buf = appendBookWire(r.buf[:0], u)
	if u.Snapshot {
		ob.dirty, ob.snapAt, ob.refused = false, time.Now(), false
		r.publishDataLocked(ob.snapSubj, r.buf)
	} else {
		ob.dirty = true
		r.publishDataLocked(ob.bookSubj, r.buf)
	}
	return u
}

// snapshots stores a snapshot of every book that changed each
// Config.BookSnapshot, and of a book an edge asked for within wantEvery,
// until ctx is done.
func (r *pubRun) snapshots(ctx context.Context) {
	period := r.p.cfg.BookSnapshot
	t := time.NewTicker(min(period, wantEvery))
	defer t.Stop()
	next := time.Now().Add(period)
	var books []*pubSym
	var wanted []string
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-r.wake:
		}
		now := time.Now()
		all := !now.Before(next)
		if all {
			next = now.Add(period)
		}
		wanted = r.takeWanted(wanted[:0])
		r.mu.Lock()
		books = append(books[:0], r.withBook...)
		served := 0
		for _, tok := range wanted {
			name, err := SymbolFromToken(tok)
			s := r.syms[name]
			switch {
			case err != nil || s == nil || s.ob == nil:
			case now.Sub(s.ob.snapAt) < wantEvery || served == wantsPerRound:
				r.want(tok) // the next round
			default:
				r.snapshotLocked(s, now)
				served++
			}
		}
		if all {
			// Let go of delisted symbols' books.
			kept := r.withBook[:0]
			for _, s := range r.withBook {
				if !s.delisted {
					kept = append(kept, s)
				}
			}
			clear(r.withBook[len(kept):])
			r.withBook = kept
		}
		r.mu.Unlock()
		if !all {
			continue
		}
		for _, s := range books {
			r.mu.Lock()
			if s.ob.dirty && !s.delisted {
				r.snapshotLocked(s, now)
			}
			r.mu.Unlock()
		}
	}
}

// snapshotLocked stores a snapshot of s's book: the whole book, at its
// seq and ts, with each depth's view version (Views), so a hub that loads
// it holds what the feed node's hub holds, keeps the same view seqs and
// makes the same frames from it. A book that is not valid (it waits for a
// snapshot from the feed) has none.
func (r *pubRun) snapshotLocked(s *pubSym, now time.Time) {
	ob := s.ob
	seq, epoch, valid := ob.b.State()
	if !valid {
		return
	}
	r.snap = protocol.BookUpdate{
		Symbol: s.def.Name, Seq: seq, Epoch: epoch, TS: ob.ts, Snapshot: true,
		PricePrec: ob.pricePrec, SizePrec: ob.sizePrec, Views: ob.b.Views(),
		Bids: r.snap.Bids[:0], Asks: r.snap.Asks[:0],
	}
	r.snap.Bids, r.snap.Asks = ob.b.AppendTop(r.snap.Bids, r.snap.Asks, math.MaxInt)
	r.buf = appendBookWire(r.buf[:0], &r.snap)
	r.publishDataLocked(ob.snapSubj, r.buf)
	ob.dirty, ob.snapAt = false, now
}

// wantMsg records an edge's request for a snapshot of a book, sent on
// PREFIX.want.TOKEN. It runs on the NATS connection's goroutine.
func (r *pubRun) wantMsg(m *nats.Msg) {
	tok, ok := strings.CutPrefix(m.Subject, r.p.subj.prefix+".want.")
	if !ok || tok == "" {
		return
	}
	r.want(tok)
	r.wakeSnapshots()
}

func (r *pubRun) want(tok string) {
	r.wantMu.Lock()
	if len(r.wanted) < maxWanted {
		r.wanted[tok] = true
	}
	r.wantMu.Unlock()
}

// takeWanted appends the tokens asked for to dst and forgets them.
func (r *pubRun) takeWanted(dst []string) []string {
	r.wantMu.Lock()
	defer r.wantMu.Unlock()
	for tok := range r.wanted {
		dst = append(dst, tok)
	}
	clear(r.wanted)
	return dst
}

func (r *pubRun) wakeSnapshots() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}
