package tickerd_test

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/tickerd/tickerd"
	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/internal/apptest"
	"github.com/tickerd/tickerd/internal/book"
	"github.com/tickerd/tickerd/internal/testutil"
	"github.com/tickerd/tickerd/protocol"
)

// startCluster starts an in-process NATS server, a feed node of f that
// also serves clients (RoleBoth) and edges reading from it, all ready.
func startCluster(t *testing.T, f feed.Feed, edges int) (feedNode *apptest.Server, edge []*apptest.Server) {
	t.Helper()
	return startClusterWith(t, f, edges, tickerd.Config{})
}

// startClusterWith is startCluster with edges of edgeCfg (its Cluster,
// ReadyMaxFeedAge and DrainWindow set as startCluster's).
func startClusterWith(t *testing.T, f feed.Feed, edges int, edgeCfg tickerd.Config) (feedNode *apptest.Server, edge []*apptest.Server) {
	t.Helper()
	ns := apptest.StartNATS(t)
	natsURL := []string{ns.ClientURL()}
	feedNode = apptest.Start(t, tickerd.Config{Feed: f,
		Cluster: tickerd.ClusterConfig{Role: tickerd.RoleBoth, NATS: natsURL}, ReadyMaxFeedAge: -1, DrainWindow: -1})
	waitStatus(t, "http://"+feedNode.Addr+"/readyz", 200)
	for range edges {
		cfg := edgeCfg
		cfg.Cluster = tickerd.ClusterConfig{Role: tickerd.RoleEdge, NATS: natsURL}
		cfg.ReadyMaxFeedAge, cfg.DrainWindow = -1, -1
		e := apptest.Start(t, cfg)
		waitStatus(t, "http://"+e.Addr+"/readyz", 200)
		edge = append(edge, e)
	}
	return feedNode, edge
}

// subscribe sends req (whose id is 1) and reads up to its "subscribed"
// reply, failing the test on anything else.
func subscribe(t *testing.T, c *testutil.Client, req string) {
	t.Helper()
	if err := c.Send(req); err != nil {
		t.Fatal(err)
	}
	m, err := c.Next(time.Now().Add(wait))
	if err != nil || m.Type != "subscribed" || string(m.ID) != "1" {
		t.Fatalf("%s: reply %s (%v), want subscribed with id 1", req, m.Raw, err)
	}
}

// reader reads a client's messages on its own goroutine, so the client
// keeps up while the test publishes, until done says it has what it
// wants or wait passes.
type reader struct {
	msgs []testutil.Msg
	err  error
	end  chan struct{}
}

func read(c *testutil.Client, done func(m testutil.Msg) bool) *reader {
	r := &reader{end: make(chan struct{})}
	go func() {
		defer close(r.end)
		deadline := time.Now().Add(wait)
		for {
			m, err := c.Next(deadline)
			if err != nil {
				r.err = err
				return
			}
			r.msgs = append(r.msgs, m)
			if done(m) {
				return
			}
		}
	}()
	return r
}

// result waits for r's goroutine and returns what it read.
func (r *reader) result(t *testing.T, name string) []testutil.Msg {
	t.Helper()
	<-r.end
	if r.err != nil {
		t.Fatalf("%s after %d messages: %v", name, len(r.msgs), r.err)
	}
	return r.msgs
}

// tapeSym trades in the tape tests.
var tapeSym = feed.Symbol{Name: "BTC-USD", Class: "crypto", PricePrec: 2, VolumePrec: 4, TickSize: decimal.New(1, -2)}

// tapeTrade is trade seq of tapeSym: every field depends on seq.
func tapeTrade(seq uint64) *protocol.Trade {
	tr := testutil.Trade(tapeSym.Name, seq,
		decimal.New(91500_00+int64(seq*7%50), -2).StringFixed(2), decimal.New(int64(1000+seq*37%900), -4).StringFixed(4))
	if seq%3 == 0 {
		tr.Side = protocol.SideSell
	}
	return tr
}

