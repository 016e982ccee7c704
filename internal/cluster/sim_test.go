package cluster

import (
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/feed/sim"
	"github.com/tickerd/tickerd/internal/testutil"
	"github.com/tickerd/tickerd/protocol"
)

// TestSimulatedMarket runs the simulated market in universe mode (quotes,
// trades, books, options listed and delisted by the simulated day)
// through a feed node and an edge that starts with it and watches two
// books: when the feed node stops, the edge has every trade of every
// symbol still listed, the same as the feed node's own sink, the same
// symbol list, and books that were the feed node's at every seq it handed
// on.
func TestSimulatedMarket(t *testing.T) {
	m, err := sim.New(sim.Config{Seed: 3, Rate: 3000, Universe: 400, DayLength: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	srv := startSingle(t)
	_, local, stop := startPublisher(t, srv, testCfg, m)
	e, sink, _ := startTestEdge(t, srv, testCfg)
	watch := []string{"BTC-USD", "AAPL"}
	for _, s := range watch {
		e.Watch(s, true)
	}
	time.Sleep(2 * time.Second)
	stop()

	// The symbol list.
	universe := func(first []feed.Symbol, r *rec) map[string]bool {
		set := map[string]bool{}
		for _, s := range first {
			set[s.Name] = true
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		// Listings and delistings in the order they came.
		for _, n := range r.listed {
			set[n] = true
		}
		for _, n := range r.delisted {
			delete(set, n)
		}
		return set
	}
	_, delisted := local.listings()
	if len(delisted) == 0 {
		t.Fatal("the simulated market delisted nothing: make its days shorter")
	}
	want := universe(m.Symbols(), local)
	testutil.WaitFor(t, 5*time.Second, "the edge's symbol list", func() bool {
		return maps.Equal(universe(e.Symbols(), sink), want)
	})

	// Every trade of every listed symbol.
	traded := 0
	for name := range want {
		lt := local.tradeList(name)
		if len(lt) == 0 {
			continue
		}
		traded++
		testutil.WaitFor(t, 5*time.Second, name+"'s trades at the edge", func() bool { return len(sink.tradeList(name)) >= len(lt) })
		et := sink.tradeList(name)
		if !slices.EqualFunc(et, lt, func(a, b protocol.Trade) bool {
			return a.Epoch == b.Epoch && string(protocol.AppendTrade(nil, &a)) == string(protocol.AppendTrade(nil, &b))
		}) {
			t.Errorf("%s: the edge has %d trades (seqs %v…), the feed node %d (seqs %v…)", name, len(et), seqsOf(et[:min(5, len(et))]), len(lt), seqsOf(lt[:min(5, len(lt))]))
		}
	}
	if traded < 50 {
		t.Errorf("%d symbols traded, want at least 50", traded)
	}

	// The watched books.
	for _, name := range watch {
		edge := sink.bookList(name)
		if len(edge) == 0 || !edge[0].Snapshot {
			t.Fatalf("%s: the edge's book starts with %d updates, want a snapshot first", name, len(edge))
		}
		feedSide, edgeSide := replayBook(t, name, local.bookList(name)), replayBook(t, name, edge)
		for _, u := range edge {
			if got, want := edgeSide.state[u.Seq], feedSide.state[u.Seq]; got != want {
				t.Fatalf("%s book at seq %d: edge %.200s, feed node %.200s", name, u.Seq, got, want)
			}
		}
		t.Logf("%s: %d book updates at the edge, %d at the feed node", name, len(edge), len(local.bookList(name)))
	}
}
