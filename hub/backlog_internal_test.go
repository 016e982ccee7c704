package hub

import (
	"testing"

	"github.com/tickerd/tickerd/internal/testutil"
	"github.com/tickerd/tickerd/protocol"
)

// TestBlockedAtFrameEnd: a write the socket takes none of (so its rest, connExt.out,
// stays empty: every frame is given back) leaves the connection blocked,
// waiting for EPOLLOUT; when it comes, the frames go out. A connection
// left unblocked there would never be written again until its next update.
func TestBlockedAtFrameEnd(t *testing.T) {
	fd, peer := testutil.SocketPair(t)
	testutil.FillSocket(fd)
	h := stoppedHub(t, Config{Shards: 1}, symbolsNamed("S%d", 2))
	s := h.shards[0]
	c := &conn{fd: int32(fd), idx: 0, shard: s}
	s.all = append(s.all, c)
	h.Publish(&protocol.Tick{Symbol: "S0", Seq: 1, TS: 1})
	h.Publish(&protocol.Tick{Symbol: "S1", Seq: 1, TS: 1})
	s.subscribe(c, nil, h.resolve([]string{"S0", "S1"}), 0, nil)
	c.ctrl = nil
	s.write(c)
	if !c.blocked.Load() || len(c.rest()) != 0 || pendingSubs(s, c) != 2 {
		t.Fatalf("after a write the socket took none of: blocked %v, out %d, pending %d; want blocked, nothing in out, both pending",
			c.blocked.Load(), len(c.rest()), pendingSubs(s, c))
	}
	s.flush()                  // a blocked connection is not written: nothing happens
	testutil.DrainSocket(peer) // the client reads; EPOLLOUT comes
	s.writable1(c)
	if c.blocked.Load() || pendingSubs(s, c) != 0 {
		t.Errorf("after EPOLLOUT: blocked %v, pending %d; want the snapshots written", c.blocked.Load(), pendingSubs(s, c))
	}
	n := testutil.DrainSocket(peer)
	if n == 0 || s.n.msgs != 2 {
		t.Errorf("the client got %d bytes, %d messages counted; want the two snapshots", n, s.n.msgs)
	}
}
