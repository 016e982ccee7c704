package hub

import (
	"strconv"
	"strings"
	"time"

	"github.com/tickerd/tickerd/internal/wsframe"
	"github.com/tickerd/tickerd/protocol"
)

// This file is the shard side of subscriptions; everything here runs on
// the shard goroutine that owns the connection.
//
// A subscription is in two lists: the connection's subs, and its stream's
// fan-out list for this shard (fanShard.subs, a subRef per subscriber).
// Each side holds the other's index, so both unlink in O(1). A
// subscription whose stream has something the connection was not sent is
// marked pending (subPending) and, on a connection with more than
// walkSubs subscriptions, on its pending list as well, which is what
// collect walks: the cost of a write follows what changed, not how many
// subscriptions the connection holds.

// subscribe subscribes c to set and replies with id: "subscribed" with the
// names subscribed (or already so), then errors for the names not listed
// and those over MaxSymbolsPerConn. rate is the request's max_rate (0:
// none); it applies to the symbols c had already as well, so a subscribe
// that names them again changes their rate live. Trades ignore it (a
// tape is never merged). since, for trades, resumes the symbols it names
// after the seqs it gives, subscribed already or not. A book subscribe
// replaces the connection's subscription to another depth of the symbol;
// one to the same depth sends a fresh snapshot.
func (s *shard) subscribe(c *conn, id []byte, set symbolSet, rate float64, since map[string]uint64) {
	if set.ps.Channel == protocol.ChannelTrades {
		rate = 0
	}
	period := max(periodOf(rate), s.h.floor)
	if set.ps.Channel == protocol.ChannelTrades {
		period = 0
	}
	if period != 0 && c.rates() == nil {
		c.more().rl = &rateLimits{rates: make([]subRate, len(c.subs), cap(c.subs))}
	}
	clk := clockAt(time.Now().UnixNano())
	s.markSubs(c) // so the request is checked in O(its length)
	names := set.names[:0:0]
	unknown := set.unknown
	var over []string
	var resets [][]byte // trades: "since" from another seq space
	limit := s.h.cfg.MaxSymbolsPerConn
	if need := min(len(c.subs)+len(set.streams), limit); cap(c.subs) < need {
		// Grow once, to the size asked for: no slack per connection.
		c.subs = append(make([]sub, 0, need), c.subs...)
		if rl := c.rates(); rl != nil {
			rl.rates = append(make([]subRate, 0, need), rl.rates...)
		}
		if c.exts() != nil {
			c.x.ext = append(make([]subExt, 0, need), c.x.ext...)
		}
	}
	for k, st := range set.streams {
		if st.kind == kindBook {
			s.dropOtherDepth(c, st)
		}
		seq, resume := since[set.names[k]]
		switch i := s.markOf(st); {
		case i != 0:
			names = append(names, set.names[k]) // already subscribed
			if rl := c.rates(); rl != nil {
				rl.rates[i-1].setPeriod(period, clk)
				s.markDirty(c) // a pending subscription may be due sooner
			}
			switch {
			case st.kind == kindBook:
				s.ref(&c.subs[i-1]).bits |= subSnap // the same depth again: a fresh snapshot
				s.pend(c, uint32(i-1))
			case st.kind == kindTrades && resume:
				if r := s.startTrades(c, uint32(i-1), seq, true); r != nil {
					resets = append(resets, r)
				}
			}
		case st.sym.delisted.Load():
			unknown = append(unknown, set.names[k]) // delisted since the reader looked
		case len(c.subs) >= limit:
			over = append(over, set.names[k])
		default:
			if period != 0 && c.rates() == nil { // ended with the last subscription (a book of another depth)
				c.more().rl = &rateLimits{rates: make([]subRate, len(c.subs), cap(c.subs))}
			}
			if rl := c.rates(); rl != nil {
				rl.rates = append(rl.rates, subRate{period: period, due: clk})
			}
			s.link(c, st)
			st.fan.Load().shards[s.id].mark = int32(len(c.subs))
			names = append(names, set.names[k])
			if st.kind == kindTrades {
				if r := s.startTrades(c, uint32(len(c.subs)-1), seq, resume); r != nil {
					resets = append(resets, r)
				}
			}
		}
	}
	s.clearMarks(c)
	if len(names) > 0 {
		s.reply(c, textFrame(protocol.AppendSubscribed(nil, id, set.ps, names)))
	}
	for _, r := range resets {
		s.reply(c, r)
	}
	if len(unknown) > 0 {
		s.h.stats.errors[codeIndex(protocol.CodeUnknownSymbol)].Add(1)
		s.reply(c, errorFrame(id, protocol.CodeUnknownSymbol, "unknown symbol: ", unknown))
	}
	if len(over) > 0 {
		s.h.stats.errors[codeIndex(protocol.CodeTooManySymbols)].Add(1)
		s.reply(c, errorFrame(id, protocol.CodeTooManySymbols, "subscription limit reached, not subscribed: ", over))
	}
}

