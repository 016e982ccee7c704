package hub

import (
	"time"

	"github.com/tickerd/tickerd/internal/wsframe"
	"golang.org/x/sys/unix"
)

// This file is a connection's backlog, all of it: what happens when its
// socket does not take everything, until it does again or the connection
// is closed for it. Everything here runs on the shard goroutine, but for
// conn.blocked and conn.woken, which the poller reads and sets.
//
// States of a plain connection:
//
//	writable  ── short write ──▶  blocked (c.blocked, since connExt.blockedAt)
//	    ▲                            │  EPOLLOUT: poller → wakeWritable → writable1 → write
//	    └──── everything written ────┘  (or: BacklogTimeout → 1008 "slow consumer")
//
// While blocked, nothing is collected for the connection: its
// subscriptions stay on its pending list and their streams' latest values
// replace each other, so a stopped client costs no more the longer it is
// stopped. What the socket did not take of a write is given back: each
// data frame collected for it comes from a subscription (writer.from), and
// a frame not written at all puts its subscription back as it was
// (unsent, pending). connExt.out keeps only the rest of the one frame the
// socket took part of, and replies not written yet; when EPOLLOUT comes it
// goes first, then whatever the pending list holds then.
//
// A wss:// connection is blocked while its TLS writer goroutine has a
// batch (writeTLS and written here; the writer goroutine is tls.go's
// sendTLS) and, under a TLSListener's socket, until the socket has taken
// the records the writer left with it (flushTLS, on EPOLLOUT); a TLS batch
// is written whole.

// write sends what c has to send: first the rest of an earlier short
// write, then everything collect finds. It never waits for the socket.
//
// Replies leave c's reply budget as they are handed to the socket, and
// what it does not take of them is charged again after the call (see
// unsent): a client that has read a reply may ask again before this
// goroutine is back from the system call that wrote it, and its request
// must not find that reply still counted.
func (s *shard) write(c *conn) {
	if c.tls != nil {
		s.writeTLS(c)
		return
	}
	s.writePlain(c)
	if c.ownBytes.Load() != 0 {
		c.recountOwn()
	}
	if c.outReply > 0 {
		s.unsent(c)
	}
}

// writePlain is write for a plain connection.
func (s *shard) writePlain(c *conn) {
	if out := c.rest(); len(out) > 0 {
		c.x.out = nil
		c.replyBytes.Add(-c.outReply)
		n, ok := s.send(c, out, 0)
		if !ok {
			return
		}
		c.outReply -= int32(min(n, int(c.outReply)))
		if n < size(out) {
			c.x.out = keep(out, n)
			c.replyBytes.Add(c.outReply)
			s.stalled(c)
			return
		}
	}
	bufs, nreplies := s.collect(c)
	full := true
	if len(bufs) > 0 {
		if nreplies > 0 { // an atomic add is a locked instruction: not on every write
			c.replyBytes.Add(-int32(size(bufs[:nreplies])))
		}
		n, ok := s.send(c, bufs, 0)
		if !ok {
			s.w.reuse(bufs)
			return
		}
		s.settle(c, bufs, nreplies, n)
		// Short at a frame's end, c.rest() is empty: c is blocked all the
		// same, its frames given back.
		full = n == size(bufs)
	}
	s.w.reuse(bufs)
	if full {
		s.drained(c)
		if s.w.more {
			s.markDirty(c) // the rest of a trades batch, later in this pass
		}
	} else {
		s.stalled(c)
	}
}

// writeTLS hands what c has to send to a TLS writer goroutine, unless one
// is busy with c already (written marks c dirty again when it is done).
// A batch holds c's replies and at most maxTLSBatch bytes of data frames:
// the rest is given back to its subscriptions and goes in a later batch
// with whatever is latest then, so a writer stuck on a full socket keeps
// little alive. Under a TLSListener's socket, a batch of more than
// tlsRoomFrom bytes of data also holds no more than the socket has room
// for (tlsConn.room), so that the records a stalled client's socket did
// not take (sock.pending, held until it reads) are a frame's, not a
// batch's. The first data frame always goes: a batch the socket takes
// none of waits for EPOLLOUT.
func (s *shard) writeTLS(c *conn) {
	if c.blocked.Load() {
		return
	}
	bufs, nreplies := s.collect(c)
	if len(bufs) > 0 {
		from := s.w.from
		limit := maxTLSBatch
		if c.tls.sock != nil && size(bufs[nreplies:]) > tlsRoomFrom {
			limit = min(limit, c.tls.room()/2)
		}
		data := 0
		for j := range from {
			k := nreplies + j
			if data += len(bufs[k]); data > limit && j > 0 {
				s.giveBack(c, from[j:])
				clear(bufs[k:])
				bufs, from = bufs[:k], from[:j] // written() has the rest collected
				break
			}
		}
		s.sendTLS(c, bufs, size(bufs[:nreplies])) // copies the slice headers
		for i := range from {
			s.w.commit(&from[i], &s.n)
		}
	}
	s.w.reuse(bufs)
}

