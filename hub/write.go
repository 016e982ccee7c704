package hub

import (
	"bytes"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/tickerd/tickerd/internal/wsframe"
)

// iovMax is the kernel's limit on the buffers of one sendmsg.
const iovMax = 1024

// writer holds a shard's reusable write scratch.
type writer struct {
	bufs [][]byte
	from []origin // where each data frame of bufs came from (collect)
	now  int64    // Unix ns when bufs were collected
	more bool     // collect left a subscription more to send (a trades batch)
	iov  []unix.Iovec
	msg  unix.Msghdr
}

// origin is where a data frame collect gathered came from, so that
// settle can count it once written or give it back if it was not.
type origin struct {
	sub     uint32 // index in the connection's subs
	prev    uint32 // the subscription's sent before this frame
	skipped uint32 // updates this frame replaced (a seq jump)
	prevDue uint32 // a rate-limited subscription's due time before it
	snap    bool   // the frame is the subscription's snapshot
	reset   bool   // the frame is a control message (reset, gap): not counted as data
	rated   bool   // the subscription is rate-limited
	replay  bool   // a replayed trade (since): counted, but not in the latency histogram
	ext     bool   // a trades or book subscription: pseq, pepoch, puntil, pfresh are its subExt before the frame
	pfresh  bool
	puntil  uint32
	ts      int64 // the update's event time, for the latency histogram
	pseq    uint64
	pepoch  uint64
}

// commit counts a data frame written (or taken in part by the socket,
// which takes the rest before anything else).
func (w *writer) commit(o *origin, n *counts) {
	if o.reset {
		return // a control message, not data
	}
	n.msgs++
	n.merged += uint64(o.skipped)
	if !o.replay {
		n.observe(w.now - o.ts)
	}
}

// sendFlags are the flags of every send: never block, never raise SIGPIPE.
const sendFlags = unix.MSG_DONTWAIT | unix.MSG_NOSIGNAL

// sendmsg writes bufs, but their first skip bytes, to the non-blocking
// socket fd with as few system calls as the kernel allows (sendmsg, or
// send for a single buffer) and returns how many bytes it took. A socket
// that is full yields n short of the total and a nil error.
func (w *writer) sendmsg(fd int, bufs [][]byte, skip int) (n int, calls int, err error) {
	for len(bufs) > 0 && skip >= len(bufs[0]) {
		skip -= len(bufs[0])
		bufs = bufs[1:]
	}
	for len(bufs) > 0 {
		chunk := bufs
		if len(chunk) > iovMax {
			chunk = chunk[:iovMax]
		}
		w.iov = w.iov[:0]
		want := 0
		for _, b := range chunk {
			b = b[skip:]
			skip = 0
			if len(b) == 0 {
				continue
			}
			v := unix.Iovec{Base: &b[0]}
			v.SetLen(len(b))
			w.iov = append(w.iov, v)
			want += len(b)
		}
		bufs = bufs[len(chunk):]
		if want == 0 {
			continue
		}
		var m uintptr
		var errno unix.Errno
		for {
			// send/sendmsg rather than write/writev: the socket calls
			// skip the file layer (vfs_write, the position lock), and
			// MSG_NOSIGNAL turns a peer's reset into EPIPE without a
			// SIGPIPE. The socket is non-blocking, so the call cannot
			// park the thread: RawSyscall skips the scheduler's
			// bookkeeping.
			if len(w.iov) == 1 {
				m, _, errno = unix.RawSyscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(w.iov[0].Base)), uintptr(w.iov[0].Len), sendFlags, 0, 0)
			} else {
				w.msg.Iov = &w.iov[0]
				w.msg.SetIovlen(len(w.iov))
				m, _, errno = unix.RawSyscall(unix.SYS_SENDMSG, uintptr(fd), uintptr(unsafe.Pointer(&w.msg)), sendFlags)
				w.msg.Iov = nil
			}
			if errno != unix.EINTR {
				break
			}
		}
		calls++
		clear(w.iov) // the frames it points at are not the writer's to keep alive
		if errno == unix.EAGAIN {
			return n, calls, nil
		}
		if errno != 0 {
			return n, calls, errno
		}
		n += int(m)
		if int(m) < want {
			return n, calls, nil
		}
	}
	return n, calls, nil
}

