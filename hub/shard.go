package hub

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tickerd/tickerd/internal/wsframe"
	"github.com/tickerd/tickerd/protocol"
)

// shard owns a fixed subset of the connections: their subscriptions, their
// outgoing queues and their sockets' lifetime. Everything below "owned by
// run" is touched only by the shard's goroutine, so the publish path takes
// no lock but the shard's own inbox mutex.
type shard struct {
	h  *Hub
	id int

	mu   sync.Mutex
	cmds []cmd    // guarded by mu
	pubs []uint32 // guarded by mu: symbols with a new update since the last pass
	wake chan struct{}
	// queued[sym] is set while sym is in pubs, so a burst of updates of
	// one symbol costs the shard one pass over its subscribers.
	queued []atomic.Bool

	stats shardStats
	n     counts // owned by run: published to stats after each pass

	// Owned by run.
	subs     [][]subRef // per symbol id: this shard's subscribers
	all      []*conn    // every connection of the shard
	dirty    []*conn    // connections with something to write
	blocked  []*conn    // connections waiting for EPOLLOUT (may hold stale entries)
	closing  []*conn    // connections waiting for the client's close frame
	w        writer
	cmdBuf   []cmd
	pubBuf   []uint32
	mark     []int32 // scratch, per symbol id: index+1 in the current conn's subs
	lastPing time.Time
	drain    *drainPlan // non-nil while draining
	// keepingUp is false while flushes take longer than lagPass, two in a
	// row (one can be a GC pause or the scheduler): then each connection
	// gets only the latest update of each symbol.
	keepingUp  bool
	slowPasses int // consecutive flushes longer than lagPass
}

// lagPass is how long a flush may take before the shard counts as behind.
const lagPass = 5 * time.Millisecond

// drainPlan closes a shard's connections with 1001 in random order, spread
// evenly over a window, so clients do not all reconnect at once.
type drainPlan struct {
	order  []*conn
	start  time.Time
	window time.Duration
	done   int
}

type cmdKind uint8

const (
	cmdOpen        cmdKind = iota + 1 // register c; subscribe syms (from ?symbols=)
	cmdSubscribe                      // subscribe c to syms, reply with id
	cmdUnsubscribe                    // unsubscribe c from syms, reply with id
	cmdReply                          // queue frame on c
	cmdClose                          // close c with code and reason
	cmdPeerClose                      // the client sent close code, or hung up
	cmdWritable                       // c's socket can take data again
	cmdShutdown                       // close every connection with 1001, spread over window
	cmdWritten                        // a TLS writer finished a batch (n bytes; failed)
	cmdReauth                         // c has a fresh token (ident): reply frame, end what it does not allow
)

type cmd struct {
	kind      cmdKind
	c         *conn
	syms      []uint32
	names     []string  // names of syms, in order, for the reply
	unknown   []string  // requested names that are not symbols
	forbidden []string  // requested names the client is not entitled to (cmdOpen)
	ident     *Identity // cmdReauth
	id        []byte    // raw request id, owned by the command
	frame     []byte
	code      wsframe.StatusCode
	reason    string
	why       closeReason
	hangup    bool          // cmdPeerClose: EOF or a read error, no close frame
	window    time.Duration // cmdShutdown
	n         int           // cmdWritten: bytes written
	failed    bool          // cmdWritten: the write failed
}

func newShard(h *Hub, id int) *shard {
	return &shard{
		h:      h,
		id:     id,
		wake:   make(chan struct{}, 1),
		queued: make([]atomic.Bool, len(h.syms)),
		subs:   make([][]subRef, len(h.syms)),
		mark:   make([]int32, len(h.syms)),

		keepingUp: true,
	}
}

// post queues a command for the shard goroutine. It never blocks.
func (s *shard) post(c cmd) {
	if c.c != nil && c.kind != cmdOpen {
		c.c.cmds.Add(1)
	}
	s.mu.Lock()
	s.cmds = append(s.cmds, c)
	s.mu.Unlock()
	s.signal()
}

