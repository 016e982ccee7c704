package coinbase

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/protocol"
)

var booksOnly = []protocol.Channel{protocol.ChannelBook}

// levels is one side of a book: price -> size, in fixed point.
type levels map[int64]int64

// refBook is a book the test keeps from the upstream's messages with maps
// and string operations, to compare with the one the feed's updates build.
type refBook struct{ bids, asks levels }

func (b *refBook) applyMsg(t *testing.T, msg string) {
	t.Helper()
	var m struct {
		Type       string
		Bids, Asks [][2]string
		Changes    [][3]string
	}
	if err := json.Unmarshal([]byte(msg), &m); err != nil {
		t.Fatal(err)
	}
	if m.Type == "snapshot" {
		b.bids, b.asks = levels{}, levels{}
		for _, l := range m.Bids {
			b.bids[fixed(t, l[0], 2)] = fixed(t, l[1], 8)
		}
		for _, l := range m.Asks {
			b.asks[fixed(t, l[0], 2)] = fixed(t, l[1], 8)
		}
		return
	}
	for _, c := range m.Changes {
		side := b.bids
		if c[0] == "sell" {
			side = b.asks
		}
		if p, s := fixed(t, c[1], 2), fixed(t, c[2], 8); s == 0 {
			delete(side, p)
		} else {
			side[p] = s
		}
	}
}

// pubBook is the book a subscriber builds from the feed's updates. apply
// checks each update: seq +1, the product's precision, a snapshot ordered
// best first, a delta that changes every level it names.
type pubBook struct {
	refBook
	seq uint64
}

func (b *pubBook) apply(t *testing.T, u protocol.BookUpdate) {
	t.Helper()
	if b.seq != 0 && u.Seq != b.seq+1 {
		t.Errorf("book seq %d after %d, want +1", u.Seq, b.seq)
	}
	b.seq = u.Seq
	if u.PricePrec != 2 || u.SizePrec != 8 || u.Epoch != 0 {
		t.Errorf("book update precision %d/%d epoch %d, want 2/8 epoch 0", u.PricePrec, u.SizePrec, u.Epoch)
	}
	if u.Snapshot {
		b.bids, b.asks = levels{}, levels{}
		ordered := func(ls []protocol.Level, cmp func(a, b int64) bool) bool {
			return slices.IsSortedFunc(ls, func(x, y protocol.Level) int {
				if cmp(x.Price, y.Price) {
					return -1
				}
				return 1
			})
		}
		if !ordered(u.Bids, func(a, b int64) bool { return a > b }) || !ordered(u.Asks, func(a, b int64) bool { return a < b }) {
			t.Errorf("snapshot not best first: bids %v asks %v", u.Bids, u.Asks)
		}
	}
	for _, side := range []struct {
		m  levels
		ls []protocol.Level
	}{{b.bids, u.Bids}, {b.asks, u.Asks}} {
		for _, l := range side.ls {
			old, had := side.m[l.Price]
			if !u.Snapshot && (old == l.Size || !had && l.Size == 0) {
				t.Errorf("delta level %v changes nothing", l)
			}
			if l.Size == 0 {
				delete(side.m, l.Price)
			} else {
				side.m[l.Price] = l.Size
			}
		}
	}
}

func (b *pubBook) equal(r *refBook) bool {
	return maps.Equal(b.bids, r.bids) && maps.Equal(b.asks, r.asks)
}

// TestBook: the documented level2 snapshot and updates become a published
// snapshot and deltas that build the upstream's book exactly, in fixed
// point at the product's increments, with the book's seq +1 each time. A
// message is applied whole (a bid may cross an ask that the same message
// removes), and a change that changes nothing is not sent.
func TestBook(t *testing.T) {
	u := newUpstream(t)
	f, s, _ := start(t, u, Config{Channels: booksOnly})
	c := u.next()
	checkSub(t, "subscribe", c.first, "subscribe heartbeat[BTC-USD ETH-USD] level2_batch[BTC-USD ETH-USD]")
	msgs := lines(t, "level2.ndjson")
	c.send(msgs...)
	ref := map[string]*refBook{"BTC-USD": {}, "ETH-USD": {}}
	pub := map[string]*pubBook{"BTC-USD": {}, "ETH-USD": {}}
	for i, msg := range msgs {
		product := field(t, msg, "product_id").(string)
		ref[product].applyMsg(t, msg)
		up := s.nextBook(t)
		if up.Symbol != product || up.Snapshot != (i < 2) {
			t.Fatalf("message %d: update %+v, want %s snapshot=%v", i, up, product, i < 2)
		}
		pub[product].apply(t, up)
		if !pub[product].equal(ref[product]) {
			t.Errorf("after message %d:\n%s\nthe published book is %v, want %v", i, msg, pub[product].refBook, *ref[product])
		}
	}
	s.none(t)
	if h := f.Health()[0]; h.Resyncs != 0 || h.Rejected != 0 || h.LastUpdate.IsZero() {
		t.Errorf("Health() = %+v, want no resyncs or rejects", h)
	}
}

