package hub_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tickerd/tickerd/hub"
	"github.com/tickerd/tickerd/internal/book"
	"github.com/tickerd/tickerd/internal/testutil"
	"github.com/tickerd/tickerd/protocol"
)

// bookFeed makes book updates of one symbol: bids below 10000 and asks
// above (never crossed), most changes near the touch. ref is the book
// they give, for comparing what clients end with.
type bookFeed struct {
	r   *rand.Rand
	sym string
	seq uint64
	ref *book.Book
}

func newBookFeed(sym string, seed uint64) *bookFeed {
	return &bookFeed{r: rand.New(rand.NewPCG(seed, 1)), sym: sym, ref: book.New(sym, book.Config{})}
}

// snapshot returns a snapshot of levels levels a side.
func (f *bookFeed) snapshot(levels int) *protocol.BookUpdate {
	f.seq++
	u := &protocol.BookUpdate{Symbol: f.sym, Seq: f.seq, TS: time.Now().UnixNano(), Snapshot: true, PricePrec: 2, SizePrec: 2}
	for k := range levels {
		u.Bids = append(u.Bids, protocol.Level{Price: 9999 - int64(k), Size: 100 + int64(k)})
		u.Asks = append(u.Asks, protocol.Level{Price: 10001 + int64(k), Size: 200 + int64(k)})
	}
	return f.apply(u)
}

// delta returns a change of n levels.
func (f *bookFeed) delta(n int) *protocol.BookUpdate {
	f.seq++
	u := &protocol.BookUpdate{Symbol: f.sym, Seq: f.seq, TS: time.Now().UnixNano(), PricePrec: 2, SizePrec: 2}
	for range n {
		k := int64(f.r.ExpFloat64() * 15)
		size := f.r.Int64N(5) * 10 // a quarter removes the level
		if f.r.IntN(2) == 0 {
			u.Bids = append(u.Bids, protocol.Level{Price: 9999 - k, Size: size})
		} else {
			u.Asks = append(u.Asks, protocol.Level{Price: 10001 + k, Size: size})
		}
	}
	return f.apply(u)
}

func (f *bookFeed) apply(u *protocol.BookUpdate) *protocol.BookUpdate {
	if err := f.ref.Apply(u, book.AllDepths); err != nil {
		panic(err)
	}
	return u
}

// viewSeq returns the version of the reference book's view of depth
// levels.
func (f *bookFeed) viewSeq(levels int) uint64 {
	d, _ := book.ParseDepth(levels)
	return f.ref.Views()[d].Seq
}

// top returns the reference book's top levels, as text.
func (f *bookFeed) top(levels int) string {
	bids, asks := f.ref.AppendTop(nil, nil, levels)
	return fmt.Sprint(bids, asks)
}

// bookReader keeps a client's mirror of one depth of a book.
type bookReader struct {
	c         *testutil.Client
	m         book.Mirror
	msg       protocol.BookMessage
	snapshots int
	deltas    int
}

// next reads the next book message and applies it; it fails the test if
// the message does not apply or its checksum does not match.
func (br *bookReader) next(t testing.TB) protocol.BookMessage {
	t.Helper()
	m := nextOf(t, br.c, "book")
	if err := protocol.DecodeBook(m.Raw, &br.msg); err != nil {
		t.Fatalf("%v: %s", err, m.Raw)
	}
	if err := br.m.Apply(&br.msg); err != nil {
		t.Fatalf("message does not apply: %v: %s", err, m.Raw)
	}
	if br.msg.Snapshot {
		br.snapshots++
	} else {
		br.deltas++
	}
	return br.msg
}

// catchUp reads until the mirror is at seq.
func (br *bookReader) catchUp(t testing.TB, seq uint64) {
	t.Helper()
	for {
		if s, ok := br.m.Seq(); ok && s == seq {
			return
		}
		if m := br.next(t); m.Seq > seq {
			t.Fatalf("book message at seq %d, past %d", m.Seq, seq)
		}
	}
}

func (br *bookReader) top() string {
	bids, asks := br.m.AppendTop(nil, nil)
	return fmt.Sprint(bids, asks)
}

func subscribeBook(t testing.TB, c *testutil.Client, sym string, depth int) {
	t.Helper()
	subscribe(t, c, fmt.Sprintf(`{"op":"subscribe","channel":"book","symbols":["%s"],"depth":%d,"id":9}`, sym, depth), "9")
}

