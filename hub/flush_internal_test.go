package hub

import (
	"bytes"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/tickerd/tickerd/internal/testutil"
	"github.com/tickerd/tickerd/protocol"
)

// TestFlushTakesNotified: an update notified while a flush writes goes
// out in that flush to the connections it has not written yet, and on the
// next pass to those it has. Before, every connection waited for the next
// pass, so at 10,000 connections a tick could wait a whole pass longer.
func TestFlushTakesNotified(t *testing.T) {
	h := stoppedHub(t, Config{Shards: 1}, symbolsNamed("S%d", 2))
	s := h.shards[0]
	const n = 2 * inboxEvery
	peers := make([]int, n)
	for i := range n {
		fd, peer := testutil.SocketPair(t)
		peers[i] = peer
		c := &conn{fd: int32(fd), idx: int32(i), shard: s}
		s.all = append(s.all, c)
		s.subscribe(c, nil, h.resolve([]string{"S0", "S1"}), 0, nil)
		c.ctrl = nil
	}
	h.Publish(&protocol.Tick{Symbol: "S0", Seq: 1, TS: 1})
	s.applyInbox() // every connection is dirty with S0
	h.Publish(&protocol.Tick{Symbol: "S1", Seq: 1, TS: 1})
	s.flush() // S1 is taken after the first inboxEvery writes

	buf := make([]byte, 4096)
	for i, c := range s.all {
		got, _ := unix.Read(peers[i], buf)
		hasS1 := bytes.Contains(buf[:max(got, 0)], []byte(`"S1"`))
		if i < inboxEvery {
			if hasS1 || !c.dirty {
				t.Errorf("conn %d, written before S1 was notified: S1 sent %v, dirty %v; want S1 left for the next pass", i, hasS1, c.dirty)
			}
		} else if !hasS1 || c.dirty || pendingSubs(s, c) != 0 {
			t.Errorf("conn %d, written after S1 was notified: S1 sent %v, dirty %v, pending %d; want S1 in this flush", i, hasS1, c.dirty, pendingSubs(s, c))
		}
	}
	if len(s.dirty) != inboxEvery {
		t.Errorf("%d connections on the next dirty list, want %d", len(s.dirty), inboxEvery)
	}
}

// TestFlushTakesCommands: a request that reaches the shard while a flush
// writes is applied in that flush, and a connection not written yet
// sends what it asked for (here, a snapshot) in the same pass.
func TestFlushTakesCommands(t *testing.T) {
	h := stoppedHub(t, Config{Shards: 1}, symbolsNamed("S%d", 2))
	s := h.shards[0]
	const n = 2 * inboxEvery
	var last int // the peer of the last connection
	for i := range n {
		fd, peer := testutil.SocketPair(t)
		last = peer
		c := &conn{fd: int32(fd), idx: int32(i), shard: s}
		s.all = append(s.all, c)
		s.subscribe(c, nil, h.resolve([]string{"S0"}), 0, nil)
		c.ctrl = nil
	}
	h.Publish(&protocol.Tick{Symbol: "S1", Seq: 1, TS: 1})
	h.Publish(&protocol.Tick{Symbol: "S0", Seq: 1, TS: 1})
	s.applyInbox() // every connection is dirty with S0
	c := s.all[n-1]
	s.post(c, &subscribeCmd{id: []byte("7"), set: h.resolve([]string{"S1"})})
	s.flush()
	buf := make([]byte, 4096)
	got, _ := unix.Read(last, buf)
	if out := buf[:max(got, 0)]; !bytes.Contains(out, []byte(`"subscribed"`)) || !bytes.Contains(out, []byte(`"S1"`)) {
		t.Errorf("the last connection got %q in the flush its subscribe came in; want the reply and S1's snapshot", out)
	}
}
