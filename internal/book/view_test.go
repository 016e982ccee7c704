package book

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/tickerd/tickerd/protocol"
)

// client is a subscriber of one depth: a mirror fed only the JSON of the
// messages, decoded.
type client struct {
	d      Depth
	mirror Mirror
	msg    protocol.BookMessage
	// Levels before the last delta, to check that it names only changes.
	bids, asks []protocol.Level
}

// take decodes and applies one message.
func (c *client) take(t *testing.T, frame []byte) {
	t.Helper()
	if err := protocol.DecodeBook(frame, &c.msg); err != nil {
		t.Fatalf("depth %d: DecodeBook(%s): %v", c.d.Levels(), frame, err)
	}
	if !c.msg.Snapshot {
		c.bids, c.asks = c.mirror.AppendTop(c.bids[:0], c.asks[:0])
		for i, ls := range [2][]protocol.Level{c.msg.Bids, c.msg.Asks} {
			held := [2][]protocol.Level{c.bids, c.asks}[i]
			for _, l := range ls {
				if l.Size != 0 && slices.Contains(held, l) {
					t.Fatalf("depth %d: delta %s sends %v, which the client holds already", c.d.Levels(), frame, l)
				}
			}
		}
	}
	if err := c.mirror.Apply(&c.msg); err != nil {
		t.Fatalf("depth %d: applying %s: %v", c.d.Levels(), frame, err)
	}
}

// check compares the client's levels with the book's top.
func (c *client) check(t *testing.T, b *Book) {
	t.Helper()
	wantBids, wantAsks := b.AppendTop(nil, nil, c.d.Levels())
	gotBids, gotAsks := c.mirror.AppendTop(nil, nil)
	if !slices.Equal(gotBids, wantBids) || !slices.Equal(gotAsks, wantAsks) {
		seq, _, _ := b.State()
		t.Fatalf("depth %d after seq %d: client holds\n bids %v\n asks %v\nbook top is\n bids %v\n asks %v",
			c.d.Levels(), seq, gotBids, gotAsks, wantBids, wantAsks)
	}
}

// TestViewsFollowBook applies random update streams and checks after each
// update that, for every subscribed depth, a client fed only the decoded
// deltas holds exactly the book's top N and verifies the checksum; that
// the book equals a reference book; and that depths can be left out of
// Apply and come back through a snapshot.
func TestViewsFollowBook(t *testing.T) {
	cases := []struct {
		name      string
		near      float64
		deepSlots int
		deep      float64
		maxBytes  int
	}{
		// Books of about 20, 75 and 230 levels a side cross every boundary.
		{"shallow", 3, 25, 0.3, 0},
		{"medium", 8, 100, 0.2, 0},
		{"deep", 15, 300, 0.2, 0},
		// A bound of 256 levels a side drops levels again and again.
		{"bounded", 15, 600, 0.3, MinSideBytes},
	}
	for _, tc := range cases {
		for seed := range uint64(2) {
			t.Run(fmt.Sprintf("%s/seed=%d", tc.name, seed), func(t *testing.T) {
				runViews(t, newMarket(seed, tc.near, tc.deepSlots, tc.deep), tc.maxBytes, 2000)
			})
		}
	}
}