// trades decodes msgs, all trades: their seqs in order, each frame by
// seq without its "replay" member, and whether each was a replay.
func trades(t *testing.T, name string, msgs []testutil.Msg) (seqs []uint64, live map[uint64][]byte, replayed []bool) {
	t.Helper()
	live = make(map[uint64][]byte)
	for _, m := range msgs {
		if m.Type != "trade" {
			t.Errorf("%s: %s, want only trades", name, m.Raw)
			continue
		}
		tr, replay, err := protocol.DecodeTrade(m.Raw)
		if err != nil {
			t.Fatalf("%s: %s: %v", name, m.Raw, err)
		}
		seqs = append(seqs, tr.Seq)
		replayed = append(replayed, replay)
		live[tr.Seq] = bytes.Replace(m.Raw, []byte(`,"replay":true}`), []byte("}"), 1)
	}
	return seqs, live, replayed
}

// TestEdgeTradeResume: a client reads part of the tape on one edge,
// leaves, and resumes it with "since" on another edge after more trades:
// it gets every later trade once, in order, the ones the edge's history
// held as replays and then the live ones, with the bytes a client of the
// feed node got for the same seq.
func TestEdgeTradeResume(t *testing.T) {
	f := testutil.NewDrivenFeed(tapeSym)
	feedNode, edges := startCluster(t, f, 2)
	const sub = `{"op":"subscribe","channel":"trades","symbols":["BTC-USD"],"id":1}`
	const first, second, third = 20, 40, 55 // the last seq of each batch

	onFeed := feedNode.Dial(t, "")
	subscribe(t, onFeed, sub)
	feedReader := read(onFeed, func(m testutil.Msg) bool { return m.Seq == third })
	a := edges[0].Dial(t, "")
	subscribe(t, a, sub)
	aReader := read(a, func(m testutil.Msg) bool { return m.Seq == 10 })

	publish := func(from, to uint64) {
		f.Do(t, func(s feed.Sink) {
			for q := from; q <= to; q++ {
				s.PublishTrade(tapeTrade(q))
			}
		})
	}
	publish(1, first)
	aSeqs, aFrames, aReplayed := trades(t, "edge 1 client", aReader.result(t, "edge 1 client"))
	if !slices.Equal(aSeqs, testutil.SeqRange(1, 10)) || slices.Contains(aReplayed, true) {
		t.Fatalf("edge 1 client got seqs %v (replay %v), want 1…10 live", aSeqs, aReplayed)
	}
	a.Close()

	publish(first+1, second)
	// Edge 2 mirrors the whole tape: once its hub has taken every trade,
	// a resume there replays up to the last one.
	waitMetric(t, edges[1].Server, "tickerd_trades_total", func(v float64) bool { return v == second }, fmt.Sprint(second))
	b := edges[1].Dial(t, "")
	subscribe(t, b, `{"op":"subscribe","channel":"trades","symbols":["BTC-USD"],"since":{"BTC-USD":10},"id":1}`)
	bReader := read(b, func(m testutil.Msg) bool { return m.Seq == third })
	publish(second+1, third)

	bSeqs, bFrames, bReplayed := trades(t, "edge 2 client", bReader.result(t, "edge 2 client"))
	if !slices.Equal(bSeqs, testutil.SeqRange(11, third)) {
		t.Fatalf("resumed on edge 2 after seq 10, got seqs %v, want 11…%d: no hole, no duplicate", bSeqs, third)
	}
	for i, q := range bSeqs {
		if want := q <= second; bReplayed[i] != want {
			t.Errorf("edge 2 trade %d: replay %v, want %v (the tape held up to %d at the resume)", q, bReplayed[i], want, second)
		}
	}
	fSeqs, fFrames, fReplayed := trades(t, "feed node client", feedReader.result(t, "feed node client"))
	if !slices.Equal(fSeqs, testutil.SeqRange(1, third)) || slices.Contains(fReplayed, true) {
		t.Fatalf("feed node client got seqs %v (replay %v), want 1…%d live", fSeqs, fReplayed, third)
	}
	for _, got := range []struct {
		name   string
		frames map[uint64][]byte
	}{{"edge 1", aFrames}, {"edge 2", bFrames}} {
		for q, frame := range got.frames {
			if !bytes.Equal(frame, fFrames[q]) {
				t.Errorf("trade %d on %s (without replay)\n%s\non the feed node\n%s", q, got.name, frame, fFrames[q])
			}
		}
	}
}