// maxTLSBatch bounds the data frames of one TLS batch: one record.
const maxTLSBatch = tlsBufSize

// tlsRoomFrom is the size of a batch's data frames from which writeTLS
// asks the socket how much room it has (two system calls): a smaller
// batch goes whole, and is the most a stalled client's socket keeps.
const tlsRoomFrom = 1 << 10

// written is the TLS writer's report that a batch is with the socket;
// pending: some of its records wait for the socket to take them.
func (s *shard) written(c *conn, n int, failed, pending bool) {
	s.n.bytes += uint64(n)
	if pending && !failed {
		// Set before the first try: an EPOLLOUT from now on wakes the
		// shard (poller), and one that came before is made up for by
		// the try.
		c.tls.waitOut.Store(true)
		s.flushTLS(c)
		return
	}
	s.batchOut(c, failed)
}

// flushTLS writes what c's TLS socket holds of a batch, without waiting:
// the batch is out when the socket has taken all of it; until then c
// stays blocked and EPOLLOUT brings it back here (writable1).
func (s *shard) flushTLS(c *conn) {
	more, err := c.tls.sock.flushNow()
	if more && err == nil {
		return
	}
	c.tls.waitOut.Store(false)
	s.batchOut(c, err != nil)
}

// batchOut ends c's TLS batch: the socket has taken all of it, or failed.
func (s *shard) batchOut(c *conn, failed bool) {
	c.blocked.Store(false)
	if c.x != nil {
		c.x.blockedAt = 0
	}
	if c.state == stateClosed {
		return
	}
	if failed {
		s.finish(c, reasonWriteError)
		return
	}
	if c.finAfterWrite {
		if len(c.ctrl) > 0 {
			// The close frame was queued behind the batch just written:
			// send it, and finish when that batch is out.
			s.write(c)
			if c.blocked.Load() {
				return
			}
		}
		s.finish(c, c.why)
		return
	}
	s.markDirty(c) // collect what came meanwhile
}

// send writes bufs, but their first skip bytes, to c's socket and returns
// how many bytes the socket took. A socket that takes less than everything
// is marked blocked, so that EPOLLOUT brings c back (see poller). ok is
// false if the socket failed: c is finished then.
func (s *shard) send(c *conn, bufs [][]byte, skip int) (n int, ok bool) {
	total := size(bufs) - skip
	n, calls, err := s.w.sendmsg(int(c.fd), bufs, skip)
	if err == nil && n < total && !c.blocked.Load() {
		// Mark blocked before trying once more: an EPOLLOUT that comes
		// after this store is seen by the poller, and one that came
		// before it is made up for by the retry.
		c.blocked.Store(true)
		var m, k int
		m, k, err = s.w.sendmsg(int(c.fd), bufs, skip+n)
		n += m
		calls += k
	}
	s.n.writes += uint64(calls)
	s.n.bytes += uint64(n)
	if err != nil {
		s.finish(c, reasonWriteError)
		return n, false
	}
	return n, true
}

// settle accounts for a write of collect's bufs (nreplies replies, then
// data frames) of which the socket took n bytes: data frames written, if
// only in part, are counted; replies not written are charged to c's reply
// budget again (write gave them all back before the call); the frame the
// socket took part of and the replies after it stay in c.x.out; data
// frames not written at all are given back to their subscriptions
// (unsent, pending again), so c.x.out never keeps an update alive that a
// newer one replaced.
func (s *shard) settle(c *conn, bufs [][]byte, nreplies, n int) {
	from := s.w.from
	off := 0
	for k, b := range bufs {
		end := off + len(b)
		if k < nreplies {
			if end > n { // a reply the socket did not take whole
				replies := bufs[k:nreplies]
				x := c.more()
				x.out = keep(replies, n-off)
				c.outReply = int32(size(x.out))
				c.replyBytes.Add(c.outReply) // charged again: see write
				s.giveBack(c, from)
				return
			}
		} else {
			j := k - nreplies
			if off >= n {
				s.giveBack(c, from[j:])
				return
			}
			s.w.commit(&from[j], &s.n)
			if end > n {
				c.more().out = keep(bufs[k:k+1], n-off)
				s.giveBack(c, from[j+1:])
				return
			}
		}
		off = end
	}
}

