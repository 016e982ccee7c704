package cluster

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/shopspring/decimal"
	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/internal/hubtest"
	"github.com/tickerd/tickerd/internal/testutil"
	"github.com/tickerd/tickerd/protocol"
)

// newScripted returns a feed the test drives, of the named test symbols.
func newScripted(names ...string) *testutil.DrivenFeed {
	var syms []feed.Symbol
	for _, n := range names {
		syms = append(syms, testSymbol(n))
	}
	return testutil.NewDrivenFeed(syms...)
}

func testSymbol(name string) feed.Symbol {
	return feed.Symbol{Name: name, Class: "equity", PricePrec: 2, VolumePrec: 0, TickSize: decimal.New(1, -2)}
}

// Values for driven feeds.
func testTick(sym string, seq uint64, px int64) protocol.Tick {
	t := testutil.Tick(sym, seq, decimal.New(px, -2).StringFixed(2))
	t.TS = int64(seq) * 1e6
	return *t
}

func testTrade(sym string, seq uint64) protocol.Trade {
	tr := testutil.Trade(sym, seq, decimal.New(10000+int64(seq), -2).StringFixed(2), strconv.FormatUint(seq%7+1, 10))
	tr.TS = 1_763_718_000_000_000_000 + int64(seq)*1e6
	return *tr
}

func testCandle(sym string, iv protocol.Interval, start int64, closed bool, close int64) protocol.Candle {
	return protocol.Candle{Symbol: sym, Interval: iv, Start: start, Open: decimal.New(100, 0), High: decimal.New(close+1, 0),
		Low: decimal.New(99, 0), Close: decimal.New(close, 0), Volume: decimal.New(10, 0), Trades: 3, Closed: closed, PricePrec: 2}
}

// rec is a sink that records everything, with PublishEncoded as a hub
// has it.
type rec struct {
	mu       sync.Mutex
	ticks    map[string][]recTick
	trades   map[string][]protocol.Trade
	books    map[string][]protocol.BookUpdate
	candles  []protocol.Candle
	listed   []string
	delisted []string
	dropped  map[string][]int // per symbol, len(books) at each DropBook
}

type recTick struct {
	epoch, seq uint64
	frame      string
}

func newRec() *rec {
	return &rec{ticks: map[string][]recTick{}, trades: map[string][]protocol.Trade{}, books: map[string][]protocol.BookUpdate{}}
}

func (r *rec) Publish(t *protocol.Tick) {
	r.PublishEncoded(t.Symbol, t.Epoch, t.Seq, t.TS, protocol.AppendTick(nil, t)) //nolint:errcheck
}

func (r *rec) PublishEncoded(symbol string, epoch, seq uint64, _ int64, tick []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ticks[symbol] = append(r.ticks[symbol], recTick{epoch, seq, string(tick)})
	return nil
}

func (r *rec) PublishTrade(t *protocol.Trade) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.trades[t.Symbol] = append(r.trades[t.Symbol], *t)
}

func (r *rec) PublishBook(b *protocol.BookUpdate) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := *b
	c.Bids, c.Asks = slices.Clone(b.Bids), slices.Clone(b.Asks)
	r.books[b.Symbol] = append(r.books[b.Symbol], c)
}

func (r *rec) DropBook(symbol string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.dropped == nil {
		r.dropped = map[string][]int{}
	}
	r.dropped[symbol] = append(r.dropped[symbol], len(r.books[symbol]))
}

// drops returns, for each DropBook of sym, how many book updates came
// before it.
func (r *rec) drops(sym string) []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.dropped[sym])
}

func (r *rec) PublishCandle(c *protocol.Candle) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.candles = append(r.candles, *c)
}

func (r *rec) List(syms []feed.Symbol) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range syms {
		r.listed = append(r.listed, s.Name)
	}
}

func (r *rec) Delist(names []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.delisted = append(r.delisted, names...)
}

func (r *rec) tickList(sym string) []recTick {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.ticks[sym])
}

func (r *rec) tradeList(sym string) []protocol.Trade {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.trades[sym])
}

func (r *rec) bookList(sym string) []protocol.BookUpdate {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.books[sym])
}

func (r *rec) candleList() []protocol.Candle {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.candles)
}

func (r *rec) listings() (listed, delisted []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.listed), slices.Clone(r.delisted)
}

// trio is a feed node running a driven feed into a recording local sink
// through a Publisher, on one NATS server.
type trio struct {
	srv   *server.Server
	f     *testutil.DrivenFeed
	pub   *Publisher
	local *rec
	stop  func()
}

func startTrio(t *testing.T, srv *server.Server, cfg Config, f *testutil.DrivenFeed) *trio {
	t.Helper()
	pub, local, stop := startPublisher(t, srv, cfg, f)
	return &trio{srv: srv, f: f, pub: pub, local: local, stop: stop}
}

// startPublisher runs f through a Publisher on srv into a recording local
// sink.
func startPublisher(t *testing.T, srv *server.Server, cfg Config, f feed.Feed) (*Publisher, *rec, func()) {
	t.Helper()
	pub, err := NewPublisher(dialNATS(t, srv, "feed"), f, cfg, testLog())
	if err != nil {
		t.Fatal(err)
	}
	local := newRec()
	stop := hubtest.RunFeed(t, pub, local)
	testutil.WaitFor(t, 5*time.Second, "the feed node to publish", func() bool { return ready(pub) == nil })
	return pub, local, stop
}

// startTestEdge runs an edge on srv into a recording sink.
func startTestEdge(t *testing.T, srv *server.Server, cfg Config) (*Edge, *rec, func()) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	e, err := NewEdge(ctx, dialNATS(t, srv, "edge"), cfg, testLog())
	if err != nil {
		t.Fatal(err)
	}
	sink := newRec()
	stop := hubtest.RunFeed(t, e, sink)
	testutil.WaitFor(t, 5*time.Second, "the edge to hear the feed node", func() bool { return ready(e) == nil })
	return e, sink, stop
}

// testCfg makes things happen within a second in tests.
var testCfg = Config{Heartbeat: 100 * time.Millisecond, FeedTimeout: time.Second, Settle: 200 * time.Millisecond,
	BookSnapshot: 200 * time.Millisecond, StaleAfter: 300 * time.Millisecond,
	LastBytes: 8 << 20, TradeBytes: 8 << 20, CandleBytes: 8 << 20}

// subjectCount returns how many messages stream holds on subject.
func subjectCount(t *testing.T, nc *nats.Conn, stream, subject string) uint64 {
	t.Helper()
	return streamInfo(t, nc, stream, jetstream.WithSubjectFilter(subject)).State.Subjects[subject]
}

// streamLastSeq returns the sequence of the last message stream stored.
func streamLastSeq(t *testing.T, nc *nats.Conn, stream string) uint64 {
	t.Helper()
	return streamInfo(t, nc, stream).State.LastSeq
}

func streamInfo(t *testing.T, nc *nats.Conn, stream string, opts ...jetstream.StreamInfoOpt) *jetstream.StreamInfo {
	t.Helper()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return info
}

func seqsOf(trades []protocol.Trade) []uint64 {
	out := make([]uint64, len(trades))
	for i, t := range trades {
		out[i] = t.Seq
	}
	return out
}

func names(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("S%04d", i)
	}
	return out
}