// unsubscribe ends c's subscriptions to set and replies with id.
func (s *shard) unsubscribe(c *conn, id []byte, set symbolSet) {
	s.markSubs(c)
	for _, st := range set.streams {
		if st.kind == kindBook {
			s.dropOtherDepth(c, st) // an unsubscribe names no depth: any goes
		}
		s.unlinkMarked(c, st)
	}
	s.clearMarks(c)
	s.reply(c, textFrame(protocol.AppendUnsubscribed(nil, id, set.ps, set.names)))
	if len(set.unknown) > 0 {
		s.h.stats.errors[codeIndex(protocol.CodeUnknownSymbol)].Add(1)
		s.reply(c, errorFrame(id, protocol.CodeUnknownSymbol, "unknown symbol: ", set.unknown))
	}
}

// unlinkMarked ends c's subscription to st, if it has one, keeping the
// marks (see markSubs) right.
func (s *shard) unlinkMarked(c *conn, st *stream) {
	i := s.markOf(st)
	if i == 0 {
		return
	}
	st.fan.Load().shards[s.id].mark = 0
	s.unlink(c, int(i-1))
	if int(i-1) < len(c.subs) { // another moved into its place
		s.fans[c.subs[i-1].slot].shards[s.id].mark = i
	}
}

// dropOtherDepth ends c's subscription to another depth of st's book
// than st's, if it has one: one book subscription per (connection,
// symbol). Marks must be set (markSubs).
func (s *shard) dropOtherDepth(c *conn, st *stream) {
	bs := &st.sym.chans.Load().book
	for d := range bs.depths {
		if other := &bs.depths[d]; other != st {
			s.unlinkMarked(c, other)
		}
	}
}

// markSubs marks each stream c is subscribed to with the subscription's
// index+1, in the shard's own entry of its fanout.
func (s *shard) markSubs(c *conn) {
	for i := range c.subs {
		s.fans[c.subs[i].slot].shards[s.id].mark = int32(i) + 1
	}
}

// markOf returns st's mark (see markSubs): 0 if the connection at hand is
// not subscribed to it.
func (s *shard) markOf(st *stream) int32 {
	if f := st.fan.Load(); f != nil {
		return f.shards[s.id].mark
	}
	return 0
}

func (s *shard) clearMarks(c *conn) {
	for i := range c.subs {
		s.fans[c.subs[i].slot].shards[s.id].mark = 0
	}
}

// reauth applies a fresh token: it queues the "authenticated" reply
// (m.frame, charged by the reader), ends every subscription the new
// identity does not allow and tells the client which, with an
// "unsubscribed" reply and a forbidden_symbol error, both with the auth
// request's id.
func (s *shard) reauth(c *conn, m *reauthCmd) {
	defer func() {
		// Allows is the application's: a bug in it must not take the
		// shard down, only this connection.
		if v := recover(); v != nil {
			s.h.log.Error("Identity.Allows panicked: closing the connection", "panic", v)
			s.startClose(c, wsframe.StatusInternalServerError, "internal error", reasonError)
		}
	}()
	s.queue(c, m.frame, nil)
	var ended []string
	for i := len(c.subs) - 1; i >= 0; i-- { // unlink moves a checked entry into i
		if name := s.stream(&c.subs[i]).sym.name; !m.ident.Allows(name) {
			ended = append(ended, name)
			s.unlink(c, i)
		}
	}
	if len(ended) == 0 {
		return
	}
	s.reply(c, textFrame(protocol.AppendUnsubscribed(nil, m.id, protocol.Stream{}, ended)))
	s.h.stats.errors[codeIndex(protocol.CodeForbiddenSymbol)].Add(1)
	s.reply(c, errorFrame(m.id, protocol.CodeForbiddenSymbol, "the new token does not allow: ", ended))
}