func runViews(t *testing.T, m *market, maxBytes, updates int) {
	b := New(m.symbol, Config{MaxSideBytes: maxBytes})
	var clients [NumDepths]*client
	var want Depths
	var frame []byte
	if err := b.Apply(m.snapshot(), 0); err != nil && !errors.Is(err, ErrLevelBound) {
		t.Fatal(err)
	}
	drops := 0
	for i := range updates {
		// Subscribers come and go; a new one starts from a snapshot.
		for d := range NumDepths {
			switch {
			case clients[d] == nil && m.r.IntN(20) == 0:
				c := &client{d: d}
				f, seq, ok := b.Snapshot(d)
				if !ok {
					t.Fatal("no snapshot of a valid book")
				}
				if f2, seq2, _ := b.Snapshot(d); &f2[0] != &f[0] || seq2 != seq {
					t.Fatal("a second Snapshot encoded the message again")
				}
				c.take(t, f)
				c.check(t, b)
				clients[d], want = c, want.With(d)
			case clients[d] != nil && m.r.IntN(200) == 0:
				clients[d], want = nil, want&^(1<<d)
			}
		}

		var u *protocol.BookUpdate
		switch r := m.r.IntN(100); {
		case r == 0:
			u = m.snapshot()
		case r < 3:
			u = m.sweep(1 + m.r.IntN(60))
		case r < 6:
			u = m.refill(1 + m.r.IntN(60))
		default:
			u = m.update(1 + m.r.IntN(8))
		}
		err := b.Apply(u, want)
		switch {
		case errors.Is(err, ErrLevelBound):
			drops++
		case err != nil:
			t.Fatalf("update %d: %v", i, err)
		}
		if _, _, valid := b.State(); !valid {
			// Only a side that dropped levels and then shrank below 200
			// may do that; a snapshot heals it.
			if !errors.Is(err, ErrLevelBound) || maxBytes == 0 {
				t.Fatalf("update %d left the book invalid: %v", i, err)
			}
			if err := b.Apply(m.snapshot(), want); err != nil && !errors.Is(err, ErrLevelBound) {
				t.Fatal(err)
			}
		}
		for d, c := range clients {
			if c == nil {
				continue
			}
			if f, delta, ok := b.AppendDelta(frame[:0], Depth(d)); ok {
				if seq, _ := c.mirror.Seq(); !delta.Snapshot && delta.PrevSeq != seq {
					t.Fatalf("depth %d: delta from %d, client at %d", c.d.Levels(), delta.PrevSeq, seq)
				}
				frame = f
				c.take(t, frame)
			}
			c.check(t, b)
		}
		// The book holds the reference book's levels, down to any it dropped.
		if i%16 != 0 && i != updates-1 {
			continue
		}
		bids, asks := b.AppendTop(nil, nil, MaxDepth.Levels())
		if !slices.Equal(bids, m.top(m.bids, true, MaxDepth.Levels())) || !slices.Equal(asks, m.top(m.asks, false, MaxDepth.Levels())) {
			t.Fatalf("update %d: book differs from the reference book", i)
		}
	}
	if maxBytes != 0 && drops == 0 {
		t.Error("the bounded book never dropped levels")
	}
}

// TestViewBoundary checks entry and exit at the depth-10 boundary by hand.
func TestViewBoundary(t *testing.T) {
	b := New("X", Config{})
	snap := &protocol.BookUpdate{Symbol: "X", Seq: 1, Snapshot: true}
	for i := range 12 {
		snap.Bids = append(snap.Bids, protocol.Level{Price: int64(100 - i), Size: int64(10 + i)})
		snap.Asks = append(snap.Asks, protocol.Level{Price: int64(101 + i), Size: int64(10 + i)})
	}
	mustApply(t, b, snap, AllDepths)
	steps := []struct {
		name       string
		bids, asks []protocol.Level
		want       string // depth 10 message's bids and asks, "" for none
	}{
		// Removing the best bid pulls the 11th (price 90) in.
		{"exit pulls in", lv(100, 0), nil, `"bids":[["100","0"],["90","20"]],"asks":[]`},
		// A new best ask pushes the 10th (price 110) out.
		{"entry pushes out", nil, lv(100, 5), `"bids":[],"asks":[["100","5"],["110","0"]]`},
		// A change below the top 10 sends nothing.
		{"deep change", lv(89, 7), lv(112, 0), ""},
		// Three removals and a resize in one update: the 11th bid enters.
		{"boundary churn", lv(99, 0, 98, 0, 90, 0, 95, 3), nil,
			`"bids":[["99","0"],["98","0"],["95","3"],["90","0"],["89","7"]],"asks":[]`},
		// A level that enters and leaves again within the update is not sent.
		{"in and out", nil, lv(100, 0, 100, 9, 100, 0, 101, 12), `"bids":[],"asks":[["100","0"],["101","12"],["110","19"]]`},
	}
	seq := uint64(1)
	for _, s := range steps {
		seq++
		mustApply(t, b, &protocol.BookUpdate{Symbol: "X", Seq: seq, Bids: s.bids, Asks: s.asks}, AllDepths)
		frame, _, ok := b.AppendDelta(nil, Depth10)
		got := ""
		if ok {
			var m protocol.BookMessage
			if err := protocol.DecodeBook(frame, &m); err != nil {
				t.Fatal(err)
			}
			m.Checksum, m.TS = 0, 0
			m.Seq, m.PrevSeq, m.Symbol = 0, 0, ""
			out := string(protocol.AppendBook(nil, &m))
			got = out[len(`{"type":"book","symbol":"","depth":10,"seq":0,"prev_seq":0,`) : len(out)-len(`,"checksum":0,"ts":0}`)]
		}
		if got != s.want {
			t.Errorf("%s: depth 10 message %s\nwant %s", s.name, got, s.want)
		}
	}
}