// bookSim keeps a book of tapeSym that never crosses (bids at or below
// 100.00, asks above) and makes random but valid updates of it.
type bookSim struct {
	rnd        *rand.Rand
	bids, asks map[int64]int64 // price → size, fixed point
	seq        uint64
}

const bookMid = 100_00 // 100.00 at PricePrec 2

func newBookSim() *bookSim {
	s := &bookSim{rnd: rand.New(rand.NewPCG(16, 15)), bids: map[int64]int64{}, asks: map[int64]int64{}}
	for i := range int64(80) {
		s.bids[bookMid-i*2] = 1_0000 + i*311
		s.asks[bookMid+1+i*2] = 2_0000 + i*173
	}
	return s
}

func levels(m map[int64]int64, desc bool) []protocol.Level {
	var ls []protocol.Level
	for p, sz := range m {
		ls = append(ls, protocol.Level{Price: p, Size: sz})
	}
	slices.SortFunc(ls, func(a, b protocol.Level) int {
		if desc {
			return int(b.Price - a.Price)
		}
		return int(a.Price - b.Price)
	})
	return ls
}

func (s *bookSim) snapshot() *protocol.BookUpdate {
	s.seq++
	return &protocol.BookUpdate{Symbol: tapeSym.Name, Seq: s.seq, TS: time.Now().UnixNano(), Snapshot: true,
		Bids: levels(s.bids, true), Asks: levels(s.asks, false), PricePrec: 2, SizePrec: 4}
}

// delta changes one to four levels, mostly near the touch: a new size,
// a new level, or a level removed (each side keeps 40 or more).
func (s *bookSim) delta() *protocol.BookUpdate {
	s.seq++
	u := &protocol.BookUpdate{Symbol: tapeSym.Name, Seq: s.seq, TS: time.Now().UnixNano(), PricePrec: 2, SizePrec: 4}
	changed := map[int64]bool{}
	for range 1 + s.rnd.IntN(4) {
		bid := s.rnd.IntN(2) == 0
		off := int64(s.rnd.IntN(200))
		if s.rnd.IntN(2) == 0 {
			off = int64(s.rnd.IntN(30))
		}
		side, price := s.asks, bookMid+1+off
		if bid {
			side, price = s.bids, bookMid-off
		}
		if changed[price] {
			continue
		}
		changed[price] = true
		size := int64(1 + s.rnd.IntN(5_0000))
		if _, ok := side[price]; ok && len(side) > 40 && s.rnd.IntN(3) == 0 {
			size = 0
			delete(side, price)
		} else {
			side[price] = size
		}
		l := protocol.Level{Price: price, Size: size}
		if bid {
			u.Bids = append(u.Bids, l)
		} else {
			u.Asks = append(u.Asks, l)
		}
	}
	return u
}

// touch changes the best bid's size, so every depth's view changes.
func (s *bookSim) touch() *protocol.BookUpdate {
	s.seq++
	best := levels(s.bids, true)[0]
	best.Size++
	s.bids[best.Price] = best.Size
	return &protocol.BookUpdate{Symbol: tapeSym.Name, Seq: s.seq, TS: time.Now().UnixNano(), PricePrec: 2, SizePrec: 4,
		Bids: []protocol.Level{best}}
}

// bookClient is one book subscriber and what it read.
type bookClient struct {
	name   string
	depth  int
	since  uint64 // the feed's seq when the client subscribed
	reader *reader
}

