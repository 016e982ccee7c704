package hub

import (
	"sync"
	"sync/atomic"
	"time"
)

// shard owns a fixed subset of the connections: their subscriptions, their
// outgoing queues and their sockets' lifetime. Its goroutine (run) is the
// only one that touches what is marked "owned by run"; other goroutines
// reach it through its inbox, which post, notify and wakeWritable fill under
// the inbox mutex, so the publish path takes no lock but that one.
type shard struct {
	h  *Hub
	id int

	mu sync.Mutex // guards the inbox
	// The inbox, guarded by mu. Commands are applied in order; the other
	// two lists are sets (a stream or a connection is in them once).
	cmds     []envelope  // commands from readers, HTTP, TLS writers, Drain, Delist
	notified []*fanout   // streams with a new update since the last pass (notify)
	writable []*conn     // connections whose socket has room again (poller)
	full     atomic.Bool // the inbox is not empty: flush looks at it between writes
	wake     chan struct{}
	stopped  bool // guarded by mu: run has returned; post releases new connections itself

	stats shardStats
	n     counts // owned by run: added to stats after each pass

	// Owned by run; so are the shard's entries of every fanout
	// (fanShard.subs, mark).
	all      []*conn // every connection of the shard
	dirty    []*conn // connections with something to write
	dirtyBuf []*conn // flush's other dirty list
	blocked  []*conn // connections waiting for EPOLLOUT (may hold stale entries)
	closing  []*conn // connections waiting for the client's close frame
	w        writer
	cmdBuf   []envelope
	notBuf   []*fanout
	wrBuf    []*conn
	asked    []*conn // applyInbox's: connections a command was applied to
	timers   timers  // connections waiting for a rate-limited subscription (rate.go)
	// fans holds the fanouts the shard has subscribers of, each at its
	// fanShard.slot, so a pending entry names one in 4 bytes; free
	// holds the slots not in use (nil in fans).
	fans     []*fanout
	free     []uint32
	lastPing time.Time
	drain    *drainPlan // non-nil while draining
}

func newShard(h *Hub, id int) *shard {
	return &shard{
		h:      h,
		id:     id,
		wake:   make(chan struct{}, 1),
		timers: newTimers(),
	}
}

// post queues a command about c (nil for none) for the shard goroutine.
// It never blocks. Any goroutine may call it.
func (s *shard) post(c *conn, m command) {
	if c != nil {
		c.cmds.Add(1)
	}
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		if _, ok := m.(*openCmd); ok {
			s.h.dropNew(c)
		}
		return
	}
	s.cmds = append(s.cmds, envelope{c, m})
	s.full.Store(true)
	s.mu.Unlock()
	s.signal()
}

// stop marks the shard stopped and releases the connections whose open
// command it never applied: upgraded while the hub was closing. Only run
// calls it, on its way out.
func (s *shard) stop() {
	s.mu.Lock()
	s.stopped = true
	cmds := s.cmds
	s.cmds = nil
	s.mu.Unlock()
	for _, e := range cmds {
		if _, ok := e.cmd.(*openCmd); ok {
			s.h.dropNew(e.c)
		}
	}
}

// notify tells the shard that f's stream has a new update. It never
// blocks, and a stream already queued is not queued again, so a burst of
// updates of one stream costs the shard one pass over its subscribers.
// Publishers call it.
func (s *shard) notify(f *fanout) {
	if !f.shards[s.id].queued.CompareAndSwap(false, true) {
		return
	}
	s.mu.Lock()
	s.notified = append(s.notified, f)
	s.full.Store(true)
	s.mu.Unlock()
	s.signal()
}

// wakeWritable tells the shard that c's socket can take data again. The
// poller calls it, once per EPOLLOUT of a blocked connection (c.woken).
func (s *shard) wakeWritable(c *conn) {
	s.mu.Lock()
	s.writable = append(s.writable, c)
	s.full.Store(true)
	s.mu.Unlock()
	s.signal()
}

// waiting reports whether the shard has work in its inbox it has not
// taken yet: it wants to run. (wake's length cannot say so: a send to a
// goroutine waiting in receive leaves the buffer empty.) Any goroutine;
// readers ask it only after a slice of bulk requests (readSlice).
func (s *shard) waiting() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.cmds) > 0 || len(s.notified) > 0 || len(s.writable) > 0
}