func TestBookDeltasApply(t *testing.T) {
	// Every message a client gets applies to its book and its checksum
	// matches; at the end each depth's mirror is the server's view.
	srv := startHub(t, hub.Config{}, nil)
	f := newBookFeed("AAPL", 1)
	srv.h.PublishBook(f.snapshot(300))
	readers := map[int]*bookReader{}
	for _, depth := range []int{10, 50, 200} {
		br := &bookReader{c: srv.dial(t, "")}
		subscribeBook(t, br.c, "AAPL", depth)
		if m := br.next(t); !m.Snapshot || m.Depth != depth {
			t.Fatalf("depth %d: first message snapshot=%v depth %d, want a snapshot", depth, m.Snapshot, m.Depth)
		}
		readers[depth] = br
	}
	// Paced: each client reads each change, so it gets deltas.
	for range 300 {
		srv.h.PublishBook(f.delta(1 + f.r.IntN(4)))
		for depth, br := range readers {
			br.catchUp(t, f.viewSeq(depth))
		}
	}
	paced := map[int]int{}
	for depth, br := range readers {
		if br.snapshots != 1 {
			t.Errorf("depth %d: %d snapshots while keeping up, want 1", depth, br.snapshots)
		}
		paced[depth] = br.deltas
	}
	// Flat out: clients fall behind, and catch up with snapshots.
	for range 3000 {
		srv.h.PublishBook(f.delta(1 + f.r.IntN(4)))
	}
	for depth, br := range readers {
		br.catchUp(t, f.viewSeq(depth))
		if got, want := br.top(), f.top(depth); got != want {
			t.Errorf("depth %d: mirror %s, want %s", depth, got, want)
		}
		if paced[depth] < 100 {
			t.Errorf("depth %d: %d deltas for 300 changes read one by one", depth, paced[depth])
		}
		t.Logf("depth %d: %d snapshots, %d deltas", depth, br.snapshots, br.deltas)
	}
	if st := srv.h.Stats(); st.Books != 3301 || st.BookErrors != 0 {
		t.Errorf("Books %d BookErrors %d, want 3301 0", st.Books, st.BookErrors)
	}
}

func TestBookStalledReaderGetsSnapshot(t *testing.T) {
	// A reader that stops for seconds while the book changes thousands of
	// times is not closed; when it reads again it gets a snapshot at the
	// current version instead of the deltas it missed, then deltas.
	forTransports(t, testBookStalledReaderGetsSnapshot)
}