// published tells the shard that sym has a new update. It never blocks, and
// a symbol already queued is not queued again.
func (s *shard) published(sym uint32) {
	if !s.queued[sym].CompareAndSwap(false, true) {
		return
	}
	s.mu.Lock()
	s.pubs = append(s.pubs, sym)
	s.mu.Unlock()
	s.signal()
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
	for {
		select {
		case <-s.wake:
		case now := <-tick.C:
			s.housekeep(now)
		case now := <-drainC:
			if s.drainStep(now) {
				drainTick.Stop()
				drainC = nil
			}
		case <-done:
			s.closeAll()
			return
		}
		s.pass()
		if s.drain != nil && drainC == nil && s.drain.done < len(s.drain.order) {
			drainTick = time.NewTicker(10 * time.Millisecond)
			drainC = drainTick.C
			s.drainStep(time.Now())
		}
	}
}

// pass applies queued commands and updates, then writes to every dirty
// connection. Updates that arrive while it writes are taken on the next
// pass, and each write takes the latest update of each symbol, so a busy
// shard merges updates instead of queueing them.
func (s *shard) pass() {
	for {
		s.mu.Lock()
		cmds, pubs := s.cmds, s.pubs
		s.cmds, s.pubs = s.cmdBuf[:0], s.pubBuf[:0]
		s.mu.Unlock()
		if len(cmds) == 0 && len(pubs) == 0 {
			s.cmdBuf, s.pubBuf = cmds, pubs
			s.flush()
			s.n.publish(&s.stats)
			return
		}
		for i := range cmds {
			s.apply(&cmds[i])
			cmds[i] = cmd{}
		}
		for _, sym := range pubs {
			s.queued[sym].Store(false)
			for _, r := range s.subs[sym] {
				s.markDirty(s.all[r.ci])
			}
		}
		s.cmdBuf, s.pubBuf = cmds, pubs
		s.flush()
		// Publish now: a saturated shard may loop here for as long as
		// updates keep coming, and its counters must not freeze.
		s.n.publish(&s.stats)
	}
}

func (s *shard) markDirty(c *conn) {
	if !c.dirty {
		c.dirty = true
		s.dirty = append(s.dirty, c)
	}
}

// flush writes every dirty connection once.
func (s *shard) flush() {
	if len(s.dirty) == 0 {
		return
	}
	start := time.Now()
	for i, c := range s.dirty {
		s.dirty[i] = nil
		c.dirty = false
		if c.state != stateClosed && len(c.out) == 0 {
			s.write(c)
		}
	}
	s.dirty = s.dirty[:0]
	s.flushed(time.Since(start))
}

// flushed notes a flush that took d: two slow ones in a row put the shard
// behind, a quick one brings it back.
func (s *shard) flushed(d time.Duration) {
	if d < lagPass {
		s.slowPasses = 0
	} else {
		s.slowPasses++
	}
	s.keepingUp = s.slowPasses < 2
}

func (s *shard) apply(m *cmd) {
	c := m.c
	if c != nil && m.kind != cmdOpen {
		c.cmds.Add(-1)
	}
	switch m.kind {
	case cmdOpen:
		s.open(c, m)
	case cmdSubscribe:
		if c.state == stateOpen {
			s.subscribe(c, m)
		}
	case cmdUnsubscribe:
		if c.state == stateOpen {
			s.unsubscribe(c, m)
		}
	case cmdReply:
		if c.state == stateOpen {
			s.queue(c, m.frame) // charged by the reader
		}
	case cmdReauth:
		if c.state == stateOpen {
			s.reauth(c, m)
		}
	case cmdClose:
		s.startClose(c, m.code, m.reason, m.why)
	case cmdPeerClose:
		s.peerClose(c, m.code, m.hangup)
	case cmdWritten:
		s.written(c, m.n, m.failed)
	case cmdWritable:
		c.woken.Store(false)
		if c.state != stateClosed && len(c.out) > 0 {
			s.write(c)
		}
	case cmdShutdown:
		if s.drain != nil {
			return
		}
		order := append([]*conn(nil), s.all...)
		rand.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		s.drain = &drainPlan{order: order, start: time.Now(), window: m.window}
		s.drainStep(s.drain.start)
	}
}

