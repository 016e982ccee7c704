package hub

import (
	"sync/atomic"

	"github.com/tickerd/tickerd/internal/wsframe"
	"golang.org/x/sys/unix"
	"golang.org/x/time/rate"
)

// conn is one WebSocket client. It holds no goroutine and, while idle, no
// buffer: its partial-frame and outgoing state exist only while data is
// pending.
type conn struct {
	// Static after construction. The fd is the hub's own (see
	// ServeHTTP): no net.Conn, netFD or runtime poll descriptor stays
	// behind it, and only release closes it.
	// The fields are ordered so that conn packs into 192 bytes (a
	// malloc size class): an idle connection's cost is mostly this struct
	// and its subscriptions.
	shard *shard
	auth  *connAuth // nil unless Config.Authenticate is set
	tls   *tlsConn  // nil unless the client came over TLS (see tlsConn)
	fd    int32     // a socket fd fits: RLIMIT_NOFILE is far below 2^31
	ipKey uint32    // hash of the source address, for MaxConnsPerIP

	// Shared between the poller callback, readers and the shard.
	rstate  atomic.Int32 // reads queued or running, plus rDead; see readers
	closing atomic.Bool  // set by the shard once it closes the connection: readers stop taking requests
	blocked atomic.Bool  // socket buffer full: shard waits for EPOLLOUT
	woken   atomic.Bool  // a writable command is queued for the shard
	cmds    atomic.Int32 // commands from readers not yet applied by the shard
	// replyBytes counts the replies and control frames made for the
	// client that its socket has not taken yet: charged by whoever makes
	// one (reader or shard), given back by the shard as it hands them to
	// the socket, and charged again for what the socket did not take
	// (shard.write).
	replyBytes atomic.Int32
	// strikes, gotClose and stopped are reader-owned (below); here, they
	// pack the struct. strikes: messages refused in a row by lim.
	// gotClose: the client's close frame came, ignore the rest. stopped:
	// the reader has asked the shard to close the connection (or told it
	// the client did): it takes no more requests.
	strikes  uint16
	gotClose bool
	stopped  bool
	// ownBytes is the part of replyBytes that is frames the server sends
	// of its own accord (push: pings, close, "delisted" notices), which
	// no reply budget refuses and which do not make a reply over budget.
	// Written by the shard, read by whoever charges a reply.
	ownBytes atomic.Int32
	lastIn   atomic.Int64 // Unix seconds of the last read from the client

	// Owned by the reader that holds rstate; also strikes, gotClose and
	// stopped.
	part *partial      // nil unless a frame or a fragmented message is incomplete
	lim  *rate.Limiter // made at the first message

	// Owned by the shard goroutine.
	subs      []sub     // subscriptions, unordered
	pending   []pendRef // subscriptions with something to send (subPending); may hold stale entries
	x         *connExt  // nil until the connection needs one of its fields
	ctrl      [][]byte  // replies and control frames to write before data
	outReply  int32     // bytes of replies at the front of x.out
	idx       int32     // position in shard.all
	state     connState
	dirty     bool        // in shard.dirty
	inBlocked bool        // in shard.blocked
	closeW    bool        // the close frame is queued in ctrl or out
	why       closeReason // why it is closing
	// finAfterWrite: finish once the TLS writer has sent the close echo.
	finAfterWrite bool
	// deflate: the client negotiated permessage-deflate (deflate.go).
	// Static after construction; here, it packs the struct.
	deflate bool
}

// connExt is the part of a connection's shard-owned state that most
// connections never need: an idle quote subscriber holds none of it.
type connExt struct {
	rl        *rateLimits // nil until a subscription has a max_rate (or Config.MaxRate is set)
	ext       []subExt    // parallel to subs; nil until a subscription of another channel than quotes
	closeBy   int64       // Unix ns: deadline for the client's close frame
	blockedAt int64       // Unix ns when the socket last became full; 0: not blocked
	out       [][]byte    // unwritten rest of a write the socket did not take (see rest)
}

// blockedSince returns when c's socket became full (Unix ns), 0 if it
// is not. Shard only.
func (c *conn) blockedSince() int64 {
	if c.x == nil {
		return 0
	}
	return c.x.blockedAt
}