// resync expects the feed to re-fetch product's book: an unsubscribe and
// a subscribe of its level2_batch channel.
func resync(t *testing.T, c *upConn, product string) {
	t.Helper()
	for _, typ := range []string{"unsubscribe", "subscribe"} {
		if got, want := channels(c.nextSub()), typ+" level2_batch["+product+"]"; got != want {
			t.Fatalf("re-fetch: got %s, want %s", got, want)
		}
	}
}

// TestBookResync: whatever makes the book doubtful — an update before any
// snapshot, a crossed book, a level that does not parse, a snapshot that
// lists a price twice — makes the feed unsubscribe and subscribe the
// product's book again, drop updates until the fresh snapshot, publish
// that snapshot, and count a resync.
func TestBookResync(t *testing.T) {
	u := newUpstream(t)
	f, s, logs := start(t, u, Config{Channels: booksOnly})
	c := u.next()
	snap := snapshotMsg("BTC-USD", []string{"100.00", "1", "99.00", "2"}, []string{"101.00", "1", "102.00", "2"})
	var book pubBook

	steps := []struct {
		name, bad string
		rejected  bool
	}{
		{"update before its snapshot", l2updateMsg("BTC-USD", "buy", "100.50", "1"), false},
		{"crossed book", l2updateMsg("BTC-USD", "buy", "101.00", "1"), false},
		{"bad level", l2updateMsg("BTC-USD", "buy", "100.50", "1", "sell", "abc", "1"), true},
		{"bad side", l2updateMsg("BTC-USD", "both", "100.50", "1"), true},
		{"negative size", l2updateMsg("BTC-USD", "buy", "100.50", "-1"), true},
		{"undecodable", `{"type":"l2update","product_id":"BTC-USD","changes":[["buy","100.50",1]]}`, true},
		{"price twice", snapshotMsg("BTC-USD", []string{"100.00", "1", "100.00", "2"}, []string{"101.00", "1"}), true},
		{"crossed snapshot", snapshotMsg("BTC-USD", []string{"101.00", "1"}, []string{"101.00", "1"}), false},
	}
	for i, st := range steps {
		if i > 0 { // a live book to break
			book.apply(t, s.nextBook(t))
		}
		c.send(st.bad)
		resync(t, c, "BTC-USD")
		// Updates before the fresh snapshot are dropped.
		c.send(l2updateMsg("BTC-USD", "buy", "99.50", "7"), snap)
		up := s.nextBook(t)
		if !up.Snapshot {
			t.Fatalf("%s: after the re-fetch: %+v, want the snapshot", st.name, up)
		}
		book.apply(t, up)
		if got, want := fmt.Sprint(up.Bids, up.Asks), "[{10000 100000000} {9900 200000000}] [{10100 100000000} {10200 200000000}]"; got != want {
			t.Errorf("%s: snapshot %s, want %s", st.name, got, want)
		}
		h := f.Health()[0]
		if h.Resyncs != uint64(i+1) {
			t.Errorf("%s: Health().Resyncs = %d, want %d", st.name, h.Resyncs, i+1)
		}
		if !strings.Contains(logs.String(), "book out of sync") {
			t.Errorf("%s: not logged", st.name)
		}
		c.send(l2updateMsg("BTC-USD", "sell", "101.00", "3"))
	}
	book.apply(t, s.nextBook(t))
	h := f.Health()[0]
	if h.Rejected != 5 || h.Reconnects != 0 || !h.Connected {
		t.Errorf("Health() = %+v, want 5 rejected, the connection kept", h)
	}
	s.none(t)
}