// drainStep closes the connections whose turn has come; it reports whether
// the plan is complete.
func (s *shard) drainStep(now time.Time) bool {
	d := s.drain
	due := len(d.order)
	if el := now.Sub(d.start); d.window > 0 && el < d.window {
		due = int(int64(len(d.order)) * int64(el) / int64(d.window))
	}
	for ; d.done < due; d.done++ {
		c := d.order[d.done]
		d.order[d.done] = nil
		s.startClose(c, wsframe.StatusGoingAway, "server shutting down", reasonShutdown)
	}
	return d.done == len(d.order)
}

// open registers a new connection with epoll and subscribes it to the
// symbols of its URL.
func (s *shard) open(c *conn, m *cmd) {
	c.idx = int32(len(s.all))
	s.all = append(s.all, c)
	c.lastIn.Store(time.Now().Unix())
	// Read before the poller can hand c to a reader, which owns c.part.
	early := c.part != nil && c.tls == nil
	if c.tls != nil {
		s.h.startTLS(c, m.frame)
	} else if err := s.h.poll.add(c); err != nil {
		s.h.log.Warn("epoll add failed", "err", err)
		s.finish(c, reasonError)
		return
	}
	s.h.stats.opened.Add(1)
	s.reply(c, s.h.limits)
	if len(m.forbidden) > 0 {
		s.h.stats.errors[codeIndex(protocol.CodeForbiddenSymbol)].Add(1)
		s.reply(c, errorFrame(nil, protocol.CodeForbiddenSymbol, "not entitled to: ", m.forbidden))
	}
	if len(m.syms) > 0 || len(m.unknown) > 0 {
		s.subscribe(c, m)
	}
	if early {
		// The client sent frames right behind its upgrade request.
		s.h.readers.schedule(c)
	}
	if s.drain != nil {
		// Upgraded just before the drain began: it goes now.
		s.startClose(c, wsframe.StatusGoingAway, "server shutting down", reasonShutdown)
	}
}

// reply queues a reply the shard makes itself (limits, subscribed, errors
// of a subscribe), charged against c's reply budget.
func (s *shard) reply(c *conn, frame []byte) {
	if !s.h.charge(c, len(frame)) {
		s.closeUnread(c)
		return
	}
	s.queue(c, frame)
}

// queue appends a charged reply to c.ctrl, within MaxPendingReplies.
func (s *shard) queue(c *conn, frame []byte) {
	if len(c.ctrl) >= s.h.cfg.MaxPendingReplies {
		c.replyBytes.Add(-int32(len(frame)))
		s.closeUnread(c)
		return
	}
	if isPong(frame) && s.coalescePong(c, frame) {
		return
	}
	c.ctrl = append(c.ctrl, frame)
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
	s.startClose(c, errUnreadReplies.code, errUnreadReplies.reason, reasonReplies)
}

func (s *shard) subscribe(c *conn, m *cmd) {
	// Mark what c already has, so the request is checked in O(len).
	for i := range c.subs {
		s.mark[c.subs[i].sym] = int32(i) + 1
	}
	names := m.names[:0:0]
	var over []string
	limit := s.h.cfg.MaxSymbolsPerConn
	if need := min(len(c.subs)+len(m.syms), limit); cap(c.subs) < need {
		// Grow once, to the size asked for: no slack per connection.
		c.subs = append(make([]sub, 0, need), c.subs...)
	}
	for k, sym := range m.syms {
		if s.mark[sym] != 0 {
			names = append(names, m.names[k]) // already subscribed
			continue
		}
		if len(c.subs) >= limit {
			over = append(over, m.names[k])
			continue
		}
		s.link(c, sym)
		s.mark[sym] = int32(len(c.subs))
		names = append(names, m.names[k])
	}
	for i := range c.subs {
		s.mark[c.subs[i].sym] = 0
	}
	if len(names) > 0 {
		s.reply(c, textFrame(protocol.AppendSubscribed(nil, m.id, protocol.Stream{}, names)))
	}
	if len(m.unknown) > 0 {
		s.h.stats.errors[codeIndex(protocol.CodeUnknownSymbol)].Add(1)
		s.reply(c, errorFrame(m.id, protocol.CodeUnknownSymbol, "unknown symbol: ", m.unknown))
	}
	if len(over) > 0 {
		s.h.stats.errors[codeIndex(protocol.CodeTooManySymbols)].Add(1)
		s.reply(c, errorFrame(m.id, protocol.CodeTooManySymbols, "subscription limit reached, not subscribed: ", over))
	}
}