// delistCmd ends every subscription to syms, which Delist removed from
// the universe, telling each subscriber with a {"type":"delisted",...}
// notice of time ts. A shard makes a symbol's notice when it finds a
// subscriber to tell, once for all of them: most symbols delisted have
// none, and cost no notice.
type delistCmd struct {
	syms []*symbol
	ts   int64 // Unix ns
}

// delistChunk bounds the subscriptions one delistCmd.apply ends: past it,
// the symbols left go back to the end of the shard's inbox, and the shard
// writes its connections before it takes them up. Delisting an option
// expiry ends tens of thousands of subscriptions (61,000 in the bench's
// universe run); in one piece that held every quote of the shard back for
// all of it. A symbol's subscribers on the shard are ended together, so a chunk can
// exceed it by one symbol's subscribers. No data can follow a notice
// meanwhile: Delist marked the symbols delisted first, so no update of
// theirs is taken and no new subscription made.
const delistChunk = 2048

func (m *delistCmd) apply(s *shard, _ *conn) {
	var streams []*stream
	ended := 0
	for i, sym := range m.syms {
		if ended >= delistChunk {
			s.post(nil, &delistCmd{syms: m.syms[i:], ts: m.ts})
			return
		}
		streams = sym.streams(streams[:0])
		var notice []byte // made for the first subscriber
		for _, st := range streams {
			f := st.fan.Load()
			if f == nil {
				continue
			}
			fs := &f.shards[s.id]
			for len(fs.subs) > 0 {
				r := fs.subs[len(fs.subs)-1]
				c := s.all[r.ci]
				// Uncharged: at most one per connection and symbol, and
				// the client must learn that its subscriptions ended.
				if notice == nil {
					notice = textFrame(protocol.AppendDelisted(nil, sym.name, m.ts))
				}
				if !c.delisted(notice) {
					c.push(notice)
				}
				s.markDirty(c)
				s.unlink(c, int(r.index()))
				ended++
			}
		}
	}
}

// delisted reports whether frame, a "delisted" notice, is the last
// control frame queued for c: a connection subscribed to several of a
// symbol's channels is told once.
func (c *conn) delisted(frame []byte) bool {
	return len(c.ctrl) > 0 && &c.ctrl[len(c.ctrl)-1][0] == &frame[0]
}

// link subscribes c to st; the first write for it is a snapshot. If c has
// rate limits, the caller has appended the subscription's rate.
func (s *shard) link(c *conn, st *stream) {
	fs := s.fanShard(st)
	idx := uint32(len(c.subs))
	if c.exts() == nil && st.kind != kindQuote {
		c.more().ext = make([]subExt, len(c.subs), cap(c.subs))
	}
	c.subs = append(c.subs, sub{slot: fs.slot, pos: uint32(len(fs.subs))})
	fs.subs = append(fs.subs, subRef{ci: uint32(c.idx), bits: idx | subSnap})
	if len(c.subs) == walkSubs+1 {
		s.relist(c)
	}
	if c.exts() != nil {
		c.x.ext = append(c.x.ext, subExt{})
	}
	if len(fs.subs) == 1 {
		// Stored before latest (or a tape's last) is loaded: a publisher
		// that stores its update after this load sees active and
		// notifies the shard (see Hub.publishQuote).
		fs.active.Store(true)
	}
	if st.latest.Load() != nil || st.kind == kindCandles || st.kind == kindBook {
		// A candles subscriber gets the history at once, if empty; a
		// book subscriber the snapshot, if its depth had no update yet.
		s.pend(c, idx)
	}
	s.stats.subs.Add(1)
}