// TestBookBadAnswer: a re-fetched snapshot that is no better is re-fetched
// again.
func TestBookBadAnswer(t *testing.T) {
	u := newUpstream(t)
	f, s, _ := start(t, u, Config{Channels: booksOnly})
	c := u.next()
	c.send(l2updateMsg("BTC-USD", "buy", "100.50", "1"))
	resync(t, c, "BTC-USD")
	for _, bad := range []string{
		snapshotMsg("BTC-USD", []string{"101.00", "1"}, []string{"100.00", "1"}),
		`{"type":"snapshot","product_id":"BTC-USD","bids":[["100.00",1]],"asks":[]}`,
	} {
		c.send(bad)
		resync(t, c, "BTC-USD")
	}
	c.send(snapshotMsg("BTC-USD", []string{"100.00", "1"}, []string{"101.00", "1"}))
	if up := s.nextBook(t); !up.Snapshot || up.Seq != 1 {
		t.Errorf("after the re-fetches: %+v, want the snapshot, seq 1", up)
	}
	if h := f.Health()[0]; h.Resyncs != 3 {
		t.Errorf("Health().Resyncs = %d, want 3", h.Resyncs)
	}
}

// TestBookResyncBackoff: re-fetches of one book in a row wait longer and
// longer, as reconnects do, so a book that keeps making no sense costs a
// few messages a minute.
func TestBookResyncBackoff(t *testing.T) {
	f, err := New(Config{Products: twoProducts, MinBackoff: time.Second, MaxBackoff: 8 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	p := f.byID["BTC-USD"]
	var delays []time.Duration
	for range 6 {
		p.st.book.state = bookLive
		start := time.Now()
		f.resyncBook(p, "test")
		delays = append(delays, p.st.book.due.Sub(start))
		if got := f.takeResyncs()["BTC-USD"]; !got.Equal(p.st.book.due) {
			t.Errorf("re-fetch requested at %v, want %v", got, p.st.book.due)
		}
	}
	if delays[0] > 100*time.Millisecond {
		t.Errorf("first re-fetch after %v, want at once", delays[0])
	}
	for i, d := range delays[1:] {
		lo := min(time.Second<<i, 8*time.Second) / 2
		if d < lo {
			t.Errorf("re-fetch %d after %v, want at least %v (delays %v)", i+2, d, lo, delays)
		}
	}
	p.st.book.state = bookLive
	p.st.book.lastResync = time.Now().Add(-time.Minute)
	if f.resyncBook(p, "test"); time.Until(p.st.book.due) > 100*time.Millisecond {
		t.Errorf("a re-fetch a minute after the last one waits %v, want none", time.Until(p.st.book.due))
	}
}

// TestBookLevels: a book keeps BookLevels levels a side, the best ones.
// Deeper snapshots are cut; a level that pushes the worst one out sends
// its removal; changes beyond the cut are ignored until the next snapshot.
func TestBookLevels(t *testing.T) {
	u := newUpstream(t)
	_, s, _ := start(t, u, Config{Channels: booksOnly, BookLevels: 3})
	c := u.next()
	var bids, asks []string
	for i := range 50 { // far more than 3
		bids = append(bids, fmt.Sprintf("%d.00", 1000-i), "1")
		asks = append(asks, fmt.Sprintf("%d.00", 1001+i), "1")
	}
	c.send(snapshotMsg("BTC-USD", bids, asks))
	snap := s.nextBook(t)
	if got, want := fmt.Sprint(snap.Bids, snap.Asks), "[{100000 100000000} {99900 100000000} {99800 100000000}] [{100100 100000000} {100200 100000000} {100300 100000000}]"; got != want {
		t.Errorf("snapshot cut to 3 levels = %s, want %s", got, want)
	}
	for _, tt := range []struct {
		changes []string
		bids    string
	}{
		// A better bid pushes 998 out.
		{[]string{"buy", "1000.50", "2"}, "[{100050 200000000} {99800 0}]"},
		// 998 and below are unknown now: ignored. 999 is known.
		{[]string{"buy", "998.00", "5", "buy", "997.00", "5", "buy", "999.00", "3"}, "[{99900 300000000}]"},
		// Removing levels leaves room; it is not filled from below the cut.
		{[]string{"buy", "1000.00", "0", "buy", "998.50", "4"}, "[{100000 0} {99850 400000000}]"},
		// 998.40 and 998.45 are worse than all of a full side: cut at once.
		{[]string{"buy", "998.40", "1", "buy", "998.45", "1", "buy", "998.60", "1"}, "[{99860 100000000} {99850 0}]"},
		{[]string{"buy", "998.45", "1", "buy", "999.00", "0"}, "[{99900 0}]"},
	} {
		c.send(l2updateMsg("BTC-USD", tt.changes...))
		if got := s.nextBook(t); fmt.Sprint(got.Bids) != tt.bids || len(got.Asks) != 0 {
			t.Errorf("after %v: update bids %v asks %v, want bids %s", tt.changes, got.Bids, got.Asks, tt.bids)
		}
	}
	s.none(t)
}

// TestBookPrecision: levels with more decimals than the product's
// increments cannot be published exactly; rounding would merge levels.
// That is a configuration error no re-fetch mends: the book is replaced by
// an empty one, and nothing more is published for it.
func TestBookPrecision(t *testing.T) {
	u := newUpstream(t)
	f, s, logs := start(t, u, Config{Channels: booksOnly})
	c := u.next()
	c.send(snapshotMsg("BTC-USD", []string{"100.00", "1"}, []string{"101.00", "1"}))
	s.nextBook(t)
	c.send(l2updateMsg("BTC-USD", "buy", "100.005", "1"))
	empty := s.nextBook(t)
	if !empty.Snapshot || len(empty.Bids)+len(empty.Asks) != 0 {
		t.Errorf("after a price finer than the increment: %+v, want an empty snapshot", empty)
	}
	c.send(l2updateMsg("BTC-USD", "buy", "100.01", "1"), snapshotMsg("BTC-USD", []string{"100.00", "1"}, []string{"101.00", "1"}))
	c.send(snapshotMsg("ETH-USD", []string{"100.00", "1"}, []string{"101.00", "1"}))
	if got := s.nextBook(t); got.Symbol != "ETH-USD" {
		t.Errorf("published %+v, want only ETH-USD's book", got)
	}
	h := f.Health()[0]
	if h.Resyncs != 0 || h.Rejected != 1 {
		t.Errorf("Health() = %+v, want no resyncs and 1 rejected", h)
	}
	if !strings.Contains(logs.String(), "book disabled") || !strings.Contains(logs.String(), "BTC-USD:QUOTE_INCREMENT") {
		t.Errorf("log does not say why the book is disabled:\n%s", logs.String())
	}
	s.none(t)
}

// TestBookReconnect: a new connection starts each book from its snapshot;
// the seq goes on.
func TestBookReconnect(t *testing.T) {
	u := newUpstream(t)
	f, s, _ := start(t, u, Config{Channels: booksOnly})
	snap := snapshotMsg("BTC-USD", []string{"100.00", "1"}, []string{"101.00", "1"})
	c1 := u.next()
	c1.send(snap, l2updateMsg("BTC-USD", "buy", "100.50", "1"))
	s.nextBook(t)
	s.nextBook(t)
	c2 := reconnect(t, u, c1)
	c2.send(snap, l2updateMsg("BTC-USD", "buy", "100.50", "1"))
	for _, want := range []string{"3 true", "4 false"} {
		if up := s.nextBook(t); fmt.Sprint(up.Seq, up.Snapshot) != want {
			t.Errorf("after a reconnect: seq, snapshot = %d %v, want %s", up.Seq, up.Snapshot, want)
		}
	}
	waitHealth(t, f, func(h feed.Health) bool { return h.Connected && h.Reconnects == 1 && h.Resyncs == 0 })
}

// TestBookSideBound: however deep a snapshot, a side keeps max levels and
// no more than twice their room.
func TestBookSideBound(t *testing.T) {
	s := bookSide{max: 10, ask: true}
	var levels [][2]string
	for i := range 100_000 {
		levels = append(levels, [2]string{fmt.Sprintf("%d.%02d", 1000+i/100, i%100), "0.5"})
	}
	if err := s.load(levels, 2, 8); err != nil {
		t.Fatal(err)
	}
	if len(s.levels) != 10 || cap(s.levels) > 20 || s.best().Price != 100000 || s.levels[0].Price != 100009 {
		t.Errorf("side after a 100,000-level snapshot: %d levels, room for %d, best %v, worst %v; want the 10 best, room for at most 20",
			len(s.levels), cap(s.levels), s.best(), s.levels[0])
	}
	if got := s.set(protocol.Level{Price: 100010, Size: 1}, nil); len(got) != 0 {
		t.Errorf("a change beyond the cut gave %v, want none", got)
	}
}