// collect gathers what c has to send: its replies, then, for each
// subscription marked pending (on its pending list, or found by a walk of
// its few subscriptions: see walkSubs), what it has not been sent yet. It
// returns s.w.bufs holding them and how many of them (at the front) are
// replies; s.w.from says where each data frame came from (see settle). Its
// cost follows what changed for c, not how many subscriptions c has.
//
// A subscription is sent every update it is owed, in order, from its
// stream's ring; or, when it is behind (owed more than the ring holds, or
// owed an update older than MaxReplayAge) or rate-limited, the latest only.
// A rate-limited subscription that is not due stays pending, and c waits
// in the shard's timers for the first one to be due.
func (s *shard) collect(c *conn) (bufs [][]byte, nreplies int) {
	bufs = append(s.w.bufs[:0], c.ctrl...)
	nreplies = len(c.ctrl)
	c.ctrl = nil // replies are rare: an idle connection holds no slice for them
	from := s.w.from[:0]
	now := time.Now().UnixNano()
	s.w.from, s.w.now, s.w.more = from, now, false
	if c.state != stateOpen {
		return bufs, nreplies
	}
	rl := c.rates()
	var clk uint32
	if rl != nil {
		clk = clockAt(now)
	}
	var wake int64 // the earliest due time among the kept, Unix ns
	if !c.listed() {
		// A few subscriptions: walk them all (see walkSubs). One kept
		// stays marked pending.
		for i := range c.subs {
			es := &c.subs[i]
			f := s.fans[es.slot]
			e := &f.shards[s.id].subs[es.pos]
			if e.bits&subPending == 0 {
				continue
			}
			var kept bool
			var due int64
			bufs, from, kept, due = s.collectSub(c, e, f, rl, clk, now, bufs, from)
			if kept {
				wake = earliest(wake, due)
			}
		}
	} else {
		kept := c.pending[:0]
		for _, p := range c.pending {
			e, f := s.at(c, p)
			if e == nil {
				continue // stale, or a second entry
			}
			var k bool
			var due int64
			bufs, from, k, due = s.collectSub(c, e, f, rl, clk, now, bufs, from)
			if k {
				e.bits |= subSeen
				kept = append(kept, p)
				wake = earliest(wake, due)
			}
		}
		for _, p := range kept {
			s.fans[p.slot].shards[s.id].subs[p.pos].bits &^= subSeen
		}
		c.pending = kept
	}
	if wake != 0 {
		s.timers.schedule(c, wake)
	}
	s.w.from = from
	return bufs, nreplies
}

// collectSub appends to bufs (and from) what e, c's pending subscription
// to f's stream, is owed, and clears its pending mark; or reports kept: it
// stays pending, with more of a trades batch to send, or rate-limited and
// not due until due (Unix ns). rl and clk are c's rate limits and the
// rate clock at now (collect).
func (s *shard) collectSub(c *conn, e *subRef, f *fanout, rl *rateLimits, clk uint32, now int64, bufs [][]byte, from []origin) (_ [][]byte, _ []origin, kept bool, due int64) {
	st, i := f.st, e.index()
	if st.kind == kindTrades {
		var more bool
		bufs, from, more = s.collectTrades(c, e, st, bufs, from)
		if more {
			s.w.more = true
			return bufs, from, true, 0
		}
		e.bits &^= subPending
		return bufs, from, false, 0
	}
	u := st.latest.Load()
	if u == nil || u.ver == e.sent && e.bits&subSnap == 0 {
		if u == nil && e.bits&subSnap != 0 && st.kind != kindQuote {
			bufs, from = s.appendFirst(c, e, st, bufs, from, now)
		}
		e.bits &^= subPending
		return bufs, from, false, 0
	}
	o := origin{sub: i, prev: e.sent, ts: u.ts}
	if rl != nil && rl.rates[i].period != 0 {
		r := &rl.rates[i]
		if w := r.wait(clk); w > 0 {
			return bufs, from, true, now + int64(w)*int64(clockUnit)
		}
		o.rated, o.prevDue = true, r.due
		r.wrote(clk)
	}
	e.bits &^= subPending
	if e.bits&subSnap == 0 && u.owesReset(e.sent) {
		// The seq space restarted since the last write: a reset,
		// then a snapshot.
		r := o
		r.reset = true
		bufs = append(bufs, u.epoch.reset)
		from = append(from, r)
		e.bits |= subSnap
	}
	switch st.kind {
	case kindCandles:
		bufs, from = s.appendCandles(c, e, st, u, o, bufs, from)
		return bufs, from, false, 0
	case kindBook:
		bufs, from = s.appendBook(c, e, st, u, o, now-int64(s.h.cfg.MaxReplayAge), bufs, from)
		return bufs, from, false, 0
	}
	if e.bits&subSnap != 0 {
		bufs = append(bufs, s.h.zframe(c, &u.zsnap, u.snap))
		e.bits &^= subSnap
		o.snap = true
	} else if d := u.ver - e.sent; d == 1 {
		bufs = append(bufs, s.h.zframe(c, &u.ztick, u.tick))
	} else if !o.rated && d <= ringSize && f.appendRecent(s.h, c, &bufs, &from, o, u, now-int64(s.h.cfg.MaxReplayAge)) {
		e.sent = u.ver
		return bufs, from, false, 0
	} else {
		// Behind, or rate-limited: the latest value wins and the
		// client sees the seq jump.
		bufs = append(bufs, s.h.zframe(c, &u.ztick, u.tick))
		o.skipped = d - 1
	}
	e.sent = u.ver
	return bufs, append(from, o), false, 0
}

