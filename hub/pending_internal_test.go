package hub

import (
	"math/rand/v2"
	"testing"

	"github.com/tickerd/tickerd/protocol"
)

// TestPendingModel drives several connections of one shard through random
// subscribes, unsubscribes, pends and collects, against a model of which
// subscriptions are owed a message. A connection's pending entries name
// places in the streams' lists, which move when another connection
// unsubscribes (unlink swaps the last entry into the hole) and whose
// slots are reused when a stream loses its last subscriber: after every
// step, a collect must send each owed subscription exactly once and
// nothing else, and no pending list may outgrow its bound. With 40
// symbols a connection's subscriptions go above walkSubs and back, so
// collect runs both with a pending list and with a walk of the
// subscriptions, and switches between them with subscriptions pending.
func TestPendingModel(t *testing.T) {
	const nsym, nconn, steps = 2*walkSubs + 8, 4, 40000
	h := stoppedHub(t, Config{Shards: 1}, symbolsNamed("S%d", nsym))
	for _, name := range h.Symbols() {
		h.Publish(&protocol.Tick{Symbol: name, Seq: 1, TS: 1})
	}
	names := h.Symbols()
	s := h.shards[0]
	conns := make([]*conn, nconn)
	owed := make([]map[string]bool, nconn)
	for i := range conns {
		conns[i] = addConn(s)
		owed[i] = map[string]bool{}
	}
	subIndex := func(c *conn, name string) int {
		for i := range c.subs {
			if s.stream(&c.subs[i]).sym.name == name {
				return i
			}
		}
		return -1
	}
	collects := map[bool]int{} // by c.listed()
	rng := rand.New(rand.NewPCG(1, 2))
	for step := range steps {
		k := rng.IntN(nconn)
		c, name := conns[k], names[rng.IntN(nsym)]
		i := subIndex(c, name)
		switch op := rng.IntN(4); {
		case op == 0 && i < 0: // subscribe: owed its snapshot
			s.subscribe(c, nil, h.resolve([]string{name}), 0, nil)
			c.ctrl = nil
			owed[k][name] = true
		case op == 1 && i >= 0: // unsubscribe
			s.unlink(c, i)
			delete(owed[k], name)
		case op == 2 && i >= 0: // owed its snapshot again
			r := s.ref(&c.subs[i])
			r.sent = 0
			r.bits |= subSnap
			s.pend(c, uint32(i))
			owed[k][name] = true
		default: // collect
			collects[c.listed()]++
			bufs, _ := s.collect(c)
			got := map[string]int{}
			for _, b := range bufs {
				_, sym, _, _, _ := protocol.ScanTick(payload(b))
				got[string(sym)]++
			}
			s.w.reuse(bufs)
			for n := range owed[k] {
				if got[n] != 1 {
					t.Fatalf("step %d, connection %d: %s sent %d times, want once", step, k, n, got[n])
				}
			}
			for n, m := range got {
				if !owed[k][n] {
					t.Fatalf("step %d, connection %d: %s sent %d times, want never", step, k, n, m)
				}
			}
			clear(owed[k])
		}
		for j, c := range conns {
			if !c.listed() && c.pending != nil {
				t.Fatalf("step %d, connection %d: a pending list (%d entries) with %d subscriptions", step, j, len(c.pending), len(c.subs))
			}
			if len(c.pending) > 2*len(c.subs)+8+1 {
				t.Fatalf("step %d, connection %d: %d pending entries for %d subscriptions", step, j, len(c.pending), len(c.subs))
			}
		}
	}
	if collects[true] < steps/20 || collects[false] < steps/20 {
		t.Fatalf("collects with a pending list %d, with a walk %d: want both at least %d", collects[true], collects[false], steps/20)
	}
	s.dirty = nil
}

// pendingSubs returns how many of c's subscriptions are marked pending,
// whether c keeps a pending list or not.
func pendingSubs(s *shard, c *conn) int {
	n := 0
	for i := range c.subs {
		if s.ref(&c.subs[i]).bits&subPending != 0 {
			n++
		}
	}
	return n
}