// giveBack undoes collect's work for frames not written: each
// subscription is set back to what it had been sent before them and put
// back on c's pending list. Frames of one subscription are consecutive,
// and undone last first, so the earliest unwritten one decides.
func (s *shard) giveBack(c *conn, from []origin) {
	for i := len(from) - 1; i >= 0; i-- {
		o := &from[i]
		es := &c.subs[o.sub]
		fs := &s.fans[es.slot].shards[s.id]
		e := &fs.subs[es.pos]
		e.sent = o.prev
		switch {
		case o.snap:
			e.bits |= subSnap // sent again, after the reset if that is given back too
		case o.reset:
			e.bits &^= subSnap // the reset goes again, with its snapshot
		}
		if o.rated {
			c.x.rl.rates[o.sub].due = o.prevDue
		}
		if o.ext {
			c.x.ext[o.sub] = subExt{seq: o.pseq, epoch: o.pepoch, until: o.puntil, fresh: o.pfresh}
		}
		c.onPending(e, pendRef{es.slot, es.pos})
	}
}

// stalled notes that c's socket is full: c is blocked until EPOLLOUT, and
// the backlog timeout counts from the first time.
func (s *shard) stalled(c *conn) {
	if c.blockedSince() != 0 {
		return
	}
	c.more().blockedAt = time.Now().UnixNano()
	if !c.inBlocked {
		c.inBlocked = true
		s.blocked = append(s.blocked, c)
	}
}

// drained notes that c's socket took everything: c is writable again.
// A closing connection whose close frame is out is half-closed, so the
// client reads the close frame followed by EOF.
func (s *shard) drained(c *conn) {
	if c.blocked.Load() {
		c.blocked.Store(false) // a store is a locked instruction: not on every write
	}
	if c.x != nil {
		c.x.blockedAt = 0
	}
	if c.state == stateClosing && c.closeW && len(c.ctrl) == 0 {
		_ = unix.Shutdown(int(c.fd), unix.SHUT_WR)
		c.closeW = false
	}
}

// unsent checks c's reply budget once the rest of a write, c.outReply
// bytes of replies the socket did not take, is charged again: replies
// asked for while the write was in the system call were let in against a
// budget without them. A client over it now has not read what it asked
// for, and is closed with 1008 as charge would have. The rest alone may
// be over the budget: one reply larger than it always goes out.
func (s *shard) unsent(c *conn) {
	r := int(c.replyBytes.Load() - c.ownBytes.Load())
	if !withinBudget(r, int(c.outReply), s.h.cfg.MaxPendingReplyBytes) {
		s.closeUnread(c)
	}
}

// writable1 is EPOLLOUT for a blocked connection: write the rest of its
// backlog and what is pending.
func (s *shard) writable1(c *conn) {
	c.woken.Store(false)
	switch {
	case c.state == stateClosed:
	case c.tls != nil:
		if c.tls.waitOut.Load() {
			s.flushTLS(c)
		}
	default:
		s.write(c)
	}
}

// checkBacklogs closes (1008 "slow consumer") every connection blocked
// for longer than BacklogTimeout, and forgets the ones no longer blocked.
func (s *shard) checkBacklogs(ns int64) {
	kept := s.blocked[:0]
	for _, c := range s.blocked {
		switch {
		case c.state == stateClosed || c.blockedSince() == 0:
			c.inBlocked = false
			continue
		case c.state == stateOpen && ns-c.x.blockedAt > int64(s.h.cfg.BacklogTimeout):
			s.startClose(c, wsframe.StatusPolicyViolation, "slow consumer", reasonSlow)
		}
		kept = append(kept, c)
	}
	clear(s.blocked[len(kept):])
	s.blocked = kept
}

// size returns the bytes in bufs.
func size(bufs [][]byte) int {
	n := 0
	for _, b := range bufs {
		n += len(b)
	}
	return n
}

// keep returns a new slice of bufs without their first n bytes, for
// c.x.out: only after a short write, and small (a frame's rest, replies).
func keep(bufs [][]byte, n int) [][]byte {
	for len(bufs) > 0 && n >= len(bufs[0]) {
		n -= len(bufs[0])
		bufs = bufs[1:]
	}
	out := make([][]byte, len(bufs))
	copy(out, bufs)
	if len(out) > 0 {
		out[0] = out[0][n:]
	}
	return out
}