// earliest returns the earlier of two due times (Unix ns; 0: none).
func earliest(a, b int64) int64 {
	if a == 0 || b != 0 && b < a {
		return b
	}
	return a
}

// appendFirst appends the first message of e, c's subscription to st, a
// candles or book stream that has had no update yet: the (empty) candle
// history, or the book's snapshot if the book is valid (its depth was not
// watched before). It counts as a message of a rate-limited subscription.
func (s *shard) appendFirst(c *conn, e *subRef, st *stream, bufs [][]byte, from []origin, now int64) ([][]byte, []origin) {
	i := e.index()
	o := origin{sub: i, snap: true, ts: now}
	var frame []byte
	if st.kind == kindCandles {
		frame = s.h.candleHistory(c, st)
	} else {
		f, seq, ok := s.h.bookSnapshot(c, st)
		if !ok {
			return bufs, from // a snapshot once the book is valid
		}
		o.ext, o.pseq = true, c.x.ext[i].seq
		frame, c.x.ext[i].seq = f, seq
		s.h.stats.bookSnapshots.Add(1)
	}
	e.bits &^= subSnap
	if rl := c.rates(); rl != nil && rl.rates[i].period != 0 {
		o.rated, o.prevDue = true, rl.rates[i].due
		rl.rates[i].wrote(clockAt(now))
	}
	return append(bufs, frame), append(from, o)
}

// appendRecent appends the tick frames (for c: see Hub.zframe) of the
// updates after o.prev up to and including u, in order, with their
// origins (o, for each), if the ring still holds all of them and the
// first was accepted after oldest (Unix ns).
func (f *fanout) appendRecent(h *Hub, c *conn, bufs *[][]byte, from *[]origin, o origin, u *update, oldest int64) bool {
	var got [ringSize]*update
	n := 0
	for v := o.prev + 1; v != u.ver; v++ {
		p := f.ring[v%ringSize].Load()
		if p == nil || p.ver != v || n == 0 && p.at < oldest {
			return false // overwritten already, or owed for too long
		}
		got[n] = p
		n++
	}
	got[n] = u
	for _, p := range got[:n+1] {
		*bufs = append(*bufs, h.zframe(c, &p.ztick, p.tick))
		o.ts = p.ts
		*from = append(*from, o)
		o.prev = p.ver
	}
	return true
}

// reuse keeps bufs, collect's result, as scratch for the next write. Only
// the part used is cleared, so frames are not kept alive by it.
func (w *writer) reuse(bufs [][]byte) {
	clear(bufs)
	w.bufs = bufs[:0]
}

// serverFrame returns a new slice holding payload as one final, unmasked
// frame of opcode op.
func serverFrame(op wsframe.OpCode, payload []byte) []byte {
	b := make([]byte, 0, wsframe.MaxServerHeaderLen+len(payload))
	return wsframe.AppendFrame(b, wsframe.Header{Fin: true, Op: op}, payload)
}

// textFrame returns a new slice holding payload as one final text frame.
func textFrame(payload []byte) []byte { return serverFrame(wsframe.OpText, payload) }

// appendTextHeader appends the header of a final text frame of n bytes.
func appendTextHeader(dst []byte, n int) []byte {
	return wsframe.AppendHeader(dst, wsframe.Header{Fin: true, Op: wsframe.OpText, Length: int64(n)})
}

// closeFrame returns a close frame with the given code and reason (cut to
// fit). A zero code gives a close frame with no body.
func closeFrame(code wsframe.StatusCode, reason string) []byte {
	if code == 0 {
		return serverFrame(wsframe.OpClose, nil)
	}
	return serverFrame(wsframe.OpClose, wsframe.AppendCloseBody(nil, code, wsframe.TrimReason(reason)))
}

// isPong reports whether frame is a pong frame.
func isPong(frame []byte) bool { return len(frame) > 0 && frame[0] == 0x80|wsframe.OpPong }

// isOwn reports whether frame, a server frame, is one the server sends of
// its own accord (conn.push): a ping, a close frame or a "delisted"
// notice (Hub.Delist makes them).
func isOwn(frame []byte) bool {
	if len(frame) < 2 {
		return false
	}
	switch frame[0] {
	case 0x80 | wsframe.OpPing, 0x80 | wsframe.OpClose:
		return true
	case 0x80 | wsframe.OpText:
	default:
		return false
	}
	hdr := 2
	if frame[1] == 126 {
		hdr = 4
	}
	return len(frame) > hdr && bytes.HasPrefix(frame[hdr:], noticePrefix)
}

var noticePrefix = []byte(`{"type":"delisted"`)

// pingFrame is sent to every connection each PingInterval; it is shared
// and never modified.
var pingFrame = serverFrame(wsframe.OpPing, nil)