func testBookStalledReaderGetsSnapshot(t *testing.T, tr transport) {
	srv := startHubOn(t, tr, hub.Config{}, nil)
	f := newBookFeed("AAPL", 2)
	srv.h.PublishBook(f.snapshot(300))
	c, err := testutil.DialWith(srv.dialer(4096), srv.url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := &bookReader{c: c}
	subscribeBook(t, c, "AAPL", 200)
	br.next(t)
	end := time.Now().Add(2 * time.Second)
	for time.Now().Before(end) { // the reader reads nothing meanwhile
		for range 100 {
			srv.h.PublishBook(f.delta(3))
		}
		time.Sleep(time.Millisecond)
	}
	br.catchUp(t, f.viewSeq(200))
	if got, want := br.top(), f.top(200); got != want {
		t.Errorf("mirror %s, want %s", got, want)
	}
	if br.snapshots < 2 {
		t.Errorf("%d snapshots after %d updates, want a second one: the reader got every delta", br.snapshots, f.seq)
	}
	// And it gets deltas again.
	d := br.deltas
	for range 10 {
		srv.h.PublishBook(f.delta(2))
		br.catchUp(t, f.viewSeq(200))
	}
	if br.deltas == d {
		t.Error("no delta after the catch-up")
	}
	t.Logf("%d updates: %d snapshots, %d deltas; hub sent %d snapshots", f.seq, br.snapshots, br.deltas, srv.h.Stats().BookSnapshots)
	checkServed(t, c, "2")
}

func TestBookDepthBoundary(t *testing.T) {
	// Levels enter the top 10 when better ones leave and leave it when
	// better ones come: a depth-10 client always holds the server's top
	// 10 levels exactly.
	srv := startHub(t, hub.Config{}, nil)
	f := newBookFeed("AAPL", 3)
	srv.h.PublishBook(f.snapshot(12)) // bids 9999..9988
	br := &bookReader{c: srv.dial(t, "")}
	subscribeBook(t, br.c, "AAPL", 10)
	br.next(t)
	steps := []*protocol.BookUpdate{
		// The best two bids go: 9989 and 9988 enter.
		{Bids: []protocol.Level{{Price: 9999}, {Price: 9998}}},
		// A better bid comes: 9988 leaves.
		{Bids: []protocol.Level{{Price: 10000 - 1, Size: 5}}},
		// A change below the top 10 sends nothing to depth 10.
		{Bids: []protocol.Level{{Price: 9900, Size: 7}}},
		// Asks: the best goes and comes back.
		{Asks: []protocol.Level{{Price: 10001}}},
		{Asks: []protocol.Level{{Price: 10001, Size: 9}}},
	}
	for i, u := range steps {
		f.seq++
		u.Symbol, u.Seq, u.TS, u.PricePrec, u.SizePrec = "AAPL", f.seq, time.Now().UnixNano(), 2, 2
		f.apply(u)
		srv.h.PublishBook(u)
		if i == 2 {
			continue // nothing for depth 10
		}
		m := br.next(t)
		if m.Snapshot {
			t.Fatalf("step %d: a snapshot, want a delta", i)
		}
		if got, want := br.top(), f.top(10); got != want {
			t.Fatalf("step %d: mirror %s, want %s", i, got, want)
		}
	}
	bids, _ := br.m.AppendTop(nil, nil)
	if len(bids) != 10 || !slices.IsSortedFunc(bids, func(a, b protocol.Level) int { return int(b.Price - a.Price) }) {
		t.Errorf("bids %v, want 10 best first", bids)
	}
}

func TestBookResubscribe(t *testing.T) {
	// The same depth again sends a fresh snapshot; another depth replaces
	// the subscription (one book subscription per symbol).
	srv := startHub(t, hub.Config{}, nil)
	f := newBookFeed("AAPL", 4)
	srv.h.PublishBook(f.snapshot(100))
	br := &bookReader{c: srv.dial(t, "")}
	subscribeBook(t, br.c, "AAPL", 10)
	br.next(t)
	subscribeBook(t, br.c, "AAPL", 10)
	if m := br.next(t); !m.Snapshot || m.Depth != 10 {
		t.Fatalf("resubscribe: snapshot=%v depth %d, want a depth-10 snapshot", m.Snapshot, m.Depth)
	}
	subscribeBook(t, br.c, "AAPL", 50)
	br.m = book.Mirror{}
	if m := br.next(t); !m.Snapshot || m.Depth != 50 {
		t.Fatalf("other depth: snapshot=%v depth %d, want a depth-50 snapshot", m.Snapshot, m.Depth)
	}
	srv.h.PublishBook(f.delta(1))
	srv.h.PublishBook(f.delta(1))
	br.catchUp(t, f.viewSeq(50))
	if br.msg.Depth != 50 {
		t.Errorf("got depth %d messages after switching to 50", br.msg.Depth)
	}
	if n := srv.h.Stats().Subscriptions; n != 1 {
		t.Errorf("%d subscriptions, want 1", n)
	}
}

func TestBookDropped(t *testing.T) {
	// A dropped book (DropBook: the feed stopped following it) is sent to
	// nobody until the feed's next snapshot: a new subscriber's first
	// message is that snapshot, not the book as it was dropped, and a
	// subscriber of before goes on from it too.
	srv := startHub(t, hub.Config{}, nil)
	f := newBookFeed("AAPL", 6)
	srv.h.PublishBook(f.snapshot(100))
	for range 5 {
		srv.h.PublishBook(f.delta(2))
	}
	before := &bookReader{c: srv.dial(t, "")}
	subscribeBook(t, before.c, "AAPL", 10)
	before.catchUp(t, f.viewSeq(10))
	old := f.viewSeq(10)

	srv.h.DropBook("AAPL")
	srv.h.DropBook("NOSUCH") // an unknown symbol, or one with no book: nothing to drop
	srv.h.DropBook("MSFT")
	after := &bookReader{c: srv.dial(t, "")}
	subscribeBook(t, after.c, "AAPL", 10)
	errs := srv.h.Stats().BookErrors
	srv.h.PublishBook(f.delta(2)) // not a snapshot: refused, sent to nobody
	if n := srv.h.Stats().BookErrors; n != errs+1 {
		t.Errorf("BookErrors went from %d to %d after a delta to a dropped book, want +1", errs, n)
	}
	srv.h.PublishBook(f.snapshot(80))
	for _, br := range []*bookReader{after, before} {
		if m := br.next(t); !m.Snapshot || m.Seq != f.seq {
			t.Fatalf("first message after the drop: seq %d snapshot %v, want the snapshot of seq %d (the book was at %d when dropped)",
				m.Seq, m.Snapshot, f.seq, old)
		}
	}
	for range 20 {
		srv.h.PublishBook(f.delta(2))
	}
	for _, br := range []*bookReader{after, before} {
		br.catchUp(t, f.viewSeq(10))
		if got, want := br.top(), f.top(10); got != want {
			t.Errorf("client book %s, want %s", got, want)
		}
	}
}

func TestBookConcurrentSubscribers(t *testing.T) {
	// Clients subscribing while the book changes all end with the
	// server's book, every message applied (run with -race).
	srv := startHub(t, hub.Config{}, nil)
	f := newBookFeed("AAPL", 5)
	srv.h.PublishBook(f.snapshot(250))
	var mu sync.Mutex
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 2000 {
			mu.Lock()
			srv.h.PublishBook(f.delta(2))
			mu.Unlock()
		}
	}()
	var readers []*bookReader
	for i := range 6 {
		br := &bookReader{c: srv.dial(t, "")}
		subscribeBook(t, br.c, "AAPL", []int{10, 50, 200}[i%3])
		readers = append(readers, br)
	}
	<-done
	for i, br := range readers {
		depth := []int{10, 50, 200}[i%3]
		br.catchUp(t, f.viewSeq(depth))
		if got, want := br.top(), f.top(depth); got != want {
			t.Errorf("reader %d (depth %d): mirror differs from the book", i, depth)
		}
	}
}