func (s *shard) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// run is the shard goroutine. It returns when done is closed, after closing
// every connection it owns.
func (s *shard) run(done <-chan struct{}) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var drainTick *time.Ticker
	var drainC <-chan time.Time
	defer s.timers.timer.Stop()
	for {
		select {
		case <-s.wake:
		case now := <-s.timers.timer.C:
			s.timers.armed = 0
			s.timers.due(now.UnixNano(), s.markDirty)
		case now := <-tick.C:
			s.housekeep(now)
		case now := <-drainC:
			if s.drainStep(now) {
				drainTick.Stop()
				drainC = nil
			}
		case <-done:
			s.stop()
			s.closeAll()
			return
		}
		s.pass()
		s.timers.arm()
		if s.drain != nil && drainC == nil && s.drain.done < len(s.drain.order) {
			drainTick = time.NewTicker(10 * time.Millisecond)
			drainC = drainTick.C
			s.drainStep(time.Now())
		}
	}
}

// pass applies the inbox, then writes to every dirty connection. Updates
// that arrive while it writes are taken on the next pass, and each write
// takes the latest update of each symbol, so a busy shard merges updates
// instead of queueing them.
func (s *shard) pass() {
	for s.applyInbox() || len(s.dirty) > 0 {
		s.flush()
		// Add now: a saturated shard may loop here for as long as
		// updates keep coming, and its counters must not freeze.
		s.n.addTo(&s.stats)
	}
}

// applyInbox takes the inbox and applies it: commands, writable sockets,
// then notified streams, whose subscribers go on their connections'
// pending lists. Then it writes the connections the commands were for:
// what a request asked for (a reply, a snapshot, a resumed tape) goes out
// now, ahead of the pass's fan-out, instead of after every connection the
// pass has yet to write (at 10,000 connections that is tens of
// milliseconds, and a connection dirtied mid-pass waits for the next
// pass). It reports false if the inbox was empty.
func (s *shard) applyInbox() bool {
	s.mu.Lock()
	cmds, notified, writable := s.cmds, s.notified, s.writable
	s.cmds, s.notified, s.writable = s.cmdBuf[:0], s.notBuf[:0], s.wrBuf[:0]
	s.full.Store(false)
	s.mu.Unlock()
	empty := len(cmds) == 0 && len(notified) == 0 && len(writable) == 0
	for i := range cmds {
		e := &cmds[i]
		if e.c != nil {
			e.c.cmds.Add(-1)
		}
		e.cmd.apply(s, e.c)
		if e.c != nil && e.c.dirty {
			s.asked = append(s.asked, e.c)
		}
		*e = envelope{}
	}
	for i, c := range writable {
		writable[i] = nil
		s.writable1(c)
	}
	s.pendAll(notified)
	s.cmdBuf, s.notBuf, s.wrBuf = cmds[:0], notified[:0], writable[:0]
	for i, c := range s.asked {
		s.asked[i] = nil
		// Still on a dirty list (c.dirty stays set): written again when
		// flush reaches it, which finds only what came meanwhile.
		if c.state != stateClosed && !c.blocked.Load() {
			s.write(c)
		}
	}
	s.asked = s.asked[:0]
	return !empty
}

// pendAll puts the subscribers of the notified streams on their
// connections' pending lists, and clears notified.
func (s *shard) pendAll(notified []*fanout) {
	for i, f := range notified {
		notified[i] = nil
		fs := &f.shards[s.id]
		fs.queued.Store(false)
		for j := range fs.subs {
			r := &fs.subs[j]
			c := s.all[r.ci]
			c.onPending(r, pendRef{fs.slot, uint32(j)})
			s.markDirty(c)
		}
	}
}

// pend puts c.subs[i] on c's pending list, once, and c on the shard's
// dirty list: its stream has something c has not been sent.
func (s *shard) pend(c *conn, i uint32) {
	e := &c.subs[i]
	c.onPending(s.ref(e), pendRef{e.slot, e.pos})
	s.markDirty(c)
}

// onPending marks r, c's subscription's entry at p, pending, and puts it
// on c's pending list if c keeps one (c.listed) and it is not there
// already. Shard only.
func (c *conn) onPending(r *subRef, p pendRef) {
	if r.bits&subPending == 0 {
		r.bits |= subPending
		if c.listed() {
			c.pending = append(c.pending, p)
		}
	}
}

// walkSubs is how many subscriptions a connection may have and keep no
// pending list: collect walks all of them for the ones marked pending. A
// walk of a few is as cheap as a list (a market client's ten cost one
// lookup each, and an update owed to most of them anyway) and saves the
// list: its append per update, and up to 128 B a connection. Past it, the
// list keeps a write's cost to what changed.
const walkSubs = 16

// listed reports whether c keeps a pending list: every subscription of c
// marked pending then has an entry in c.pending. Otherwise c.pending is
// nil and collect walks c.subs. Shard only.
func (c *conn) listed() bool { return len(c.subs) > walkSubs }