func mustApply(t *testing.T, b *Book, u *protocol.BookUpdate, want Depths) {
	t.Helper()
	if err := b.Apply(u, want); err != nil {
		t.Fatal(err)
	}
}

// TestViewVersions checks prev_seq: a depth's version moves only when its
// view changes, an unsubscribed depth has no message but keeps its
// version, and a depth that comes back chains from the snapshot taken
// while it was away.
func TestViewVersions(t *testing.T) {
	m := newMarket(7, 3, 300, 0)
	b := New(m.symbol, Config{})
	mustApply(t, b, m.snapshot(), AllDepths)
	for d := range NumDepths {
		f, delta, ok := b.AppendDelta(nil, d)
		if !ok || !delta.Snapshot || delta.Seq != 1 || delta.PrevSeq != 0 {
			t.Fatalf("depth %d after a snapshot: %s %+v %v", d.Levels(), f, delta, ok)
		}
	}
	// A change at the 150th bid changes only the depth-200 view.
	deepBid := m.top(m.bids, true, 150)[149]
	u := &protocol.BookUpdate{Symbol: m.symbol, Seq: 2, TS: 2, PricePrec: 2, SizePrec: 3, Bids: []protocol.Level{{Price: deepBid.Price, Size: deepBid.Size + 1}}}
	mustApply(t, b, u, AllDepths)
	for d, want := range []bool{false, false, true} {
		if _, delta, ok := b.AppendDelta(nil, Depth(d)); ok != want || ok && (delta.PrevSeq != 1 || delta.Seq != 2) {
			t.Errorf("depth %d after a deep change: %+v %v, want a message: %v", Depth(d).Levels(), delta, ok, want)
		}
	}
	if _, seq, _ := b.Snapshot(Depth10); seq != 1 {
		t.Errorf("depth 10 snapshot at seq %d, want 1: the view did not change", seq)
	}
	if _, seq, _ := b.Snapshot(Depth200); seq != 2 {
		t.Errorf("depth 200 snapshot at seq %d, want 2", seq)
	}

	// Depth 50 not wanted: no message, but its version moves with its view.
	touch := m.top(m.bids, true, 1)[0]
	u = &protocol.BookUpdate{Symbol: m.symbol, Seq: 3, TS: 3, PricePrec: 2, SizePrec: 3, Bids: []protocol.Level{{Price: touch.Price, Size: touch.Size + 1}}}
	mustApply(t, b, u, AllDepths&^(1<<Depth50))
	if _, _, ok := b.AppendDelta(nil, Depth50); ok {
		t.Error("a message for a depth that is not wanted")
	}
	u = &protocol.BookUpdate{Symbol: m.symbol, Seq: 4, TS: 4, PricePrec: 2, SizePrec: 3}
	mustApply(t, b, u, 0)
	snap, seq, _ := b.Snapshot(Depth50)
	if seq != 3 {
		t.Errorf("snapshot of a depth left out at seq %d, want 3, the last update that changed it", seq)
	}
	// Wanted again: its first delta applies to the snapshot.
	u = &protocol.BookUpdate{Symbol: m.symbol, Seq: 5, TS: 5, PricePrec: 2, SizePrec: 3, Bids: []protocol.Level{{Price: touch.Price, Size: touch.Size + 2}}}
	mustApply(t, b, u, AllDepths)
	f, delta, ok := b.AppendDelta(nil, Depth50)
	if !ok || delta.PrevSeq != 3 || delta.Seq != 5 {
		t.Fatalf("first delta of a depth wanted again: %+v %v, want 3 to 5", delta, ok)
	}
	c := client{d: Depth50}
	c.take(t, snap)
	c.take(t, f)
	c.check(t, b)
}

