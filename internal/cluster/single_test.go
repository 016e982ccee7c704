package cluster

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/internal/hubtest"
	"github.com/tickerd/tickerd/internal/testutil"
	"github.com/tickerd/tickerd/protocol"
)

func startSingle(t *testing.T) *server.Server {
	t.Helper()
	s, err := StartServer(ServerConfig{Port: -1, StoreDir: t.TempDir(), MaxMemory: 256 << 20}, testLog())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Shutdown()
		s.WaitForShutdown()
	})
	return s
}

func TestEdgeWithoutFeedNode(t *testing.T) {
	s := startSingle(t)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	_, err := NewEdge(ctx, dialNATS(t, s, "edge"), Config{}, testLog())
	if err == nil || !strings.Contains(err.Error(), "no symbol list") {
		t.Fatalf("NewEdge with no feed node: %v, want a no symbol list error", err)
	}
}

// recorder is a plain feed.Sink (no PublishEncoded): the Edge decodes.
type recorder struct {
	feed.SinkFuncs
	mu    sync.Mutex
	ticks map[string][]protocol.Tick
}

func (r *recorder) Publish(t *protocol.Tick) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ticks == nil {
		r.ticks = map[string][]protocol.Tick{}
	}
	r.ticks[t.Symbol] = append(r.ticks[t.Symbol], *t)
}

func (r *recorder) get(symbol string) []protocol.Tick {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]protocol.Tick(nil), r.ticks[symbol]...)
}

// TestSingleServer runs a publisher and an edge with a plain sink on one
// NATS server that is not clustered: the stream gets one replica, ticks
// decode to what the feed node encoded, and a restarted feed node
// continues the seqs.
func TestSingleServer(t *testing.T) {
	s := startSingle(t)
	ncFeed := dialNATS(t, s, "feed")
	cfg := Config{PublishOnly: true}

	// Every tick the feed node publishes, as published.
	raw := map[uint64][]byte{}
	var rawMu sync.Mutex
	sub, err := ncFeed.Subscribe("tickerd.sym.EUR_2FUSD.tick", func(m *nats.Msg) {
		_, frame, _ := cutEpoch(m.Data)
		_, _, seq, _, _ := protocol.ScanTick(frame)
		rawMu.Lock()
		raw[seq] = frame
		rawMu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()

	local := &recorder{}
	startPub := func() (stop func()) {
		pub, err := NewPublisher(ncFeed, market(t, 200), cfg, testLog())
		if err != nil {
			t.Fatal(err)
		}
		stop = hubtest.RunFeed(t, pub, local)
		testutil.WaitFor(t, 5*time.Second, "the feed node to publish", func() bool { return ready(pub) == nil })
		return stop
	}
	stopPub := startPub()

	js, err := jetstream.New(ncFeed)
	if err != nil {
		t.Fatal(err)
	}
	st, err := js.Stream(context.Background(), "tickerd_last")
	if err != nil {
		t.Fatal(err)
	}
	if got := st.CachedInfo().Config.Replicas; got != 1 {
		t.Errorf("stream replicas on a single server = %d, want 1", got)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	edge, err := NewEdge(ctx, dialNATS(t, s, "edge"), cfg, testLog())
	if err != nil {
		t.Fatal(err)
	}
	if got := len(edge.Symbols()); got != 10 {
		t.Fatalf("edge has %d symbols, want 10", got)
	}
	rec := &recorder{}
	stopEdge := hubtest.RunFeed(t, edge, rec)
	defer stopEdge()
	edge.Watch("EUR/USD", true)
	edge.Watch("NOPE", true) // unknown: ignored
	testutil.WaitFor(t, 5*time.Second, "20 EUR/USD ticks at the edge", func() bool { return len(rec.get("EUR/USD")) >= 20 })
	if got := rec.get("AAPL"); len(got) != 0 {
		t.Errorf("edge delivered %d AAPL ticks, which nobody watches", len(got))
	}
	for _, tk := range rec.get("EUR/USD") {
		rawMu.Lock()
		want, ok := raw[tk.Seq]
		rawMu.Unlock()
		if tk.PricePrec != 5 {
			t.Errorf("EUR/USD seq %d: price precision %d, want 5", tk.Seq, tk.PricePrec)
		}
		if got := protocol.AppendTick(nil, &tk); ok && string(got) != string(want) {
			t.Errorf("EUR/USD seq %d: edge decoded %s, feed node published %s", tk.Seq, got, want)
		}
	}

	// A new feed node whose simulator starts again at seq 1.
	stopPub()
	data, err := leaderLast(ctx, ncFeed, "tickerd_last", "tickerd.sym.EUR_2FUSD.tick")
	if err != nil || data == nil {
		t.Fatalf("stored EUR/USD tick: %q, %v", data, err)
	}
	_, frame, _ := cutEpoch(data)
	_, _, stored, _, _ := protocol.ScanTick(frame)
	testutil.WaitFor(t, 2*time.Second, "the edge to get the stored tick", func() bool {
		ticks := rec.get("EUR/USD")
		return ticks[len(ticks)-1].Seq == stored
	})
	n := len(rec.get("EUR/USD"))
	stopPub = startPub()
	defer stopPub()
	testutil.WaitFor(t, 5*time.Second, "EUR/USD ticks from the new feed node", func() bool { return len(rec.get("EUR/USD")) >= n+10 })
	if first := rec.get("EUR/USD")[n].Seq; first != stored+1 {
		t.Errorf("first seq from the restarted feed node = %d, want %d", first, stored+1)
	}

	if got := local.get("EUR/USD"); len(got) != 0 {
		t.Errorf("PublishOnly feed node gave its local sink %d ticks, want 0", len(got))
	}
	edge.Watch("EUR/USD", false)
	testutil.WaitFor(t, 2*time.Second, "the edge to unsubscribe", func() bool { return edge.Watching() == 0 })
}
