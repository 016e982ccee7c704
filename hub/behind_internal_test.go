package hub

import (
	"fmt"
	"testing"
	"time"

	"github.com/tickerd/tickerd/protocol"
)

// TestBehindPerClient follows the rule that decides, per subscription,
// whether a client is behind: it gets every update it is owed, in order,
// unless they overflow the ring or the oldest is older than MaxReplayAge;
// then the latest only. Nothing else (how long the shard's passes take,
// other clients) enters into it.
func TestBehindPerClient(t *testing.T) {
	const age = 100 * time.Millisecond
	for _, tc := range []struct {
		name  string
		owed  int           // updates published after the snapshot
		after time.Duration // wait before collecting
		want  string        // seqs collected
		skip  uint64        // merged
	}{
		{"owed a few, fresh: each in order", 3, 0, "2 3 4", 0},
		{"owed a ring's worth", ringSize, 0, "2 3 4 5 6 7 8 9", 0},
		{"owed more than the ring: the latest", ringSize + 1, 0, "10", ringSize},
		{"owed a few, for too long: the latest", 3, age + 50*time.Millisecond, "4", 2},
		{"owed one, however old: it", 1, age + 50*time.Millisecond, "2", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := stoppedHub(t, Config{Shards: 1, MaxReplayAge: age}, symbolsNamed("S%d", 1))
			s := h.shards[0]
			c := addConn(s)
			pub := func(seq uint64) { h.Publish(&protocol.Tick{Symbol: "S0", Seq: seq, TS: 1, PricePrec: 2}) }
			pub(1)
			s.subscribe(c, nil, h.resolve([]string{"S0"}), 0, nil)
			c.ctrl = nil
			bufs, _ := s.collect(c)
			s.settle(c, bufs, 0, size(bufs)) // the snapshot
			s.w.reuse(bufs)
			for q := range tc.owed {
				pub(uint64(q + 2))
			}
			time.Sleep(tc.after)
			s.applyInbox()
			bufs, _ = s.collect(c)
			got := ""
			for _, b := range bufs {
				_, _, seq, _, _ := protocol.ScanTick(payload(b))
				got += fmt.Sprint(" ", seq)
			}
			s.settle(c, bufs, 0, size(bufs))
			s.w.reuse(bufs)
			if got != " "+tc.want || s.n.merged != tc.skip {
				t.Errorf("collected%s, merged %d; want %s, merged %d", got, s.n.merged, tc.want, tc.skip)
			}
		})
	}
}

// TestResetShortWrite cuts the write of a reset and its snapshot at every
// byte: with what connExt.out keeps and what a later collect finds, the
// client gets the reset once, then the snapshot of the new epoch.
func TestResetShortWrite(t *testing.T) {
	total := -1
	for n := 0; n != total; n++ {
		h := stoppedHub(t, Config{Shards: 1}, symbolsNamed("S%d", 1))
		s := h.shards[0]
		c := addConn(s)
		h.Publish(&protocol.Tick{Symbol: "S0", Seq: 9, TS: 1})
		s.subscribe(c, nil, h.resolve([]string{"S0"}), 0, nil)
		c.ctrl = nil
		bufs, _ := s.collect(c)
		s.settle(c, bufs, 0, size(bufs))
		s.w.reuse(bufs)
		h.Publish(&protocol.Tick{Symbol: "S0", Epoch: 1, Seq: 1, TS: 1})
		s.applyInbox()
		bufs, _ = s.collect(c)
		var wire []byte
		for _, b := range bufs {
			wire = append(wire, b...)
		}
		if total < 0 {
			total = len(wire) + 1
		}
		s.settle(c, bufs, 0, n)
		s.w.reuse(bufs)
		wire = wire[:n]
		for _, b := range c.rest() {
			wire = append(wire, b...)
		}
		c.dropRest()
		bufs, _ = s.collect(c)
		for _, b := range bufs {
			wire = append(wire, b...)
		}
		s.w.reuse(bufs)
		var got []string
		for len(wire) > 0 {
			p, k, err := wsframeNext(wire)
			if err != nil || k == 0 {
				t.Fatalf("cut at %d: not whole frames", n)
			}
			wire = wire[k:]
			typ, _, seq, _, _ := protocol.ScanTick(p)
			if typ == nil {
				typ = []byte("reset")
			}
			got = append(got, fmt.Sprintf("%s %d", typ, seq))
		}
		if fmt.Sprint(got) != "[reset 0 snapshot 1]" {
			t.Fatalf("cut at %d: got %v, want a reset, then the snapshot of seq 1", n, got)
		}
	}
}