// TestEdgeBookFrames: clients of the feed node and of two edges hold the
// same symbol's book at depths 10 and 50 while the feed changes it: every
// message applies with its checksum, a delta of a seq is the same bytes
// on every node (the first ones after an edge's snapshot too), an edge's
// snapshot is the feed node's view at its seq, and an edge client's first
// snapshot is not older than the feed's seq when the client subscribed:
// an edge that starts watching the book does not hand on the stored
// snapshot (up to Config.BookSnapshot old) when a fresher one is asked for.
func TestEdgeBookFrames(t *testing.T) {
	f := testutil.NewDrivenFeed(tapeSym)
	feedNode, edges := startCluster(t, f, 2)
	sim := newBookSim()
	f.Do(t, func(s feed.Sink) { s.PublishBook(sim.snapshot()) })
	const before, during, after = 150, 150, 200 // deltas before, while and after the edge clients subscribe
	last := uint64(1 + before + during + after + 1)

	var clients []*bookClient
	dial := func(name string, node *apptest.Server, depth int) {
		c := node.Dial(t, "")
		subscribe(t, c, fmt.Sprintf(`{"op":"subscribe","channel":"book","symbols":["BTC-USD"],"depth":%d,"id":1}`, depth))
		clients = append(clients, &bookClient{name: name, depth: depth, since: sim.seq,
			reader: read(c, func(m testutil.Msg) bool { return m.Seq == last })})
	}
	deltas := func(n int) {
		for range n {
			f.Do(t, func(s feed.Sink) { s.PublishBook(sim.delta()) })
			time.Sleep(time.Millisecond)
		}
	}
	dial("feed node depth 10", feedNode, 10)
	dial("feed node depth 50", feedNode, 50)
	deltas(before)
	dial("edge 1 depth 10", edges[0], 10)
	dial("edge 1 depth 50", edges[0], 50)
	deltas(during)
	dial("edge 2 depth 10", edges[1], 10)
	dial("edge 2 depth 50", edges[1], 50)
	deltas(after)
	f.Do(t, func(s feed.Sink) { s.PublishBook(sim.touch()) })

	// Per depth, the feed node's deltas by seq and its view after each seq.
	type ref struct {
		deltas map[uint64][]byte
		views  map[uint64]string
	}
	refs := map[int]*ref{}
	for _, c := range clients {
		msgs := c.reader.result(t, c.name)
		var mirror book.Mirror
		var m protocol.BookMessage
		r := refs[c.depth]
		if r == nil {
			r = &ref{deltas: map[uint64][]byte{}, views: map[uint64]string{}}
			refs[c.depth] = r
		}
		onFeed := strings.HasPrefix(c.name, "feed")
		var snapshots, compared int
		afterSnapshot := false
		for _, msg := range msgs {
			if err := protocol.DecodeBook(msg.Raw, &m); err != nil {
				t.Fatalf("%s: %s: %v", c.name, msg.Raw, err)
			}
			if m.Symbol != tapeSym.Name || m.Depth != c.depth {
				t.Fatalf("%s: %s, want BTC-USD depth %d", c.name, msg.Raw, c.depth)
			}
			if err := mirror.Apply(&m); err != nil {
				t.Fatalf("%s: %s: %v", c.name, msg.Raw, err)
			}
			bids, asks := mirror.AppendTop(nil, nil)
			view := fmt.Sprint(bids, asks)
			switch {
			case onFeed:
				r.views[m.Seq] = view
				if !m.Snapshot {
					r.deltas[m.Seq] = msg.Raw
				}
			case m.Snapshot:
				snapshots++
				t.Logf("%s: snapshot at seq %d, message %d", c.name, m.Seq, snapshots+compared)
				if snapshots == 1 && m.Seq < c.since {
					t.Errorf("%s: first snapshot at seq %d, older than the feed's seq %d when the client subscribed", c.name, m.Seq, c.since)
				}
				afterSnapshot = true
				if want, ok := r.views[m.Seq]; !ok {
					t.Errorf("%s: snapshot %d, a seq at which the feed node's client got no view", c.name, m.Seq)
				} else if view != want {
					t.Errorf("%s: snapshot %d holds %s, the feed node's view at %d is %s", c.name, m.Seq, view, m.Seq, want)
				}
			default:
				want, ok := r.deltas[m.Seq]
				if afterSnapshot && !ok {
					t.Errorf("%s: the feed node's client got no delta %d to compare the first one after a snapshot with", c.name, m.Seq)
				}
				afterSnapshot = false
				if ok {
					compared++
					if !bytes.Equal(msg.Raw, want) {
						t.Errorf("%s: delta %d\n%s\non the feed node\n%s", c.name, m.Seq, msg.Raw, want)
					}
				}
			}
		}
		if seq, valid := mirror.Seq(); !valid || seq != last {
			t.Errorf("%s: book at seq %d (valid %v), want %d", c.name, seq, valid, last)
		}
		if !onFeed {
			t.Logf("%s: %d messages, %d snapshots, %d deltas equal to the feed node's", c.name, len(msgs), snapshots, compared)
			if compared < 50 {
				t.Errorf("%s: %d deltas compared with the feed node's, want 50 or more", c.name, compared)
			}
		}
	}
}

