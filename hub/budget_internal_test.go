package hub

import (
	"testing"

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