func TestDelistEndsEveryChannel(t *testing.T) {
	// A symbol delisted ends the connection's subscriptions to each of
	// its channels, with one notice.
	srv := startHub(t, hub.Config{}, nil)
	f := newBookFeed("AAPL", 6)
	srv.h.PublishBook(f.snapshot(20))
	pubTrade(srv.h, "AAPL", 0, 1)
	c := srv.dial(t, "?symbols=AAPL,MSFT")
	for _, req := range []string{
		`{"op":"subscribe","channel":"trades","symbols":["AAPL"]}`,
		`{"op":"subscribe","channel":"candles","interval":"1m","symbols":["AAPL"]}`,
		`{"op":"subscribe","channel":"book","symbols":["AAPL"],"depth":50}`,
	} {
		if err := c.Send(req); err != nil {
			t.Fatal(err)
		}
	}
	if !testutil.Eventually(wait, func() bool { return srv.h.Stats().Subscriptions == 5 }) {
		t.Fatalf("%d subscriptions, want 5", srv.h.Stats().Subscriptions)
	}
	if got := srv.h.Stats().Subscriptions; got != 5 {
		t.Fatalf("%d subscriptions, want 5", got)
	}
	srv.h.Delist([]string{"AAPL"})
	notices := 0
	if !testutil.Eventually(wait, func() bool { return srv.h.Stats().Subscriptions == 1 }) {
		t.Fatalf("%d subscriptions after the delisting, want 1 (MSFT)", srv.h.Stats().Subscriptions)
	}
	for {
		m, err := c.Next(time.Now().Add(wait))
		if err != nil {
			t.Fatal(err)
		}
		if m.Type == "pong" {
			break
		}
		if m.Type == "delisted" {
			notices++
			if err := c.Send(`{"op":"ping","id":7}`); err != nil {
				t.Fatal(err)
			}
		}
	}
	if notices != 1 {
		t.Errorf("%d delisted notices, want 1", notices)
	}
	// Nothing of AAPL is served any more.
	pubTrade(srv.h, "AAPL", 0, 2)
	srv.h.PublishBook(f.delta(1))
	if st := srv.h.Stats(); st.Unknown != 2 {
		t.Errorf("Unknown = %d, want the trade and the book update of the delisted symbol", st.Unknown)
	}
}

func TestLimitsAnnounceChannels(t *testing.T) {
	srv := startHub(t, hub.Config{TradeHistory: 500, CandleHistory: 20}, nil)
	c := srv.dial(t, "")
	var lim struct {
		Channels       []string `json:"channels"`
		TradeHistory   int      `json:"trade_history"`
		TradeHistoryMS int64    `json:"trade_history_ms"`
		CandleHistory  int      `json:"candle_history"`
		BookDepths     []int    `json:"book_depths"`
	}
	if err := json.Unmarshal(c.Limits.Raw, &lim); err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(lim.Channels, lim.TradeHistory, lim.TradeHistoryMS, lim.CandleHistory, lim.BookDepths)
	if want := "[quotes trades candles book] 500 300000 20 [10 50 200]"; got != want {
		t.Errorf("limits %s: got %s, want %s", c.Limits.Raw, got, want)
	}
}