// fanShard returns the shard's entry of st's fanout, joining (or making)
// the fanout if the shard has no subscriber of st yet.
func (s *shard) fanShard(st *stream) *fanShard {
	if f := st.fan.Load(); f != nil && len(f.shards[s.id].subs) > 0 {
		return &f.shards[s.id] // the shard is a watcher: f is alive
	}
	f := st.join(s, s.h.cfg.OnWatch)
	s.takeSlot(f)
	return &f.shards[s.id]
}

// unlink removes c.subs[i], swapping the last entries into the holes on
// both sides, and keeps the pending lists right: the connection whose
// stream-list entry moves into c's while pending gets a pending entry for
// its new place (the one for its old place is left to be skipped).
func (s *shard) unlink(c *conn, i int) {
	e := c.subs[i]
	f := s.fans[e.slot] // alive: c is one of its subscribers
	fs := &f.shards[s.id]
	pos := e.pos
	last := len(fs.subs) - 1
	if int(pos) != last {
		moved := fs.subs[last]
		fs.subs[pos] = moved
		m := s.all[moved.ci]
		m.subs[moved.index()].pos = pos
		if moved.bits&subPending != 0 && m.listed() {
			m.pending = append(m.pending, pendRef{fs.slot, pos})
			if len(m.pending) > 2*len(m.subs)+8 {
				s.compactPending(m)
			}
		}
	}
	fs.subs[last] = subRef{}
	fs.subs = fs.subs[:last]
	if last == 0 {
		fs.subs = nil
		fs.active.Store(false)
		s.dropSlot(f)
		f.leave(s.h.cfg.OnWatch)
	}

	lastSub := len(c.subs) - 1
	if rl := c.rates(); rl != nil {
		rl.rates[i] = rl.rates[lastSub]
		rl.rates = rl.rates[:lastSub]
	}
	if ext := c.exts(); ext != nil {
		ext[i] = ext[lastSub]
		c.x.ext = ext[:lastSub]
	}
	if i != lastSub {
		moved := c.subs[lastSub]
		c.subs[i] = moved
		s.ref(&moved).setIndex(uint32(i))
	}
	c.subs[lastSub] = sub{}
	c.subs = c.subs[:lastSub]
	if len(c.subs) == 0 {
		c.subs, c.pending = nil, nil
		if c.x != nil {
			if c.x.rl != nil {
				s.timers.remove(c)
			}
			c.x.rl, c.x.ext = nil, nil
		}
	} else if len(c.subs) == walkSubs {
		s.relist(c)
	} else if len(c.pending) > 2*len(c.subs)+8 {
		s.compactPending(c)
	}
	s.stats.subs.Add(-1)
}

func (s *shard) unlinkAll(c *conn) {
	for len(c.subs) > 0 {
		s.unlink(c, len(c.subs)-1)
	}
}

// compactPending drops the entries of c.pending that point at no pending
// subscription, or at one another entry points at already. unlink leaves
// such entries behind; collect skips them, but a connection that does not
// collect (its socket is full) while it unsubscribes must not grow the
// list without bound.
func (s *shard) compactPending(c *conn) {
	kept := c.pending[:0]
	for _, p := range c.pending {
		if r, _ := s.at(c, p); r != nil {
			r.bits |= subSeen
			kept = append(kept, p)
		}
	}
	for _, p := range kept {
		s.fans[p.slot].shards[s.id].subs[p.pos].bits &^= subSeen
	}
	clear(c.pending[len(kept):])
	c.pending = kept
}

// maxEcho is how many of the names an error is about it echoes: a client
// that names a thousand unknown symbols gets the first few and a count,
// not its request back.
const maxEcho = 16

// errorFrame returns an error reply about names: the message is prefix
// followed by the first maxEcho names and how many more there are, and the
// "symbols" array holds those first names.
func errorFrame(id []byte, code protocol.Code, prefix string, names []string) []byte {
	shown := names[:min(len(names), maxEcho)]
	msg := prefix + strings.Join(shown, ", ")
	if more := len(names) - len(shown); more > 0 {
		msg += " and " + strconv.Itoa(more) + " more"
	}
	return textFrame(protocol.AppendError(nil, id, code, msg, shown))
}
