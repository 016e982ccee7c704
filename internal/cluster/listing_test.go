package cluster

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/internal/testutil"
	"github.com/tickerd/tickerd/protocol"
)

// TestListingsReachEdges lists and delists symbols on a running feed node:
// a running edge hands them to its sink, subscribes a new symbol a client
// already watches and mirrors its trades, and a new edge starts from the
// current list; the delisted symbol's stored state goes.
func TestListingsReachEdges(t *testing.T) {
	srv := startSingle(t)
	f := newScripted("AAPL", "MSFT")
	startTrio(t, srv, testCfg, f)
	f.Do(t, func(s feed.Sink) {
		tk := testTick("MSFT", 1, 40000)
		s.Publish(&tk)
	})
	e, sink, _ := startTestEdge(t, srv, testCfg)
	e.Watch("NEWCO", true) // a client asked before the listing reached the edge
	f.Do(t, func(s feed.Sink) {
		s.List([]feed.Symbol{testSymbol("NEWCO")})
		tk := testTick("NEWCO", 1, 500)
		s.Publish(&tk)
		td := testTrade("NEWCO", 1)
		s.PublishTrade(&td)
		s.Delist([]string{"MSFT"})
	})
	testutil.WaitFor(t, 5*time.Second, "the listing, the delisting and NEWCO's first tick and trade at the edge", func() bool {
		listed, delisted := sink.listings()
		return slices.Contains(listed, "NEWCO") && slices.Contains(delisted, "MSFT") &&
			len(sink.tickList("NEWCO")) == 1 && len(sink.tradeList("NEWCO")) == 1
	})
	if e.Watching() != 1 {
		t.Errorf("the edge watches %d symbols, want 1 (NEWCO)", e.Watching())
	}
	if listed, _ := sink.listings(); !slices.Equal(listed, []string{"NEWCO"}) {
		t.Errorf("listings at the edge %v, want [NEWCO] only (the others did not change)", listed)
	}

	e2, _, _ := startTestEdge(t, srv, testCfg)
	var got []string
	for _, s := range e2.Symbols() {
		got = append(got, s.Name)
	}
	if want := []string{"AAPL", "NEWCO"}; !slices.Equal(got, want) {
		t.Errorf("a new edge's symbols %v, want %v", got, want)
	}
	// The delisted symbol's last tick leaves the stream.
	probe := dialNATS(t, srv, "probe")
	testutil.WaitFor(t, 10*time.Second, "MSFT's stored tick to go", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		data, err := leaderLast(ctx, probe, "tickerd_last", "tickerd.sym.MSFT.tick")
		return err == nil && data == nil
	})
	body, err := e2.AppendSnapshots(context.Background(), nil)
	if err != nil || strings.Contains(string(body), "MSFT") || !strings.Contains(string(body), "NEWCO") {
		t.Errorf("AppendSnapshots on the new edge: %s, %v; want NEWCO and not MSFT", body, err)
	}
}

// TestAppendSnapshots checks that an edge that watches nothing answers
// with every symbol's last tick, as the feed node's hub would (the
// snapshot of the bytes the feed node encoded, in symbol order), with
// more symbols than one request reads; and that without NATS it says why
// instead of answering with part of the list.
func TestAppendSnapshots(t *testing.T) {
	ns := startRestartable(t)
	syms := names(multiLastMax + 300)
	f := newScripted(syms...)
	tr := startTrio(t, ns.srv, testCfg, f)
	f.Do(t, func(s feed.Sink) {
		for i, n := range syms[:len(syms)-1] { // the last one has no tick
			tk := testTick(n, 1, int64(1000+i))
			s.Publish(&tk)
		}
	})
	want := []byte{'['}
	for _, n := range syms[:len(syms)-1] {
		ticks := tr.local.tickList(n)
		if len(want) > 1 {
			want = append(want, ',')
		}
		want = protocol.SnapshotFromTick(want, []byte(ticks[0].frame))
	}
	want = append(want, ']')

	e, _, _ := startTestEdge(t, ns.srv, testCfg)
	var got []byte
	testutil.WaitFor(t, 5*time.Second, "every last tick from AppendSnapshots", func() bool {
		var err error
		got, err = e.AppendSnapshots(context.Background(), []byte("x"))
		if err != nil {
			t.Fatal(err)
		}
		return string(got) == "x"+string(want)
	})
	if e.Watching() != 0 {
		t.Errorf("the edge watches %d symbols, want 0", e.Watching())
	}

	ns.stop()
	time.Sleep(snapshotsFresh)
	got, err := e.AppendSnapshots(context.Background(), []byte("x"))
	if err == nil || string(got) != "x" {
		t.Fatalf("AppendSnapshots without NATS: %.40q, %v; want dst unchanged and an error", got, err)
	}
	t.Logf("without NATS: %v", err)
}
