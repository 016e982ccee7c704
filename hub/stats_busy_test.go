package hub_test

import (
	"sync"
	"testing"

	"github.com/tickerd/tickerd/hub"
	"github.com/tickerd/tickerd/internal/testutil"
)

// TestStatsWhileSaturated checks that a shard that never runs out of work
// (a new update arrives during every flush) still publishes its counters:
// /metrics must not freeze exactly when the server is busiest.
func TestStatsWhileSaturated(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 1,000 connections")
	}
	srv := startHub(t, hub.Config{Shards: 1}, nil)
	for range 1000 {
		// They do not read, but their socket buffers hold far more than
		// the test sends, so every flush writes to all 1,000 and lasts
		// longer than the gap between two updates.
		srv.dialRaw(t, "?symbols=AAPL")
	}
	before := srv.h.Stats()

	stop := make(chan struct{})
	var pub sync.WaitGroup
	pub.Go(func() {
		for seq := uint64(1); ; seq++ {
			select {
			case <-stop:
				return
			default:
			}
			publish(srv.h, "AAPL", seq, "100.00")
		}
	})
	defer func() { close(stop); pub.Wait() }()

	var st hub.Stats
	if !testutil.Eventually(wait, func() bool {
		st = srv.h.Stats()
		return st.Messages > before.Messages && st.Writes > before.Writes
	}) {
		t.Fatalf("after %v of publishing, Stats() shows no new messages or writes (%d published): the busy shard's counters are not published", wait, st.Published)
	}
	t.Logf("while publishing: %d messages in %d writes, %d merged, %d published",
		st.Messages-before.Messages, st.Writes-before.Writes, st.Merged, st.Published)
}
