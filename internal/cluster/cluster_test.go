package cluster

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/tickerd/tickerd/feed/sim"
	"github.com/tickerd/tickerd/internal/hubtest"
	"github.com/tickerd/tickerd/internal/testutil"
)

// clusterCfg makes failures show within a second in tests.
var clusterCfg = Config{Replicas: 3, Heartbeat: 100 * time.Millisecond, FeedTimeout: 500 * time.Millisecond, Settle: 300 * time.Millisecond}

// market is the first ten symbols of the simulated universe, EUR/USD among
// them, round-robin at rate updates a second.
func market(t *testing.T, rate float64) *gate {
	t.Helper()
	m, err := sim.New(sim.Config{Seed: 7, Rate: rate, Symbols: 10, Steady: true})
	if err != nil {
		t.Fatal(err)
	}
	return &gate{Feed: m}
}

func startFeedNode(t *testing.T, nc *nats.Conn, g *gate) (*hubtest.Server, *Publisher) {
	t.Helper()
	pub, err := NewPublisher(nc, g, clusterCfg, testLog())
	if err != nil {
		t.Fatal(err)
	}
	n := startNode(t, pub)
	testutil.WaitFor(t, 20*time.Second, "the feed node to publish", func() bool { return ready(pub) == nil })
	return n, pub
}

func startEdge(t *testing.T, nc *nats.Conn) (*hubtest.Server, *Edge) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	e, err := NewEdge(ctx, nc, clusterCfg, testLog())
	if err != nil {
		t.Fatal(err)
	}
	n := startNode(t, e)
	testutil.WaitFor(t, 5*time.Second, "the edge to hear the feed node", func() bool { return ready(e) == nil })
	return n, e
}