// reauth applies a fresh token: it queues the "authenticated" reply
// (m.frame, charged by the reader), ends every subscription the new
// identity does not allow and tells the client which, with an
// "unsubscribed" reply and a forbidden_symbol error, both with the auth
// request's id.
func (s *shard) reauth(c *conn, m *cmd) {
	defer func() {
		// Allows is the application's: a bug in it must not take the
		// shard down, only this connection.
		if v := recover(); v != nil {
			s.h.log.Error("Identity.Allows panicked: closing the connection", "panic", v)
			s.startClose(c, wsframe.StatusInternalServerError, "internal error", reasonError)
		}
	}()
	s.queue(c, m.frame)
	var ended []string
	for i := len(c.subs) - 1; i >= 0; i-- { // unlink moves a checked entry into i
		if name := s.h.names[c.subs[i].sym]; !m.ident.Allows(name) {
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

func (s *shard) unsubscribe(c *conn, m *cmd) {
	for _, sym := range m.syms {
		for i := range c.subs {
			if c.subs[i].sym == sym {
				s.unlink(c, i)
				break
			}
		}
	}
	s.reply(c, textFrame(protocol.AppendUnsubscribed(nil, m.id, protocol.Stream{}, m.names)))
	if len(m.unknown) > 0 {
		s.h.stats.errors[codeIndex(protocol.CodeUnknownSymbol)].Add(1)
		s.reply(c, errorFrame(m.id, protocol.CodeUnknownSymbol, "unknown symbol: ", m.unknown))
	}
}

// link subscribes c to sym; the first write for it is a snapshot.
func (s *shard) link(c *conn, sym uint32) {
	list := s.subs[sym]
	c.subs = append(c.subs, sub{sym: sym, pos: uint32(len(list)) | subSnap})
	s.subs[sym] = append(list, subRef{ci: uint32(c.idx), idx: uint32(len(c.subs) - 1)})
	st := s.h.syms[sym]
	st.watch(1, s.h.cfg.OnWatch)
	if st.latest.Load() != nil {
		s.markDirty(c)
	}
	s.stats.subs.Add(1)
}

// unlink removes c.subs[i], swapping the last entries into the holes on
// both sides.
func (s *shard) unlink(c *conn, i int) {
	e := c.subs[i]
	pos := e.index()
	list := s.subs[e.sym]
	last := len(list) - 1
	if int(pos) != last {
		moved := list[last]
		list[pos] = moved
		s.all[moved.ci].subs[moved.idx].setIndex(pos)
	}
	list[last] = subRef{}
	s.subs[e.sym] = list[:last]

	lastSub := len(c.subs) - 1
	if i != lastSub {
		moved := c.subs[lastSub]
		c.subs[i] = moved
		s.subs[moved.sym][moved.index()].idx = uint32(i)
	}
	c.subs = c.subs[:lastSub]
	if len(c.subs) == 0 {
		c.subs = nil
	}
	s.h.syms[e.sym].watch(-1, s.h.cfg.OnWatch)
	s.stats.subs.Add(-1)
}

func (s *shard) unlinkAll(c *conn) {
	for len(c.subs) > 0 {
		s.unlink(c, len(c.subs)-1)
	}
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