// relist makes c.pending right after c.subs grew or shrank past
// walkSubs: the entries of the pending subscriptions once c keeps a list,
// none once it does not. Shard only.
func (s *shard) relist(c *conn) {
	if !c.listed() {
		c.pending = nil // the marks stay: the walk finds them
		return
	}
	if c.pending != nil {
		return
	}
	c.pending = make([]pendRef, 0, len(c.subs))
	for i := range c.subs {
		e := &c.subs[i]
		if s.ref(e).bits&subPending != 0 {
			c.pending = append(c.pending, pendRef{e.slot, e.pos})
		}
	}
}

// takeSlot gives f a slot in s.fans. The shard joined f: its list for f
// was empty.
func (s *shard) takeSlot(f *fanout) {
	fs := &f.shards[s.id]
	if n := len(s.free); n > 0 {
		fs.slot = s.free[n-1]
		s.free = s.free[:n-1]
		s.fans[fs.slot] = f
		return
	}
	fs.slot = uint32(len(s.fans))
	s.fans = append(s.fans, f)
}

// dropSlot gives f's slot back: the shard's list for f is empty.
func (s *shard) dropSlot(f *fanout) {
	slot := f.shards[s.id].slot
	s.fans[slot] = nil
	s.free = append(s.free, slot)
}

func (s *shard) markDirty(c *conn) {
	if !c.dirty {
		c.dirty = true
		s.dirty = append(s.dirty, c)
	}
}

// flush writes every dirty connection once. A connection marked dirty
// while it runs (one with more of a trades batch to send, or one written
// already when a stream it watches was notified) is on the next dirty
// list. Every inboxEvery writes it applies what came to the inbox
// meanwhile (applyInbox): a connection not written yet in this pass then
// sends the updates of streams notified since, and the replies and
// replays of requests made since, in this pass, instead of one pass later
// (at 10,000 connections a pass can take tens of milliseconds).
func (s *shard) flush() {
	dirty := s.dirty
	s.dirty = s.dirtyBuf[:0]
	for i, c := range dirty {
		dirty[i] = nil
		c.dirty = false
		if c.state != stateClosed && !c.blocked.Load() {
			s.write(c) // a blocked one is written when EPOLLOUT comes (backlog.go)
		}
		if i%inboxEvery == inboxEvery-1 && s.full.Load() {
			s.applyInbox()
		}
	}
	s.dirtyBuf = dirty[:0]
}

// inboxEvery is how many connections flush writes between looks at the
// inbox: a look costs an atomic load, a write about a microsecond.
const inboxEvery = 32

// reply queues a reply the shard makes itself (limits, subscribed, errors
// of a subscribe), charged against c's reply budget.
func (s *shard) reply(c *conn, frame []byte) {
	frame = s.h.personal(c, frame)
	if !c.charge(len(frame), s.h.cfg.MaxPendingReplyBytes) {
		s.closeUnread(c)
		return
	}
	s.queue(c, frame, nil)
}

// queue appends a charged reply to c.ctrl, within MaxPendingReplies: a
// frame, and the rest of it in tail if it comes in pieces (see
// replyCmd; a piece counts as a reply here).
func (s *shard) queue(c *conn, frame []byte, tail [][]byte) {
	if len(c.ctrl) >= s.h.cfg.MaxPendingReplies && c.repliesQueued() >= s.h.cfg.MaxPendingReplies {
		c.replyBytes.Add(-int32(len(frame) + size(tail)))
		s.closeUnread(c)
		return
	}
	if tail == nil && isPong(frame) && s.coalescePong(c, frame) {
		return
	}
	c.ctrl = append(c.ctrl, frame)
	c.ctrl = append(c.ctrl, tail...)
	s.markDirty(c)
}

// coalescePong puts pong in place of a pong c.ctrl already holds, if any:
// RFC 6455 5.5.3 lets an endpoint answer only the most recent of the
// pings it has not answered yet, so a client never has more than one pong
// waiting here however many pings it sends.
func (s *shard) coalescePong(c *conn, pong []byte) bool {
	for i, f := range c.ctrl {
		if isPong(f) {
			c.replyBytes.Add(int32(len(pong) - len(f)))
			c.ctrl[i] = pong
			s.h.stats.pingsDropped.Add(1)
			return true
		}
	}
	return false
}

// closeUnread closes c for not reading its replies. The queued ones are
// dropped, since the client would not read them either: the close frame
// goes next.
func (s *shard) closeUnread(c *conn) {
	if c.state != stateOpen {
		return
	}
	n := 0
	for _, f := range c.ctrl {
		n += len(f)
	}
	c.replyBytes.Add(-int32(n))
	clear(c.ctrl)
	c.ctrl = c.ctrl[:0]
	c.recountOwn()
	s.startClose(c, errUnreadReplies.code, errUnreadReplies.reason, reasonReplies)
}
