package cluster

import (
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/internal/testutil"
	"github.com/tickerd/tickerd/protocol"
)

// restartable is a NATS server that can be restarted on the same port;
// with memory storage a restart loses every stream.
type restartable struct {
	t   *testing.T
	cfg ServerConfig
	srv *server.Server
}

func startRestartable(t *testing.T) *restartable {
	t.Helper()
	r := &restartable{t: t, cfg: ServerConfig{Port: testutil.FreePorts(t, 1)[0], StoreDir: t.TempDir(), MaxMemory: 256 << 20}}
	r.start()
	t.Cleanup(r.stop)
	return r
}

func (r *restartable) start() {
	r.t.Helper()
	s, err := StartServer(r.cfg, testLog())
	if err != nil {
		r.t.Fatal(err)
	}
	r.srv = s
}

func (r *restartable) stop() {
	if r.srv != nil {
		r.srv.Shutdown()
		r.srv.WaitForShutdown()
		r.srv = nil
	}
}

// TestFeedNodeRestartWithoutState restarts the NATS server (its memory
// streams are lost) and then the feed node, whose feed starts its seqs at
// 1 again, under an edge that watches a symbol and mirrors its trades.
// The new run has a higher epoch, so the edge passes the new seq space on
// within seconds (without epochs it dropped every update as not above
// the last one, and froze).
func TestFeedNodeRestartWithoutState(t *testing.T) {
	ns := startRestartable(t)
	f1 := newScripted("AAPL", "MSFT")
	tr1 := startTrio(t, ns.srv, testCfg, f1)
	e, sink, _ := startTestEdge(t, ns.srv, testCfg)
	e.Watch("AAPL", true)
	testutil.WaitFor(t, 5*time.Second, "the edge's subscription", func() bool { return e.Watching() == 1 })
	time.Sleep(100 * time.Millisecond)
	publish := func(f *testutil.DrivenFeed, from, to uint64) {
		f.Do(t, func(s feed.Sink) {
			for seq := from; seq <= to; seq++ {
				tk := testTick("AAPL", seq, 10000+int64(seq))
				s.Publish(&tk)
				td := testTrade("AAPL", seq)
				s.PublishTrade(&td)
			}
		})
	}
	const first = 1000 // more than the new run publishes in the test
	publish(f1, 1, first)
	testutil.WaitFor(t, 5*time.Second, "the first run at the edge", func() bool {
		ticks, trades := sink.tickList("AAPL"), sink.tradeList("AAPL")
		return len(ticks) > 0 && ticks[len(ticks)-1].seq == first && len(trades) == first
	})
	epoch1 := tr1.pub.epoch.Load()

	tr1.stop()
	ns.stop()
	ns.start()
	tr2 := startTrio(t, ns.srv, testCfg, newScripted("AAPL", "MSFT"))
	epoch2 := tr2.pub.epoch.Load()
	if epoch2 <= epoch1 {
		t.Fatalf("epoch after the restart %d, want above %d", epoch2, epoch1)
	}
	start := time.Now()
	var seq uint64
	if !testutil.Eventually(10*time.Second, func() bool {
		seq++
		publish(tr2.f, seq, seq)
		ticks, trades := sink.tickList("AAPL"), sink.tradeList("AAPL")
		return ticks[len(ticks)-1].epoch == epoch2 && len(trades) > first && trades[len(trades)-1].Epoch == epoch2
	}) {
		ticks := sink.tickList("AAPL")
		t.Fatalf("after %s the edge's last tick is epoch %d seq %d and it has %d trades; want epoch %d",
			time.Since(start), ticks[len(ticks)-1].epoch, ticks[len(ticks)-1].seq, len(sink.tradeList("AAPL")), epoch2)
	}
	t.Logf("the edge passed the new seq space on %s after the feed node came back", time.Since(start).Round(time.Millisecond))
	// In the new epoch the seqs start again, with nothing dropped.
	var newTrades []uint64
	for _, td := range sink.tradeList("AAPL") {
		if td.Epoch == epoch2 {
			newTrades = append(newTrades, td.Seq)
		}
	}
	if len(newTrades) == 0 || newTrades[0] != 1 {
		t.Errorf("trades of the new epoch at the edge %v, want them from seq 1", newTrades)
	}
	if st := e.Stats(); st.Resets < 2 {
		t.Errorf("Stats().Resets = %d, want at least 2 (quotes and trades)", st.Resets)
	}
	if h := e.Health(); h[1].Resyncs < 2 {
		t.Errorf("Health feed-node Resyncs = %d, want the resets counted", h[1].Resyncs)
	}
	testutil.WaitFor(t, 3*time.Second, "the edge ready", func() bool { return ready(e) == nil })
}

// TestEdgeReportsStale checks that updates dropped as older than what was
// delivered, for longer than Config.StaleAfter, make the Edge not ready
// with the symbol named, and that the next good update ends it.
func TestEdgeReportsStale(t *testing.T) {
	srv := startSingle(t)
	f := newScripted("AAPL")
	tr := startTrio(t, srv, testCfg, f)
	e, sink, _ := startTestEdge(t, srv, testCfg)
	e.Watch("AAPL", true)
	testutil.WaitFor(t, 5*time.Second, "the edge's subscription", func() bool { return e.Watching() == 1 })
	time.Sleep(100 * time.Millisecond)
	f.Do(t, func(s feed.Sink) {
		tk := testTick("AAPL", 10, 10000)
		s.Publish(&tk)
	})
	testutil.WaitFor(t, 5*time.Second, "the tick at the edge", func() bool { return len(sink.tickList("AAPL")) > 0 })

	// Ticks of an older epoch, as from a feed node whose clock is behind.
	epoch := tr.pub.epoch.Load()
	old := testTick("AAPL", 11, 10001)
	msg := protocol.AppendTick(appendEpoch(nil, epoch-1), &old)
	other := dialNATS(t, srv, "stale-feed")
	testutil.Eventually(5*time.Second, func() bool {
		if err := other.Publish("tickerd.sym.AAPL.tick", msg); err != nil {
			t.Fatal(err)
		}
		return ready(e) != nil
	})
	err := ready(e)
	if err == nil || !strings.Contains(err.Error(), "AAPL") || !strings.Contains(err.Error(), "stale") {
		t.Fatalf("ready(edge) = %v, want an error naming AAPL's stale updates", err)
	}
	t.Logf("Ready: %v", err)
	if e.Stats().Stale == 0 {
		t.Errorf("Stats().Stale = 0")
	}
	f.Do(t, func(s feed.Sink) {
		tk := testTick("AAPL", 11, 10002)
		s.Publish(&tk)
	})
	testutil.WaitFor(t, 3*time.Second, "the edge ready again", func() bool { return ready(e) == nil })
}
