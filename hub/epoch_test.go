package hub_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/tickerd/tickerd/hub"
	"github.com/tickerd/tickerd/internal/testutil"
	"github.com/tickerd/tickerd/protocol"
)

// tickOf is testutil.Tick in epoch.
func tickOf(sym string, epoch, seq uint64, price string) *protocol.Tick {
	tk := testutil.Tick(sym, seq, price)
	tk.Epoch = epoch
	return tk
}

// TestEpochReset: when a symbol's seq space restarts at a higher epoch (a
// feed node without its stored state), the hub takes the new seqs
// whatever they are, and each subscriber gets a reset and then a
// snapshot; updates of a lower epoch are dropped; Stats counts both.
func TestEpochReset(t *testing.T) {
	srv := startHub(t, hub.Config{MessageRate: -1, Shards: 2}, nil)
	h := srv.h
	c := srv.dial(t, "?symbols=AAPL")
	next := func(want string) { t.Helper(); nextIs(t, c, want) }
	h.Publish(tickOf("AAPL", 0, 100, "1.00"))
	next("snapshot 100 1.00")
	h.Publish(tickOf("AAPL", 0, 101, "1.01"))
	next("tick 101 1.01")
	h.Publish(tickOf("AAPL", 1, 1, "2.00")) // the feed restarted
	next("reset quotes AAPL 1")
	next("snapshot 1 2.00")
	h.Publish(tickOf("AAPL", 1, 2, "2.01"))
	next("tick 2 2.01")
	h.Publish(tickOf("AAPL", 0, 500, "9.99")) // the old feed, late: dropped
	h.Publish(tickOf("AAPL", 1, 2, "9.98"))   // a repeat: dropped
	enc := protocol.AppendTick(nil, tickOf("AAPL", 2, 7, "3.00"))
	if err := h.PublishEncoded("AAPL", 2, 7, time.Now().UnixNano(), enc); err != nil {
		t.Fatal(err)
	}
	next("reset quotes AAPL 2")
	next("snapshot 7 3.00")
	h.Publish(tickOf("AAPL", 2, 8, "3.01"))
	next("tick 8 3.01")

	// A client that comes now gets the snapshot alone.
	late := srv.dial(t, "?symbols=AAPL")
	if m, err := late.Next(time.Now().Add(wait)); err != nil || m.Type != "snapshot" || m.Seq != 8 {
		t.Errorf("a new subscriber got %s %v, want the snapshot of seq 8", m.Raw, err)
	}
	st := h.Stats()
	if st.Resets != 2 || st.StaleEpoch != 1 || st.Stale != 1 || st.Published != 6 {
		t.Errorf("Stats() Resets %d StaleEpoch %d Stale %d Published %d, want 2, 1, 1, 6", st.Resets, st.StaleEpoch, st.Stale, st.Published)
	}
}

// TestEpochResetWhileBehind: a client that was not written to while the
// epoch went up twice (its socket full, or it subscribed just then) gets
// one reset, for the epoch its snapshot is in, not one per epoch.
func TestEpochResetWhileBehind(t *testing.T) {
	srv := startHub(t, hub.Config{MessageRate: -1, Shards: 1}, nil)
	h := srv.h
	c := srv.dial(t, "?symbols=MSFT")
	h.Publish(tickOf("MSFT", 0, 5, "1.00"))
	if m, err := c.Next(time.Now().Add(wait)); err != nil || m.Type != "snapshot" {
		t.Fatalf("first: %s %v, want a snapshot", m.Raw, err)
	}
	// Both before the shard's next pass, most of the time; the test only
	// asserts what holds either way: a reset is followed by a snapshot
	// of its epoch, and the last epoch's comes last.
	h.Publish(tickOf("MSFT", 1, 1, "2.00"))
	h.Publish(tickOf("MSFT", 2, 1, "3.00"))
	var got []string
	for len(got) == 0 || got[len(got)-1] != "snapshot 1 3.00" {
		m, err := c.Next(time.Now().Add(wait))
		if err != nil {
			t.Fatalf("after %v: %v", got, err)
		}
		got = append(got, describe(m))
	}
	switch fmt.Sprint(got) {
	case "[reset quotes MSFT 2 snapshot 1 3.00]", "[reset quotes MSFT 1 snapshot 1 2.00 reset quotes MSFT 2 snapshot 1 3.00]":
	default:
		t.Errorf("got %v, want each reset followed by a snapshot, ending with epoch 2's", got)
	}
}
