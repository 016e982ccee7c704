package hub

import "github.com/tickerd/tickerd/protocol"

// This file is the shard side of the trade channel: a subscription's
// cursor in its symbol's tape (tape.go). Everything here runs on the
// shard goroutine that owns the connection.
//
// A trades subscription is sent every entry of the tape after its
// cursor, in order, at most tradeBatch entries or tradeBatchBytes per
// write (it stays pending for the rest, and its connection is written
// again in the same pass while its socket takes everything). Before an
// entry whose first seq is not the one after the last the client got, it
// gets a "gap" message naming exactly the seqs in between; before the
// first entry of a later epoch, a "reset". That covers every way of
// falling behind: the history no longer holds the cursor's next entry, or
// the subscription is owed more than Config.TradeLag bytes (it skips to
// the newest TradeLag/2), or a "since" from before the history.

// Per-write bounds of one trades subscription.
const (
	tradeBatch      = 256
	tradeBatchBytes = 32 << 10
)

// startTrades positions c.subs[i], a trades subscription, at the live end
// of its tape; with resume, after seq since instead: the entries from
// there to the live end go as replays ("replay":true), after a gap
// message if the history does not reach back that far. A since above the
// tape's last seq (the server's seq space is not the one the client
// knew) gets a reset message and then live trades: startTrades returns
// that message, for the caller to queue after its reply.
func (s *shard) startTrades(c *conn, i uint32, since uint64, resume bool) (reset []byte) {
	e, x := s.ref(&c.subs[i]), &c.x.ext[i]
	sym := s.stream(&c.subs[i]).sym
	tp := &sym.chans.Load().tape
	last := tp.last.Load()
	lp := tp.entry(last)
	e.sent = last
	if lp == nil {
		*x = subExt{fresh: true}
	} else {
		*x = subExt{seq: lp.seq, epoch: lp.epoch}
	}
	if !resume {
		return nil
	}
	if lp == nil || since > lp.seq {
		var epoch uint64
		if lp != nil {
			epoch = lp.epoch
		}
		return textFrame(protocol.AppendReset(nil, protocol.ChannelTrades, sym.name, epoch))
	}
	if since == lp.seq {
		return nil
	}
	// The first entry of the current epoch that covers a seq after since.
	first := tp.first.Load()
	lo, hi := uint32(0), last-first // offsets from first; hi's entry qualifies
	for lo < hi {
		mid := lo + (hi-lo)/2
		p := tp.entry(first + mid)
		if p != nil && p.epoch == lp.epoch && p.seq > since {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	w := first + lo
	if p := tp.entry(w); p != nil && p.kind == entryReset && w != last {
		w = nextVer(w) // the client is in this epoch already
	}
	e.sent = w - 1
	*x = subExt{seq: since, epoch: lp.epoch, until: last}
	s.pend(c, i)
	return nil
}

// collectTrades appends to bufs (and from) what e, c's subscription to
// st, a trades stream, is owed: a batch of its tape's entries after its cursor,
// with the gap and reset messages it needs. It reports whether more
// remain after the batch.
func (s *shard) collectTrades(c *conn, e *subRef, st *stream, bufs [][]byte, from []origin) ([][]byte, []origin, bool) {
	i := e.index()
	x := &c.x.ext[i]
	sym := st.sym
	tp := &sym.chans.Load().tape
	last := tp.last.Load()
	if e.sent == last {
		return bufs, from, false
	}
	v := nextVer(e.sent)
	if first := tp.first.Load(); before(v, first) {
		v = first // past the history: the gap rule below names what it missed
	} else if lp, p := tp.entry(last), tp.entry(v); lp != nil && p != nil {
		if owed := lp.off - (p.off - uint64(len(p.frame))); owed > uint64(s.h.cfg.TradeLag) {
			v = tp.seek(v, last, lp.off-uint64(s.h.cfg.TradeLag/2))
		}
	}
	n, size := 0, 0
	for {
		if n == tradeBatch || size >= tradeBatchBytes {
			return bufs, from, true
		}
		p := tp.entry(v)
		if p == nil {
			// Evicted since first was loaded: start again from the
			// oldest kept (the gap rule covers the rest).
			first := tp.first.Load()
			if !before(v, first) {
				return bufs, from, false // cannot happen: v <= last
			}
			v = first
			continue
		}
		o := origin{sub: i, prev: e.sent, ts: p.ts, ext: true, pseq: x.seq, pepoch: x.epoch, puntil: x.until, pfresh: x.fresh}
		if x.fresh {
			// Subscribed to an empty tape: its position was before the
			// epoch's first trade.
			x.epoch, x.seq, x.fresh = p.epoch, p.efirst-1, false
		}
		if p.kind != entryReset {
			if p.epoch != x.epoch {
				o.reset = true
				bufs = append(bufs, s.h.personal(c, textFrame(protocol.AppendReset(nil, protocol.ChannelTrades, sym.name, p.epoch))))
				from = append(from, o)
				x.epoch, x.seq = p.epoch, p.efirst-1
				o.pepoch, o.pseq = x.epoch, x.seq
			}
			if p.from > x.seq+1 {
				o.reset = true // a control message: not counted as data
				bufs = append(bufs, s.h.personal(c, textFrame(protocol.AppendGap(nil, protocol.ChannelTrades, sym.name, x.seq+1, p.from-1))))
				from = append(from, o)
				s.h.stats.gapsSent.Add(1)
				x.seq = p.from - 1
				o.pseq, o.reset = x.seq, false
			}
		}
		frame := p.frame
		if x.until != 0 && before(x.until, v) {
			x.until = 0
		}
		if x.until != 0 {
			frame = s.h.zframe(c, &p.zreplay, p.replayFrame())
			o.replay = true
		} else {
			frame = s.h.zframe(c, &p.z, frame)
		}
		o.reset = p.kind != entryTrade
		bufs = append(bufs, frame)
		from = append(from, o)
		e.sent, x.seq, x.epoch, x.fresh = v, p.seq, p.epoch, false
		n++
		size += len(frame)
		if v == last {
			if x.until == last {
				x.until = 0
			}
			return bufs, from, false
		}
		v = nextVer(v)
	}
}

// seek returns the oldest ver from v to last whose entry ends at or after
// byte offset off of the tape (last, if none does).
func (tp *tape) seek(v, last uint32, off uint64) uint32 {
	lo, hi := uint32(0), last-v
	for lo < hi {
		mid := lo + (hi-lo)/2
		if p := tp.entry(v + mid); p != nil && p.off >= off {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return v + lo
}