// rest returns the unwritten rest of c's last write (a frame's rest and
// replies), nil if the socket took it all. Shard only.
func (c *conn) rest() [][]byte {
	if c.x == nil {
		return nil
	}
	return c.x.out
}

// dropRest forgets the unwritten rest of c's last write. Shard only.
func (c *conn) dropRest() {
	if c.x != nil {
		c.x.out = nil
	}
}

// more returns c.x, made if it is nil. Shard only.
func (c *conn) more() *connExt {
	if c.x == nil {
		c.x = new(connExt)
	}
	return c.x
}

// rates returns c's rate limits, nil if it has none. Shard only.
func (c *conn) rates() *rateLimits {
	if c.x == nil {
		return nil
	}
	return c.x.rl
}

// exts returns c's per-subscription state of the channels other than
// quotes, parallel to c.subs; nil if it has none. Shard only.
func (c *conn) exts() []subExt {
	if c.x == nil {
		return nil
	}
	return c.x.ext
}

type connState uint8

const (
	stateOpen    connState = iota
	stateClosing           // close frame sent or queued; waiting for the client's
	stateClosed            // socket closed
)

// connAuth is a connection's authentication state.
type connAuth struct {
	id       atomic.Pointer[Identity] // nil until authenticated
	deadline int64                    // Unix ns: the auth request must come by then
}

// partial is what a reader keeps of a connection between reads.
type partial struct {
	rbuf    []byte         // bytes of a frame not yet complete
	frag    []byte         // payload of a fragmented message so far
	fragT   wsframe.OpCode // opcode of the fragmented message; 0: none
	fragZ   bool           // the fragmented message is compressed (RSV1 on its first frame)
	frameAt int64          // Unix ns when the frame in rbuf began; 0: none
	msgAt   int64          // Unix ns when the fragmented message began
}

// charge counts n more bytes of replies for c and reports whether they
// fit budget. When no other reply is pending a reply always fits, so one
// larger than the budget (a long symbol list) still goes out. The frames
// the server sends of its own accord (push) count in neither. Readers and
// the shard call it (replyBytes is atomic).
func (c *conn) charge(n, budget int) bool {
	v := c.replyBytes.Add(int32(n))
	if withinBudget(int(v-c.ownBytes.Load()), n, budget) {
		return true
	}
	c.replyBytes.Add(-int32(n))
	return false
}

// withinBudget is the reply budget's rule, for charge and shard.unsent:
// r bytes of replies pending, n of them the newest (a reply, or the rest
// of a short write), fit budget if they are within it or nothing but
// those n is pending.
func withinBudget(r, n, budget int) bool { return r <= budget || r <= n }

// push appends a frame the server sends of its own accord to c.ctrl: a
// ping, a close frame, a "delisted" notice. It is counted in replyBytes
// (the write path gives bytes back as for any reply) and in ownBytes, and
// never refused: neither those frames nor the replies asked for after
// them are refused for them (charge and shard.queue leave them out). They
// are bounded apart: a ping per interval, one close, and a notice per
// subscription (MaxSymbolsPerConn per channel) when its symbol is
// delisted. Shard only.
func (c *conn) push(frame []byte) {
	c.replyBytes.Add(int32(len(frame)))
	c.ownBytes.Add(int32(len(frame)))
	c.ctrl = append(c.ctrl, frame)
}

// recountOwn sets ownBytes to the pushed frames c still holds unwritten,
// in ctrl and out, after a write or after ctrl was dropped. A frame the
// socket took part of no longer reads as pushed: it counts as a reply,
// one frame's bytes at most. Shard only.
func (c *conn) recountOwn() {
	n := 0
	for _, q := range [2][][]byte{c.ctrl, c.rest()} {
		for _, f := range q {
			if isOwn(f) {
				n += len(f)
			}
		}
	}
	c.ownBytes.Store(int32(n))
}

// repliesQueued returns how many frames of c.ctrl are replies, not
// pushed.
func (c *conn) repliesQueued() int {
	n := len(c.ctrl)
	if c.ownBytes.Load() == 0 {
		return n
	}
	for _, f := range c.ctrl {
		if isOwn(f) {
			n--
		}
	}
	return n
}

// rDead is set in conn.rstate when the connection is finished: no read is
// queued for it again, and whoever drops the last read reference closes
// the fd (release).
const rDead = 1 << 30