// TestEdgeBookRewatch: a book an edge stopped following (its last client
// left) is not served to the next client: while the edge did not follow
// it the feed changed it, so the next client's first message is not older
// than the feed's seq when it subscribed, and every message applies with
// its checksum. The same on an edge that records what its hub is given
// (Config.Record).
func TestEdgeBookRewatch(t *testing.T) {
	t.Run("edge", func(t *testing.T) { testEdgeBookRewatch(t, tickerd.Config{}) })
	t.Run("recording edge", func(t *testing.T) { testEdgeBookRewatch(t, tickerd.Config{Record: io.Discard}) })
}

func testEdgeBookRewatch(t *testing.T, edgeCfg tickerd.Config) {
	f := testutil.NewDrivenFeed(tapeSym)
	_, edges := startClusterWith(t, f, 1, edgeCfg)
	edge := edges[0]
	sim := newBookSim()
	f.Do(t, func(s feed.Sink) { s.PublishBook(sim.snapshot()) })
	deltas := func(n int) {
		for range n {
			f.Do(t, func(s feed.Sink) { s.PublishBook(sim.delta()) })
			time.Sleep(time.Millisecond)
		}
		// The touch changes every depth's view: its seq is each view's.
		f.Do(t, func(s feed.Sink) { s.PublishBook(sim.touch()) })
	}
	const req = `{"op":"subscribe","channel":"book","symbols":["BTC-USD"],"depth":10,"id":1}`
	// check reads c's book messages up to seq last: every one applies, and
	// the first is not older than since.
	check := func(name string, c *testutil.Client, since, last uint64, more func()) {
		t.Helper()
		r := read(c, func(m testutil.Msg) bool { return m.Seq == last })
		if more != nil {
			more()
		}
		var mirror book.Mirror
		var m protocol.BookMessage
		for i, msg := range r.result(t, name) {
			if err := protocol.DecodeBook(msg.Raw, &m); err != nil {
				t.Fatalf("%s: %s: %v", name, msg.Raw, err)
			}
			if i == 0 && m.Seq < since {
				t.Errorf("%s: first book message at seq %d (snapshot %v), older than the feed's seq %d when the client subscribed",
					name, m.Seq, m.Snapshot, since)
			}
			if err := mirror.Apply(&m); err != nil {
				t.Errorf("%s: message %d %s: %v", name, i, msg.Raw, err)
			}
		}
		if seq, valid := mirror.Seq(); !valid || seq != last {
			t.Errorf("%s: book at seq %d (valid %v), want %d", name, seq, valid, last)
		}
	}

	deltas(50)
	first := edge.Dial(t, "")
	subscribe(t, first, req)
	check("first client", first, sim.seq, sim.seq, nil)
	first.Close()
	waitMetric(t, edge.Server, "tickerd_edge_watching", func(v float64) bool { return v == 0 }, "0: the edge's client left")

	deltas(300) // the edge does not follow them
	since := sim.seq
	second := edge.Dial(t, "")
	subscribe(t, second, req)
	check("second client", second, since, since+101, func() { deltas(100) })
}

