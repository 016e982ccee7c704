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
			s.subscribe(c, nil, h.resolve([]string{"S0"}), 0)
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