// TestSnapshotConcurrent takes snapshots from other goroutines while the
// publisher applies updates, and checks that each snapshot, followed by
// the deltas from its seq on, gives the final book.
func TestSnapshotConcurrent(t *testing.T) {
	m := newMarket(3, 8, 300, 0.2)
	b := New(m.symbol, Config{})
	mustApply(t, b, m.snapshot(), AllDepths)
	type taken struct {
		d     Depth
		seq   uint64
		frame []byte
	}
	var (
		mu     sync.Mutex
		snaps  []taken
		done   = make(chan struct{})
		wg     sync.WaitGroup
		deltas [NumDepths][][]byte
	)
	for g := range 2 {
		wg.Go(func() {
			var last [NumDepths]uint64
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				d := Depth((g + i) % int(NumDepths))
				f, seq, ok := b.Snapshot(d)
				if ok && seq != last[d] && i%16 == 0 {
					last[d] = seq
					mu.Lock()
					snaps = append(snaps, taken{d, seq, f})
					mu.Unlock()
				}
			}
		})
	}
	for range 3000 {
		if err := b.Apply(m.update(1+m.r.IntN(4)), AllDepths); err != nil {
			t.Error(err)
			break
		}
		for d := range NumDepths {
			if f, _, ok := b.AppendDelta(nil, d); ok {
				deltas[d] = append(deltas[d], f)
			}
		}
	}
	close(done)
	wg.Wait()
	if len(snaps) == 0 {
		t.Fatal("no snapshots taken")
	}
	for _, s := range snaps {
		c := client{d: s.d}
		c.take(t, s.frame)
		for _, f := range deltas[s.d] {
			if err := protocol.DecodeBook(f, &c.msg); err != nil {
				t.Fatal(err)
			}
			if c.msg.Seq > s.seq {
				c.take(t, f)
			}
		}
		c.check(t, b)
	}
}

// TestStoredSnapshotKeepsVersions feeds one update stream to a book whose
// subscribers want every depth and to one that wants none, and checks
// that their versions agree after every update; then loads a third book
// from a stored snapshot of the first (its levels and Views), mid-stream,
// and checks that from there on it gives the first book's messages byte
// for byte, its snapshots included, and that a stored snapshot of a book
// it already follows sends only the depths whose version moved.
func TestStoredSnapshotKeepsVersions(t *testing.T) {
	m := newMarket(11, 4, 200, 0.3)
	a, quiet := New(m.symbol, Config{}), New(m.symbol, Config{})
	first := m.snapshot()
	mustApply(t, a, first, AllDepths)
	mustApply(t, quiet, first, 0)
	var edge *Book
	stored := func() *protocol.BookUpdate {
		seq, epoch, _ := a.State()
		u := &protocol.BookUpdate{Symbol: m.symbol, Seq: seq, Epoch: epoch, Snapshot: true, PricePrec: 2, SizePrec: 3, Views: a.Views()}
		u.Bids, u.Asks = a.AppendTop(nil, nil, 1<<30)
		return u
	}
	var fa, fe []byte
	for i := range 3000 {
		var u *protocol.BookUpdate
		if i%7 == 0 {
			u = m.sweep(1 + m.r.IntN(20))
		} else {
			u = m.update(1 + m.r.IntN(6))
		}
		mustApply(t, a, u, AllDepths)
		mustApply(t, quiet, u, 0)
		if a.Views() != quiet.Views() {
			t.Fatalf("update %d: versions %v with every depth wanted, %v with none", i, a.Views(), quiet.Views())
		}
		if i == 500 {
			edge = New(m.symbol, Config{})
			mustApply(t, edge, stored(), AllDepths)
			for d := range NumDepths {
				want, _, _ := a.Snapshot(d)
				got, _, _ := edge.Snapshot(d)
				if string(got) != string(want) {
					t.Fatalf("depth %d snapshot of the loaded book:\n%s\nwant\n%s", d.Levels(), got, want)
				}
			}
			continue
		}
		if edge == nil {
			continue
		}
		mustApply(t, edge, u, AllDepths)
		for d := range NumDepths {
			var okA, okE bool
			fa, _, okA = a.AppendDelta(fa[:0], d)
			fe, _, okE = edge.AppendDelta(fe[:0], d)
			if okA != okE || string(fa) != string(fe) {
				t.Fatalf("update %d depth %d: loaded book sends %s (%v), want %s (%v)", i, d.Levels(), fe, okE, fa, okA)
			}
		}
		if i == 1500 {
			// The same snapshot again: nothing moved, no message.
			mustApply(t, edge, stored(), AllDepths)
			for d := range NumDepths {
				if f, _, ok := edge.AppendDelta(nil, d); ok {
					t.Errorf("depth %d: a stored snapshot of the book it holds sent %s", d.Levels(), f)
				}
			}
		}
	}
}