// TestEdgeCandleFrames: an edge's candle history message and its live
// candle messages are the feed node's, byte for byte.
func TestEdgeCandleFrames(t *testing.T) {
	f := testutil.NewDrivenFeed(tapeSym)
	feedNode, edges := startCluster(t, f, 1)
	edge := edges[0]
	// Trades of the last eight seconds, two a second: closed 1s candles
	// for the history.
	base := time.Now().Truncate(time.Second).Add(-8 * time.Second).UnixNano()
	var seq uint64
	f.Do(t, func(s feed.Sink) {
		for i := range int64(16) {
			seq++
			tr := tapeTrade(seq)
			tr.TS = base + i*int64(time.Second)/2
			s.PublishTrade(tr)
		}
	})
	const sub = `{"op":"subscribe","channel":"candles","interval":"1s","symbols":["BTC-USD"],"id":1}`
	history := map[string][]byte{}
	readers := map[string]*reader{}
	subscribeCandles := func(name string, c *testutil.Client) {
		subscribe(t, c, sub)
		m, err := c.Next(time.Now().Add(wait))
		if err != nil || m.Type != "candles" {
			t.Fatalf("%s: %s (%v), want the candle history", name, m.Raw, err)
		}
		history[name] = m.Raw
	}
	// Once the clock has closed the last 1s candle, the 1s history stays
	// as it is.
	var onFeed *testutil.Client
	if !testutil.Eventually(wait, func() bool {
		if onFeed != nil {
			onFeed.Close()
		}
		onFeed = feedNode.Dial(t, "")
		subscribeCandles("feed node", onFeed)
		return !bytes.Contains(history["feed node"], []byte(`"closed":false`))
	}) {
		t.Fatalf("the feed node's last 1s candle is still open: %s", history["feed node"])
	}
	_, _, cs, err := protocol.DecodeCandles(history["feed node"])
	if err != nil || len(cs) < 8 {
		t.Fatalf("feed node history %s (%v), want 8 or more candles", history["feed node"], err)
	}
	// The edge reads the candle stream on its own goroutine: a client
	// that comes before it has read the last candles gets fewer. An open
	// candle's frames that the next one replaced in the stream before the
	// edge read them it never gets (a closed frame follows them), so no
	// count of updates tells when it is there: its history is the feed
	// node's once it is.
	var onEdge *testutil.Client
	tries := 0
	if !testutil.Eventually(wait, func() bool {
		tries++
		if onEdge != nil {
			onEdge.Close()
		}
		onEdge = edge.Dial(t, "")
		subscribeCandles("edge", onEdge)
		return bytes.Equal(history["edge"], history["feed node"])
	}) {
		t.Fatalf("candle history on the edge\n%s\non the feed node\n%s", history["edge"], history["feed node"])
	}
	t.Logf("the edge's history is the feed node's at subscribe %d", tries)
	// The live trades below end in a candle that closes by the clock.
	for name, c := range map[string]*testutil.Client{"feed node": onFeed, "edge": onEdge} {
		readers[name] = read(c, func(m testutil.Msg) bool {
			return m.Type == "candle" && strings.Contains(string(m.Raw), `"trades":4,"closed":true`)
		})
	}

	// Live: four trades in the next second, then the clock closes it.
	next := time.Now().Truncate(time.Second).Add(time.Second)
	time.Sleep(time.Until(next))
	for range 4 {
		f.Do(t, func(s feed.Sink) {
			seq++
			s.PublishTrade(tapeTrade(seq))
		})
		time.Sleep(150 * time.Millisecond)
	}
	got := map[string][][]byte{}
	for name, r := range readers {
		for _, m := range r.result(t, name) {
			if m.Type != "candle" {
				t.Errorf("%s: %s, want candles only", name, m.Raw)
			}
			got[name] = append(got[name], m.Raw)
		}
	}
	t.Logf("%d live candle messages", len(got["feed node"]))
	if len(got["feed node"]) < 2 {
		t.Errorf("feed node: %d live candle messages, want the open and the closed candle at least", len(got["feed node"]))
	}
	if !slices.EqualFunc(got["edge"], got["feed node"], bytes.Equal) {
		t.Errorf("live candles on the edge\n%s\non the feed node\n%s", bytes.Join(got["edge"], []byte("\n")), bytes.Join(got["feed node"], []byte("\n")))
	}
}
