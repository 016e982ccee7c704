package hub

import (
	"testing"

	"github.com/tickerd/tickerd/internal/testutil"
	"github.com/tickerd/tickerd/internal/wsframe"
)

// TestOwnFramesOutsideBudget: what the server pushes of its own accord (a
// ping, "delisted" notices) is written like a reply but neither refused
// nor counted against the replies the client asks for: a reply larger
// than the budget (a 2 MB list) still goes when only pushed frames wait,
// and the count cap leaves them out.
func TestOwnFramesOutsideBudget(t *testing.T) {
	const budget, maxReplies = 64 << 10, 4
	c := &conn{}
	c.push(pingFrame)
	notice := textFrame([]byte(`{"type":"delisted","symbol":"AAPL","ts":1}`))
	for range 2 * maxReplies {
		c.push(notice)
	}
	if !c.charge(2<<20, budget) {
		t.Fatalf("a 2 MB reply refused with only pushed frames pending (replyBytes %d, ownBytes %d)", c.replyBytes.Load(), c.ownBytes.Load())
	}
	if got := c.repliesQueued(); got != 0 {
		t.Errorf("repliesQueued() = %d with only pushed frames in ctrl, want 0", got)
	}
	if c.charge(1, budget) {
		t.Errorf("a reply accepted with 2 MB of replies pending")
	}

	// Once written, the pushed frames are recounted: none is left.
	c.ctrl = nil
	c.recountOwn()
	if got := c.ownBytes.Load(); got != 0 {
		t.Errorf("ownBytes = %d after the frames went, want 0", got)
	}
	for _, f := range [][]byte{pingFrame, notice, closeFrame(1000, "")} {
		if !isOwn(f) {
			t.Errorf("isOwn(%q) = false", f)
		}
	}
	for _, f := range [][]byte{textFrame([]byte(`{"type":"pong","id":1}`)), serverFrame(wsframe.OpPong, nil), textFrame([]byte(`{"type":"tick"}`))} {
		if isOwn(f) {
			t.Errorf("isOwn(%q) = true", f)
		}
	}
}

// TestShortWriteRechargesReplies: a write gives its replies back to the
// reply budget as it hands them to the socket (a client that read a reply
// may ask again before the shard is back from the call), and charges
// again what the socket did not take. A client over its budget then is
// closed with 1008, as charge would have closed it; a rest over the
// budget alone (one large reply) is not.
func TestShortWriteRechargesReplies(t *testing.T) {
	const budget = 64 << 10
	fd, peer := testutil.SocketPair(t)
	h := stoppedHub(t, Config{Shards: 1, MaxPendingReplyBytes: budget}, symbolsNamed("S%d", 1))
	s := h.shards[0]
	c := &conn{fd: int32(fd), idx: 0, shard: s}
	s.all = append(s.all, c)

	// One reply larger than the budget, not taken: charged again, and the
	// client stays.
	testutil.FillSocket(fd)
	big := textFrame(make([]byte, 2*budget))
	s.reply(c, big)
	s.write(c)
	if got := int(c.replyBytes.Load()); got != len(big) || int(c.outReply) != len(big) || size(c.rest()) != len(big) {
		t.Errorf("after a write the socket took none of: replyBytes %d, outReply %d, rest %d; want %d each", got, c.outReply, size(c.rest()), len(big))
	}
	if c.state != stateOpen {
		t.Fatalf("closed for the rest of one reply larger than the budget")
	}
	testutil.DrainSocket(peer)
	for size(c.rest()) > 0 {
		c.blocked.Store(false)
		s.write(c)
		testutil.DrainSocket(peer)
	}
	if got := c.replyBytes.Load(); got != 0 || c.outReply != 0 {
		t.Fatalf("once written: replyBytes %d, outReply %d; want 0", got, c.outReply)
	}

	// A reply under the budget not taken, and one more let in while the
	// next write was in its system call (charged against a budget without
	// the first): once the first is charged again the client is over, and
	// is closed.
	testutil.FillSocket(fd)
	s.reply(c, textFrame(make([]byte, budget-500)))
	s.write(c)
	if c.state != stateOpen {
		t.Fatalf("closed with one reply under the budget pending")
	}
	more := textFrame(make([]byte, 1000))
	c.replyBytes.Add(int32(len(more)))
	c.ctrl = append(c.ctrl, more)
	s.write(c)
	if c.state != stateClosing || c.why != reasonReplies {
		t.Errorf("state %v (why %v) with more than the budget of replies unread, want closing for unread replies", c.state, c.why)
	}
}
