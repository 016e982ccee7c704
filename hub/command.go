package hub

import (
	"math/rand/v2"
	"time"

	"github.com/tickerd/tickerd/internal/wsframe"
	"github.com/tickerd/tickerd/protocol"
)

// A command is work another goroutine hands a shard about one of its
// connections (or, for shutdownCmd and delistCmd, about all of them). The
// shard applies commands in the order they were posted; a command's
// fields belong to the shard from the moment it is posted.
type command interface {
	apply(s *shard, c *conn) // c is nil for a command about no connection
}

// envelope is a command in a shard's inbox, with the connection it is
// about.
type envelope struct {
	c   *conn
	cmd command
}

// openCmd registers a new connection, from the HTTP goroutine that
// upgraded it, and subscribes it to the symbols of its URL.
type openCmd struct {
	set       symbolSet
	forbidden []string // names of ?symbols= the client is not entitled to
	early     []byte   // TLS: bytes the client sent right behind the upgrade request
}

// subscribeCmd subscribes c to set and replies with id, from a reader;
// rate is the request's max_rate (0: none), for the symbols of set that c
// is subscribed to already as well.
type subscribeCmd struct {
	id    []byte // raw request id, owned by the command
	set   symbolSet
	rate  float64
	since map[string]uint64 // trades: resume after these seqs; nil: none
}

// unsubscribeCmd ends c's subscriptions to set and replies with id.
type unsubscribeCmd struct {
	id  []byte
	set symbolSet
}

// replyCmd queues a reply a reader made, already charged to c's budget.
// A frame made of pieces (a head made for the request and a tail shared
// with other connections, as the "list" reply is) has the rest in tail;
// all are queued at once.
type replyCmd struct {
	frame []byte
	tail  [][]byte
}

// reauthCmd applies a fresh token: it queues frame (the "authenticated"
// reply, charged by the reader) and ends what ident does not allow.
type reauthCmd struct {
	id    []byte
	frame []byte
	ident *Identity
}

// closeCmd closes c with code and reason (the reader found a protocol
// error); why is what the close is counted under.
type closeCmd struct {
	code   wsframe.StatusCode
	reason string
	why    closeReason
}

// peerCloseCmd reports the client's close frame (code), or its hang-up.
type peerCloseCmd struct {
	code   wsframe.StatusCode
	hangup bool // EOF or a read error, no close frame
}

// writtenCmd is a TLS writer's report that its batch is with the socket:
// n bytes, failed if the write failed, pending if some of its records
// wait for the socket to take them (sock.pending).
type writtenCmd struct {
	n       int
	failed  bool
	pending bool
}

// shutdownCmd closes every connection of the shard with 1001, spread over
// window.
type shutdownCmd struct{ window time.Duration }

func (m *openCmd) apply(s *shard, c *conn) { s.open(c, m) }

func (m *subscribeCmd) apply(s *shard, c *conn) {
	if c.state == stateOpen {
		s.subscribe(c, m.id, m.set, m.rate, m.since)
	}
}

func (m *unsubscribeCmd) apply(s *shard, c *conn) {
	if c.state == stateOpen {
		s.unsubscribe(c, m.id, m.set)
	}
}

func (m *replyCmd) apply(s *shard, c *conn) {
	if c.state == stateOpen {
		s.queue(c, m.frame, m.tail) // charged by the reader
	}
}

func (m *reauthCmd) apply(s *shard, c *conn) {
	if c.state == stateOpen {
		s.reauth(c, m)
	}
}

func (m *closeCmd) apply(s *shard, c *conn) { s.startClose(c, m.code, m.reason, m.why) }

func (m *peerCloseCmd) apply(s *shard, c *conn) { s.peerClose(c, m.code, m.hangup) }

func (m *writtenCmd) apply(s *shard, c *conn) { s.written(c, m.n, m.failed, m.pending) }

func (m *shutdownCmd) apply(s *shard, _ *conn) {
	if s.drain != nil {
		return
	}
	order := append([]*conn(nil), s.all...)
	rand.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	s.drain = &drainPlan{order: order, start: time.Now(), window: m.window}
	s.drainStep(s.drain.start)
}

// open registers a new connection with epoll and subscribes it to the
// symbols of its URL.
func (s *shard) open(c *conn, m *openCmd) {
	c.idx = int32(len(s.all))
	s.all = append(s.all, c)
	c.lastIn.Store(time.Now().Unix())
	// Read before the poller can hand c to a reader, which owns c.part.
	early := c.part != nil && c.tls == nil
	if c.tls != nil {
		// A reader first, for the bytes behind the upgrade request and
		// those crypto/tls holds already, which epoll will not signal; it
		// parses them before any reader an epoll event starts.
		s.h.readTLSSoon(c, m.early)
	}
	if err := s.h.poll.add(c); err != nil {
		s.h.log.Warn("epoll add failed", "err", err)
		s.finish(c, reasonError)
		return
	}
	s.h.stats.opened.Add(1)
	s.reply(c, s.h.zframe(c, &s.h.z.limits, s.h.limits))
	if len(m.forbidden) > 0 {
		s.h.stats.errors[codeIndex(protocol.CodeForbiddenSymbol)].Add(1)
		s.reply(c, errorFrame(nil, protocol.CodeForbiddenSymbol, "not entitled to: ", m.forbidden))
	}
	if len(m.set.streams) > 0 || len(m.set.unknown) > 0 {
		s.subscribe(c, nil, m.set, 0, nil)
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

// drainPlan closes a shard's connections with 1001 in random order, spread
// evenly over a window, so clients do not all reconnect at once.
type drainPlan struct {
	order  []*conn
	start  time.Time
	window time.Duration
	done   int
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
