package cluster

import (
	"context"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/internal/book"
	"github.com/tickerd/tickerd/internal/testutil"
	"github.com/tickerd/tickerd/protocol"
)

// bookReplay applies book updates as a hub does (internal/book, every
// depth wanted) and records, per seq, the book's levels and the message
// each depth got.
type bookReplay struct {
	b      *book.Book
	state  map[uint64]string                 // seq: every level and the checksum after it
	frames map[uint64][book.NumDepths]string // seq: the message of each depth ("" for none)
	fresh  [book.NumDepths]bool              // the depth's next delta is its first after a snapshot
}

func replayBook(t *testing.T, symbol string, us []protocol.BookUpdate) *bookReplay {
	t.Helper()
	r := &bookReplay{b: book.New(symbol, book.Config{}), state: map[uint64]string{}, frames: map[uint64][book.NumDepths]string{}}
	for i := range us {
		u := &us[i]
		if err := r.b.Apply(u, book.AllDepths); err != nil {
			t.Fatalf("apply %s seq %d (snapshot %v): %v", symbol, u.Seq, u.Snapshot, err)
		}
		bids, asks := r.b.AppendTop(nil, nil, math.MaxInt)
		_, _, ok := r.b.Snapshot(book.Depth10)
		r.state[u.Seq] = fmt.Sprint(bids, asks, ok)
		var fr [book.NumDepths]string
		for d := range book.NumDepths {
			if buf, _, ok := r.b.AppendDelta(nil, d); ok {
				fr[d] = string(buf)
			}
		}
		r.frames[u.Seq] = fr
	}
	return r
}

// testBook publishes a book that changes by seq: a snapshot at seq 1 of
// 30 levels a side, then one change per seq, in and beyond the top 10.
type testBook struct {
	symbol string
	seq    uint64
}

func (b *testBook) next() protocol.BookUpdate {
	b.seq++
	u := protocol.BookUpdate{Symbol: b.symbol, Seq: b.seq, TS: int64(b.seq) * 1e6, PricePrec: 2, SizePrec: 0}
	if b.seq == 1 {
		u.Snapshot = true
		for i := range int64(30) {
			u.Bids = append(u.Bids, protocol.Level{Price: 10000 - i, Size: 10 + i})
			u.Asks = append(u.Asks, protocol.Level{Price: 10001 + i, Size: 10 + i})
		}
		return u
	}
	depth := int64(b.seq*7) % 25
	size := int64(b.seq % 5) // 0 removes the level
	if b.seq%2 == 0 {
		u.Bids = []protocol.Level{{Price: 10000 - depth, Size: size}}
	} else {
		u.Asks = []protocol.Level{{Price: 10001 + depth, Size: size}}
	}
	return u
}

func (b *testBook) publish(t *testing.T, f *testutil.DrivenFeed, n int) {
	t.Helper()
	f.Do(t, func(s feed.Sink) {
		for range n {
			u := b.next()
			s.PublishBook(&u)
		}
	})
}

// publishStored publishes the book's first n updates through f and waits
// until the stream stores the snapshot at n.
func (b *testBook) publishStored(t *testing.T, srv *server.Server, f *testutil.DrivenFeed, n int) {
	t.Helper()
	b.publish(t, f, n)
	probe := dialNATS(t, srv, "probe")
	testutil.WaitFor(t, 5*time.Second, fmt.Sprintf("a snapshot of seq %d stored", n), func() bool {
		data, err := leaderLast(context.Background(), probe, "tickerd_last", "tickerd.sym."+b.symbol+".snap")
		var u protocol.BookUpdate
		return err == nil && decodeBookWire(data, &u) == nil && u.Seq == uint64(n)
	})
}