// release closes c's fd once it is finished and no reader holds it. The
// fd number can then be reused by a new connection, which is why no one
// may touch c.fd after this.
func (c *conn) release() {
	if c.tls != nil {
		_ = c.tls.tcp.Close()
		return
	}
	_ = unix.Close(int(c.fd))
}

// abort makes the coming close reset the connection (SO_LINGER 0), which
// drops unsent data at once. Called only by the shard, before release.
func (c *conn) abort() {
	if c.tls != nil {
		if tc, ok := c.tls.tcp.(interface{ SetLinger(int) error }); ok {
			_ = tc.SetLinger(0)
		}
		return
	}
	_ = unix.SetsockoptLinger(int(c.fd), unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0})
}

// sub is one subscription of a connection: to a stream (named by its
// fanout's slot in the shard), and the index of the subscription's entry
// in the stream's list for the shard (so both sides unlink in O(1)).
// Eight bytes. What the write path needs of a subscription is
// in that entry (subRef), next to the other subscribers of the stream.
type sub struct {
	slot uint32 // the stream's fanout: shard.fans[slot]
	pos  uint32 // index in the fanout's list of the shard
}

// subExt is what a trades or book subscription keeps besides its sub:
// the seq (and, for trades, the epoch) of the last message written, so a
// trades subscriber is told exactly what it missed and a book
// subscriber is sent only deltas it can apply. A connection that has
// only quote subscriptions has none.
type subExt struct {
	seq   uint64 // trades: the last seq covered; book: the view seq the client is at
	epoch uint64 // trades: the epoch of seq
	until uint32 // trades: tape entries up to this ver are replayed ("since"); 0: none
	fresh bool   // trades: no position yet (the tape was empty): take what comes
}

// Flags in subRef.bits.
const (
	subSnap    = 1 << 31 // the next write for this subscription is a snapshot
	subPending = 1 << 30 // on the connection's pending list
	subSeen    = 1 << 29 // scratch of collect and compactPending
	subIndex   = subSeen - 1
)

// subRef is an entry of a stream's subscriber list in a shard: the
// connection's index in shard.all, the subscription's index in its subs,
// its flags and what it was last sent. Twelve bytes per subscription,
// and stream-major: a pass walks a stream's list in order when it marks
// the subscribers pending, and the writes that follow find each entry
// where that walk left it, instead of in an array of each connection's
// own (which, at a thousand subscriptions a connection, is a cache and
// TLB miss per message).
type subRef struct {
	ci   uint32 // index in shard.all
	bits uint32 // low 29 bits: index in shard.all[ci].subs; the rest: flags
	sent uint32 // ver of the last update written; 0: none yet
}

func (r *subRef) index() uint32 { return r.bits & subIndex }

func (r *subRef) setIndex(i uint32) { r.bits = r.bits&^subIndex | i }

// pendRef is an entry of a connection's pending list: a subscription's
// entry in a stream's list (shard.fans[slot].shards[shard].subs[pos]).
// Entries go stale when a subscription ends or its entry moves (unlink),
// or the slot goes to another stream: collect and compactPending skip an
// entry whose slot is empty, out of range, of another connection, or not
// pending. Whatever passes is a pending subscription of the connection's,
// and each one has an entry that points at it.
type pendRef struct {
	slot uint32
	pos  uint32
}

// ref returns the stream-list entry of c's subscription e. Shard only.
func (s *shard) ref(e *sub) *subRef { return &s.fans[e.slot].shards[s.id].subs[e.pos] }

// stream returns the stream of c's subscription e. Shard only.
func (s *shard) stream(e *sub) *stream { return s.fans[e.slot].st }

// at returns the entry p points at, and its stream's fanout, if the entry
// is still c's and pending (and not seen already in the walk at hand);
// else a nil entry.
func (s *shard) at(c *conn, p pendRef) (*subRef, *fanout) {
	f := s.fans[p.slot]
	if f == nil {
		return nil, nil
	}
	fs := &f.shards[s.id]
	if int(p.pos) >= len(fs.subs) {
		return nil, nil
	}
	r := &fs.subs[p.pos]
	if r.ci != uint32(c.idx) || r.bits&(subPending|subSeen) != subPending {
		return nil, nil
	}
	return r, f
}