// why is err's message, or "" for nil.
func why(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestCluster runs a three-server NATS cluster, a feed node and edges, and
// checks what clients see through a server crash, a late join and a feed
// node restart.
func TestCluster(t *testing.T) {
	nc := startNATSCluster(t, 3)
	watch := []string{"AAPL", "BTC-USD", "EUR/USD"}

	g := market(t, 300) // each of the ten symbols 30 times a second
	feedConn := dialNATS(t, nc.servers[0], "feed")
	feedNode, pub := startFeedNode(t, feedConn, g)
	ncA := dialNATS(t, nc.servers[1], "edge-a")
	edgeA, eA := startEdge(t, ncA)
	edgeB, eB := startEdge(t, dialNATS(t, nc.servers[2], "edge-b"))

	cA := dialClient(t, "client-a", edgeA.Addr, watch...)
	cB := dialClient(t, "client-b", edgeB.Addr, append(watch, "MSFT")...)
	cA.waitTicks(t, 10*time.Second, nil, 20, watch...)
	cB.waitTicks(t, 10*time.Second, nil, 20, watch...)

	t.Run("same ticks on both edges and the feed node", func(t *testing.T) {
		cF := dialClient(t, "client-feed", feedNode.Addr, watch...)
		waitCommon(t, 10*time.Second, cA, cB, 10, watch...)
		waitCommon(t, 10*time.Second, cA, cF, 10, watch...)
		cF.check()
		cF.close()
	})

	t.Run("NATS server killed", func(t *testing.T) {
		victim := nc.byName(ncA.ConnectedServerName())
		if victim < 0 {
			t.Fatalf("edge A is connected to unknown server %q", ncA.ConnectedServerName())
		}
		before := cA.counts()
		nc.kill(victim)
		testutil.WaitFor(t, 10*time.Second, "edge A to reconnect", func() bool {
			return ncA.IsConnected() && ncA.Stats().Reconnects > 0
		})
		if got := ncA.ConnectedServerName(); got == nc.servers[victim].Name() {
			t.Errorf("edge A reconnected to the killed server %s", got)
		}
		cA.waitTicks(t, 10*time.Second, before, 20, watch...)
		cA.check()
		cB.check()
		common := map[string]int{}
		for _, s := range watch {
			common[s] = commonSeqs(cA, cB, s)
		}
		for _, s := range watch {
			waitCommon(t, 10*time.Second, cA, cB, common[s]+10, s)
		}
	})

	t.Run("late client on a new edge gets the stored state", func(t *testing.T) {
		// The stream may have lost its leader with the server: ticks
		// published until a new one is elected reach the edges but are
		// not stored, and the feed node republishes the last ones then.
		g.shut.Store(true) // no more ticks: a snapshot can only come from the stream
		defer g.shut.Store(false)
		testutil.WaitFor(t, 30*time.Second, "the stream to hold the feed node's last ticks", func() bool {
			return storedIsLatest(t, feedConn, pub, watch...)
		})
		live := nc.byName(ncA.ConnectedServerName()) // a server that is up
		edgeC, _ := startEdge(t, dialNATS(t, nc.servers[live], "edge-c"))
		start := time.Now()
		cC := dialClient(t, "client-c", edgeC.Addr, watch...)
		cC.waitTicks(t, 2*time.Second, nil, 1, watch...)
		t.Logf("snapshots of %d symbols on a fresh edge in %s", len(watch), time.Since(start).Round(time.Millisecond))
		for _, s := range watch {
			cC.mu.Lock()
			first := cC.first[s]
			cC.mu.Unlock()
			_, lastA := cA.seen(s)
			if first.Type != "snapshot" || first.Seq != lastA {
				t.Errorf("%s: first message on the new edge is %s seq %d, want snapshot seq %d", s, first.Type, first.Seq, lastA)
			}
			got, _ := cC.body(s, first.Seq)
			want, _ := cA.body(s, lastA)
			if got != want {
				t.Errorf("%s: snapshot %s, client A had %s", s, got, want)
			}
		}
		cC.check()
	})

	t.Run("interest follows local clients", func(t *testing.T) {
		const sym, subj = "MSFT", "tickerd.sym.MSFT.*" // only client B watches MSFT
		if n := nc.literalSubs(t, subj); n == 0 {
			t.Fatalf("no subscription on %s while client B watches MSFT", subj)
		}
		subsBefore, watchingBefore := eBConn(eB).NumSubscriptions(), eB.Watching()
		cB.send(map[string]any{"op": "unsubscribe", "symbols": []string{sym}})
		testutil.WaitFor(t, 5*time.Second, "the MSFT subscription to go", func() bool {
			return nc.literalSubs(t, subj) == 0
		})
		if got, want := eBConn(eB).NumSubscriptions(), subsBefore-1; got != want {
			t.Errorf("edge B has %d NATS subscriptions, want %d", got, want)
		}
		if got, want := eB.Watching(), watchingBefore-1; got != want {
			t.Errorf("edge B watches %d symbols, want %d", got, want)
		}
		cB.send(map[string]any{"op": "subscribe", "symbols": []string{sym}})
		testutil.WaitFor(t, 5*time.Second, "the MSFT subscription to come back", func() bool {
			return nc.literalSubs(t, subj) == 1
		})
	})

	// The feed node restarts; this is not a subtest because the new feed
	// node must outlive it.
	t.Log("feed node restart")
	feedNode.Stop()
	testutil.WaitFor(t, 3*time.Second, "edges to report the feed node gone", func() bool {
		return strings.Contains(why(ready(eA)), "heartbeat") && strings.Contains(why(ready(eB)), "heartbeat")
	})
	t.Logf("edge A health while the feed node is down: %s", why(ready(eA)))
	before := cA.counts()
	_, lastBefore := cA.seen("AAPL")
	// A new simulator starts its seqs at 1 again.
	startFeedNode(t, dialNATS(t, nc.servers[nc.byName(ncA.ConnectedServerName())], "feed-2"), market(t, 300))
	cA.waitTicks(t, 10*time.Second, before, 20, watch...)
	cB.waitTicks(t, 10*time.Second, before, 20, watch...)
	// 20 more ticks, so at least 20 more seqs: the new feed node's seqs
	// continue above the old ones instead of starting again at 1.
	if _, last := cA.seen("AAPL"); last < lastBefore+20 {
		t.Errorf("AAPL seq %d after the restart, want at least %d", last, lastBefore+20)
	}
	testutil.WaitFor(t, 3*time.Second, "edges healthy again", func() bool {
		return ready(eA) == nil && ready(eB) == nil
	})
	for _, s := range watch {
		sameBodies(t, cA, cB, s)
	}

	t.Run("whole NATS cluster down and back", func(t *testing.T) {
		for i := range nc.servers {
			nc.kill(i)
		}
		testutil.WaitFor(t, 3*time.Second, "edges to report NATS down", func() bool {
			return strings.Contains(why(ready(eA)), "nats connection") && strings.Contains(why(ready(eB)), "nats connection")
		})
		t.Logf("edge A health while NATS is down: %s", why(ready(eA)))
		// A client arriving now still gets the last state.
		c2 := dialClient(t, "client-a2", edgeA.Addr, watch...)
		c2.waitTicks(t, 2*time.Second, nil, 1, watch...)
		for _, s := range watch {
			c2.mu.Lock()
			first := c2.first[s]
			c2.mu.Unlock()
			if _, last := cA.seen(s); first.Type != "snapshot" || first.Seq != last {
				t.Errorf("%s during the outage: got %s seq %d, want snapshot seq %d", s, first.Type, first.Seq, last)
			}
		}
		c2.check()

		before := cA.counts()
		beforeB := cB.counts()
		for i := range nc.servers {
			nc.start(i)
		}
		nc.waitRoutes()
		cA.waitTicks(t, 20*time.Second, before, 20, watch...)
		cB.waitTicks(t, 10*time.Second, beforeB, 20, watch...)
		testutil.WaitFor(t, 5*time.Second, "edges ready again", func() bool { return ready(eA) == nil && ready(eB) == nil })
		// The restarted cluster lost the in-memory stream; the feed node
		// put the symbol list back, so a new edge can start.
		testutil.WaitFor(t, 30*time.Second, "the stream to have a leader", func() bool {
			return streamLeader(t, ncA) != ""
		})
		startEdge(t, dialNATS(t, nc.servers[0], "edge-d"))
		for _, s := range watch {
			sameBodies(t, cA, cB, s)
		}
	})

	cA.check()
	cB.check()
	if t.Failed() {
		t.Logf("edge A health: %s; edge B health: %s", why(ready(eA)), why(ready(eB)))
	}
}

// storedIsLatest reports whether the stream's leader holds the last tick
// pub published for each symbol.
func storedIsLatest(t *testing.T, nc *nats.Conn, pub *Publisher, symbols ...string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	for _, s := range symbols {
		got, err := leaderLast(ctx, nc, "tickerd_last", "tickerd.sym."+SubjectToken(s)+".tick")
		r := pub.run.Load()
		if r == nil {
			return false
		}
		r.mu.Lock()
		want := string(r.syms[s].latest)
		r.mu.Unlock()
		if err != nil || string(got) != want {
			return false
		}
	}
	return true
}

// streamLeader returns the name of the stream's leader, "" if it has none
// or cannot be asked.
func streamLeader(t *testing.T, nc *nats.Conn) string {
	t.Helper()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	st, err := js.Stream(ctx, "tickerd_last")
	if err != nil || st.CachedInfo().Cluster == nil {
		return ""
	}
	return st.CachedInfo().Cluster.Leader
}

func eBConn(e *Edge) *nats.Conn { return e.nc }