// TestBooksFollowInterest checks that an edge that starts watching a book
// hands its sink the stored snapshot and the updates that follow it; that
// once unwatched it has the sink drop the book, and after missing updates
// (unwatched for a while) it asks for a fresh snapshot and goes on from
// it; and that its book is the feed node's at
// every seq, with the same messages for every depth once each depth has
// changed after the snapshot.
func TestBooksFollowInterest(t *testing.T) {
	srv := startSingle(t)
	f := newScripted("BTC-USD", "AAPL")
	tr := startTrio(t, srv, testCfg, f)
	tb := &testBook{symbol: "BTC-USD"}
	tb.publishStored(t, srv, f, 20)
	e, sink, _ := startTestEdge(t, srv, testCfg)
	if got := sink.bookList("BTC-USD"); len(got) != 0 {
		t.Fatalf("the edge got %d book updates before anyone watched the book", len(got))
	}
	e.Watch("BTC-USD", true)
	testutil.WaitFor(t, 5*time.Second, "the stored snapshot at the edge", func() bool { return len(sink.bookList("BTC-USD")) > 0 })
	if first := sink.bookList("BTC-USD")[0]; !first.Snapshot || first.Seq != 20 {
		t.Fatalf("first book update at the edge: seq %d snapshot %v, want the stored snapshot of seq 20", first.Seq, first.Snapshot)
	}
	testutil.WaitFor(t, 5*time.Second, "the edge's subscription", func() bool { return e.Watching() == 1 })
	time.Sleep(100 * time.Millisecond) // the server has the interest
	tb.publish(t, f, 20)               // 21 to 40
	testutil.WaitFor(t, 5*time.Second, "updates to seq 40 at the edge", func() bool {
		us := sink.bookList("BTC-USD")
		return us[len(us)-1].Seq == 40
	})

	// Missed updates: 41 to 50 while nobody watches, then 51 on.
	e.Watch("BTC-USD", false)
	testutil.WaitFor(t, 5*time.Second, "the edge to unsubscribe", func() bool { return e.Watching() == 0 })
	tb.publish(t, f, 10)
	if err := tr.pub.nc.Flush(); err != nil { // 41 to 50 reached the server, which had no interest
		t.Fatal(err)
	}
	e.Watch("BTC-USD", true)
	testutil.WaitFor(t, 5*time.Second, "the edge's subscription", func() bool { return e.Watching() == 1 })
	time.Sleep(100 * time.Millisecond)
	deadline := time.Now().Add(5 * time.Second)
	for {
		tb.publish(t, f, 1)
		us := sink.bookList("BTC-USD")
		if last := us[len(us)-1]; last.Seq > 51 && !last.Snapshot && slices.ContainsFunc(us, func(u protocol.BookUpdate) bool { return u.Snapshot && u.Seq > 40 }) {
			break
		}
		if time.Now().After(deadline) {
			var seqs []string
			for _, u := range us {
				seqs = append(seqs, fmt.Sprint(u.Seq, u.Snapshot))
			}
			t.Fatalf("the edge did not resync the book: last update %d; %v", us[len(us)-1].Seq, seqs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The sink forgot the book when the edge stopped following it, and
	// was handed a snapshot first when it followed it again.
	if drops := sink.drops("BTC-USD"); len(drops) != 1 {
		t.Errorf("the sink was told to drop the book %d times, want once (on the unwatch)", len(drops))
	} else if us := sink.bookList("BTC-USD"); drops[0] < 20 || !us[drops[0]].Snapshot {
		t.Errorf("after the drop (%d updates in) the sink got %+v first, want a snapshot", drops[0], us[drops[0]])
	}

	// Every update the edge handed on follows the one before (or is a
	// snapshot), and gives the feed node's book at that seq.
	edge := sink.bookList("BTC-USD")
	for i := 1; i < len(edge); i++ {
		if !edge[i].Snapshot && edge[i].Seq != edge[i-1].Seq+1 {
			t.Errorf("edge book update %d after %d is not a snapshot", edge[i].Seq, edge[i-1].Seq)
		}
	}
	feedSide := replayBook(t, "BTC-USD", tr.local.bookList("BTC-USD"))
	edgeSide := replayBook(t, "BTC-USD", edge)
	compared := 0
	for _, u := range edge {
		if got, want := edgeSide.state[u.Seq], feedSide.state[u.Seq]; got != want {
			t.Errorf("book at seq %d: edge %s, feed node %s", u.Seq, got, want)
		}
		if u.Snapshot {
			edgeSide.fresh = [book.NumDepths]bool{true, true, true}
			continue
		}
		for d := range book.NumDepths {
			got := edgeSide.frames[u.Seq][d]
			if got == "" {
				continue
			}
			if edgeSide.fresh[d] {
				edgeSide.fresh[d] = false // its prev_seq is the snapshot's seq
				continue
			}
			compared++
			if want := feedSide.frames[u.Seq][d]; got != want {
				t.Errorf("depth %d seq %d: edge %s, feed node %s", d.Levels(), u.Seq, got, want)
			}
		}
	}
	if compared < 20 {
		t.Errorf("compared %d messages, want at least 20", compared)
	}
}

// TestStoredBookWithoutFeedNode checks that an edge that starts watching a
// book while the feed node is down (nobody answers its want) hands its
// sink the stored snapshot after freshWait, and counts it.
func TestStoredBookWithoutFeedNode(t *testing.T) {
	srv := startSingle(t)
	f := newScripted("BTC-USD")
	tr := startTrio(t, srv, testCfg, f)
	tb := &testBook{symbol: "BTC-USD"}
	tb.publishStored(t, srv, f, 20)
	e, sink, _ := startTestEdge(t, srv, testCfg)
	tr.stop()
	start := time.Now()
	e.Watch("BTC-USD", true)
	testutil.WaitFor(t, 5*time.Second, "the stored snapshot at the edge", func() bool { return len(sink.bookList("BTC-USD")) > 0 })
	if waited := time.Since(start); waited < freshWait-50*time.Millisecond {
		t.Errorf("the stored snapshot came after %v, before freshWait (%v)", waited, freshWait)
	}
	if first := sink.bookList("BTC-USD")[0]; !first.Snapshot || first.Seq != 20 {
		t.Fatalf("first book update at the edge: seq %d snapshot %v, want the stored snapshot of seq 20", first.Seq, first.Snapshot)
	}
	if n := e.Stats().StoredBooks; n != 1 {
		t.Errorf("Stats().StoredBooks = %d, want 1", n)
	}
}
