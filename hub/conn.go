package hub

import (
	"net"
	"sync/atomic"
	"syscall"

	"github.com/gobwas/ws"
)

// conn is one WebSocket client. It holds no goroutine and, while idle, no
// buffer: its partial-frame and outgoing state exist only while data is
// pending.
type conn struct {
	// Static after construction.
	fd    int
	nc    net.Conn
	raw   syscall.RawConn
	shard *shard

	// Shared between the poller callback, readers and the shard.
	rstate  atomic.Int32 // >0: queued for or being read; see reader.serve
	closing atomic.Bool  // set once the connection stops taking requests
	blocked atomic.Bool  // socket buffer full: shard waits for EPOLLOUT
	woken   atomic.Bool  // a writable command is queued for the shard
	cmds    atomic.Int32 // commands from readers not yet applied by the shard
	lastIn  atomic.Int64 // Unix seconds of the last read from the client

	// Owned by the reader that holds rstate.
	rbuf  []byte    // bytes of a frame not yet complete; nil when none
	frag  []byte    // payload of a fragmented message so far; nil when none
	fragT ws.OpCode // opcode of the fragmented message

	// Owned by the shard goroutine.
	subs      []sub    // subscriptions, unordered
	ctrl      [][]byte // replies and control frames to write before data
	out       [][]byte // unwritten rest of a write the socket did not take
	idx       int32    // position in shard.all
	state     connState
	dirty     bool        // in shard.dirty
	closeW    bool        // the close frame is queued in ctrl or out
	why       closeReason // why it is closing
	blockedAt int64       // Unix ns when out last became non-empty; 0: not blocked
	closeBy   int64       // Unix ns: deadline for the client's close frame
}

type connState uint8

const (
	stateOpen    connState = iota
	stateClosing           // close frame sent or queued; waiting for the client's
	stateClosed            // socket closed
)

// sub is one subscription of a connection. pos is the index of the
// connection's entry in shard.subs[sym], so both sides unlink in O(1).
type sub struct {
	sym  uint32
	pos  uint32
	sent uint32 // ver of the last update written; 0: none yet
	snap bool   // the next write for this symbol is a snapshot
}

// subRef is an entry of a symbol's subscriber list in a shard.
type subRef struct {
	c   *conn
	idx uint32 // index in c.subs
}
