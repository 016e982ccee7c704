package hub

// White-box tests of what the universe and the subscriptions cost, and of
// what collect walks. Most drive a hub whose shards are not started
// (stoppedHub): the test goroutine owns them.

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
	"unsafe"
	"weak"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/internal/wsframe"
	"github.com/tickerd/tickerd/protocol"
)

// stoppedHub returns a hub serving syms whose shards, readers and poller
// are not started: the calling goroutine owns the shards. Its connections
// must not be written to or finished (there is no poller).
func stoppedHub(t testing.TB, cfg Config, syms []feed.Symbol) *Hub {
	t.Helper()
	h, err := newHub(cfg, syms, nil)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// addConn adds a connection that is never written to (closed as far as
// flush is concerned) to shard s.
func addConn(s *shard) *conn {
	c := &conn{fd: -1, idx: int32(len(s.all)), shard: s}
	s.all = append(s.all, c)
	return c
}

const (
	sizeofSub    = unsafe.Sizeof(sub{})
	sizeofSubRef = unsafe.Sizeof(subRef{})
)

// heapAlloc returns the bytes of live heap objects.
func heapAlloc() int64 { return int64(memAfterGC().HeapAlloc) }

// maxUnwatchedSymbolBytes is the documented cost of a listed symbol that
// nobody watches, without its name and its last value (docs/ARCHITECTURE.md).
const maxUnwatchedSymbolBytes = 200

// TestUnwatchedSymbolMemory lists 100,000 symbols into a running hub and
// measures the heap they add, their names aside (the caller made them).
// A symbol that was watched and no longer is costs the same: its fan-out
// (lists, ring) is gone with its last subscriber.
func TestUnwatchedSymbolMemory(t *testing.T) {
	const n = 100_000
	h, err := New(Config{Shards: 2}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	syms := symbolsNamed("OPT%06d", n)
	before := heapAlloc()
	h.List(syms)
	after := heapAlloc()
	runtime.KeepAlive(syms)
	per := (after - before) / n
	t.Logf("%d symbols listed: %d bytes each, the name aside", n, per)
	if per > maxUnwatchedSymbolBytes {
		t.Errorf("a listed symbol nobody watches costs %d bytes, want at most %d", per, maxUnwatchedSymbolBytes)
	}

	// Watch and unwatch one: nothing of the fan-out stays.
	h = stoppedHub(t, Config{Shards: 1}, syms[:100])
	s := h.shards[0]
	c := addConn(s)
	st := &h.uni.lookup("OPT000042").quote
	s.link(c, st)
	if st.fan.Load() == nil {
		t.Fatal("a watched stream has no fan-out")
	}
	s.unlink(c, 0)
	if st.fan.Load() != nil {
		t.Errorf("the fan-out of a stream nobody watches any more is still there")
	}
}

// maxSubBytes is the documented cost of a subscription: 20 bytes before
// streams (a 12-byte sub and an 8-byte subRef), plus at most 16.
const maxSubBytes = 20 + 16

// TestSubscriptionMemory subscribes 200 connections to the same 1,000
// symbols each, every subscription pending once, and measures the heap
// per subscription: the connection's entry, the stream's list entry, the
// pending list's room, and the slack of those slices.
func TestSubscriptionMemory(t *testing.T) {
	const nsym, nconn = 1000, 200
	h := stoppedHub(t, Config{Shards: 1}, symbolsNamed("S%d", nsym))
	for _, name := range h.Symbols() {
		h.Publish(&protocol.Tick{Symbol: name, Seq: 1, TS: 1})
	}
	set := h.resolve(h.Symbols())
	s := h.shards[0]
	s.all = make([]*conn, 0, nconn)
	conns := make([]*conn, nconn)
	before := heapAlloc()
	for i := range conns {
		c := addConn(s)
		conns[i] = c
		s.subscribe(c, nil, set, 0, nil)
		c.ctrl = nil // the "subscribed" reply is not a subscription
	}
	s.dirty = nil
	after := heapAlloc()
	per := float64(after-before) / (nconn * nsym)
	t.Logf("%d subscriptions: %.1f bytes each (sub %d B, subRef %d B, pending entry 8 B)",
		nconn*nsym, per, sizeofSub, sizeofSubRef)
	if per > maxSubBytes {
		t.Errorf("a subscription costs %.1f bytes, want at most %d", per, maxSubBytes)
	}
	for _, c := range conns {
		if len(c.pending) != nsym {
			t.Fatalf("a connection has %d subscriptions pending, want %d", len(c.pending), nsym)
		}
	}
	runtime.KeepAlive(conns)
}

// TestCollectFollowsChanges: a connection with 1,000 subscriptions of
// which one stream changed has one entry on its pending list, and collect
// looks at that one only.
func TestCollectFollowsChanges(t *testing.T) {
	const nsym = 1000
	h := stoppedHub(t, Config{Shards: 1}, symbolsNamed("S%d", nsym))
	s := h.shards[0]
	c := addConn(s)
	s.subscribe(c, nil, h.resolve(h.Symbols()), 0, nil)
	c.ctrl = nil
	if len(c.pending) != 0 {
		t.Fatalf("pending = %d before any update, want 0", len(c.pending))
	}
	h.Publish(&protocol.Tick{Symbol: "S500", Seq: 1, TS: time.Now().UnixNano()})
	s.applyInbox()
	if len(c.pending) != 1 || s.fans[c.pending[0].slot].st.sym.name != "S500" {
		t.Fatalf("pending = %v, want S500's subscription alone", c.pending)
	}
	bufs, _ := s.collect(c)
	if len(bufs) != 1 || string(bufs[0][len(bufs[0])-1:]) != "}" {
		t.Fatalf("collect gave %d frames, want S500's snapshot", len(bufs))
	}
	if len(c.pending) != 0 {
		t.Errorf("pending = %v after collect, want empty", c.pending)
	}
	s.w.reuse(bufs)
}

// TestPendingAcrossUnlink unsubscribes in every order while subscriptions
// are pending: each pending subscription must still be collected once,
// and none that was unsubscribed.
func TestPendingAcrossUnlink(t *testing.T) {
	const nsym = 6
	h := stoppedHub(t, Config{Shards: 1}, symbolsNamed("S%d", nsym))
	for _, name := range h.Symbols() {
		h.Publish(&protocol.Tick{Symbol: name, Seq: 1, TS: 1})
	}
	all := h.resolve(h.Symbols())
	for pendMask := range 1 << nsym {
		for drop := range nsym {
			s := h.shards[0]
			s.all = nil
			c := addConn(s)
			s.subscribe(c, nil, all, 0, nil)
			c.ctrl = nil
			bufs, _ := s.collect(c) // the snapshots: nothing pending now
			s.w.reuse(bufs)
			want := map[string]bool{}
			for i := range nsym {
				if pendMask&(1<<i) != 0 {
					r := s.ref(&c.subs[i])
					r.sent = 0 // owed its snapshot again
					r.bits |= subSnap
					s.pend(c, uint32(i))
					want[s.stream(&c.subs[i]).sym.name] = true
				}
			}
			dropped := s.stream(&c.subs[drop]).sym.name
			delete(want, dropped)
			s.unlink(c, drop)
			got := map[string]int{}
			bufs, _ = s.collect(c)
			for _, b := range bufs {
				_, sym, _, _, _ := protocol.ScanTick(payload(b))
				got[string(sym)]++
			}
			s.w.reuse(bufs)
			for name := range want {
				if got[name] != 1 {
					t.Errorf("pending %06b, dropped %s: %s collected %d times, want once", pendMask, dropped, name, got[name])
				}
			}
			for name, n := range got {
				if !want[name] {
					t.Errorf("pending %06b, dropped %s: %s collected %d times, want never", pendMask, dropped, name, n)
				}
			}
			s.unlinkAll(c)
		}
	}
}

// TestDelistedSymbolCollected delists a symbol with subscribers on two
// shards: once the shards have applied the delisting, nothing of the hub
// keeps the symbol alive, and the subscribers were told.
func TestDelistedSymbolCollected(t *testing.T) {
	h := stoppedHub(t, Config{Shards: 2}, symbolsNamed("S%d", 10))
	set := h.resolve([]string{"S3", "S4"})
	var conns []*conn
	for i := range 4 {
		s := h.shards[i%2]
		c := addConn(s)
		s.subscribe(c, nil, set, 0, nil)
		c.ctrl = nil
		c.state = stateClosed // flush must not write: there is no socket
		conns = append(conns, c)
	}
	h.Publish(&protocol.Tick{Symbol: "S3", Seq: 1, TS: 1})
	wp := weak.Make(h.uni.lookup("S3"))
	set = symbolSet{}
	h.Delist([]string{"S3"})
	for _, s := range h.shards {
		s.pass()
	}
	if got := h.Stats().Subscriptions; got != 4 {
		t.Errorf("Subscriptions = %d after the delisting, want 4", got)
	}
	for i, c := range conns {
		if len(c.subs) != 1 || conns[i].shard.stream(&c.subs[0]).sym.name != "S4" {
			t.Errorf("connection %d still has %d subscriptions", i, len(c.subs))
		}
		if len(c.ctrl) != 1 || !strings.Contains(string(c.ctrl[0]), `"type":"delisted","symbol":"S3"`) {
			t.Errorf("connection %d was not told: %q", i, c.ctrl)
		}
		c.ctrl = nil
	}
	runtime.GC()
	runtime.GC()
	if wp.Value() != nil {
		t.Errorf("the delisted symbol is still reachable after its subscriptions ended")
	}
	runtime.KeepAlive(conns)
}

// TestSettleShortWrite cuts a write at every byte: what the socket took,
// then the connection's rest (connExt.out), then what a later collect finds must be whole frames, the
// reply once, and for each symbol rising seqs up to its latest, with no
// update sent twice; that rest holds at most the rest of one data frame.
func TestSettleShortWrite(t *testing.T) {
	h := stoppedHub(t, Config{Shards: 1}, symbolsNamed("S%d", 3))
	s := h.shards[0]
	pub := func(sym string, seq uint64) {
		h.Publish(&protocol.Tick{Symbol: sym, Seq: seq, TS: 1, PricePrec: 2})
	}
	pub("S0", 1)
	pub("S1", 1)
	total := -1
	for n := 0; n != total; n++ {
		s.all = nil
		c := addConn(s)
		s.subscribe(c, nil, h.resolve([]string{"S0", "S1", "S2"}), 0, nil)
		c.ctrl = nil
		bufs, _ := s.collect(c) // snapshots of S0 and S1
		s.settle(c, bufs, 0, size(bufs))
		s.w.reuse(bufs)
		base := [3]uint64{1, 1, 0}
		// Owed now: S0 ticks 2, 3, 4 (from the ring); S1 tick 2; S2's
		// snapshot 1; and a reply.
		for _, q := range []uint64{2, 3, 4} {
			pub("S0", q+uint64(n)*10)
		}
		pub("S1", 2+uint64(n)*10)
		pub("S2", 1+uint64(n)*10)
		s.applyInbox()
		c.ctrl = [][]byte{textFrame([]byte(`{"type":"pong"}`))}
		c.replyBytes.Store(int32(len(c.ctrl[0])))

		bufs, nreplies := s.collect(c)
		var wire []byte
		for _, b := range bufs {
			wire = append(wire, b...)
		}
		if total < 0 {
			total = len(wire) + 1
		}
		s.settle(c, bufs, nreplies, n)
		s.w.reuse(bufs)
		wire = wire[:n]
		out := c.rest()
		for _, b := range out {
			wire = append(wire, b...)
		}
		if len(out) > 0 && c.outReply == 0 && len(out) != 1 {
			t.Fatalf("cut at %d: the connection's rest holds %d pieces of data, want the rest of one frame", n, len(out))
		}
		c.dropRest()
		c.outReply = 0
		c.replyBytes.Store(0)
		bufs, _ = s.collect(c) // the socket has room again
		for _, b := range bufs {
			wire = append(wire, b...)
		}
		s.w.reuse(bufs)

		var got []string
		seqs := base
		for len(wire) > 0 {
			f, k, err := wsframeNext(wire)
			if err != nil || k == 0 {
				t.Fatalf("cut at %d: not whole frames: %v (%d bytes left)", n, err, len(wire))
			}
			wire = wire[k:]
			if string(f) == `{"type":"pong"}` {
				got = append(got, "pong")
				continue
			}
			_, sym, seq, _, ok := protocol.ScanTick(f)
			if !ok {
				t.Fatalf("cut at %d: frame %q", n, f)
			}
			i := int(sym[1] - '0')
			if seq <= seqs[i] {
				t.Fatalf("cut at %d: %s seq %d after %d", n, sym, seq, seqs[i])
			}
			seqs[i] = seq
			got = append(got, fmt.Sprintf("%s:%d", sym, seq))
		}
		want := [3]uint64{4 + uint64(n)*10, 2 + uint64(n)*10, 1 + uint64(n)*10}
		if seqs != want || got[0] != "pong" {
			t.Fatalf("cut at %d: got %v, want the pong first and last seqs %v", n, got, want)
		}
		s.unlinkAll(c)
	}
}

// wsframeNext returns the payload of the server frame at the start of b and
// its size.
func wsframeNext(b []byte) ([]byte, int, error) {
	f, n, err := wsframe.Next(b, 1<<20)
	return f.Payload, n, err
}

// payload returns the payload of the server frame b.
func payload(b []byte) []byte {
	p, _, _ := wsframeNext(b)
	return p
}

// TestListPieces: the "list" reply made of shared page encodings reads
// as the names of the listing, in order, after every change of a
// universe of 20,000 symbols that lists and delists; a listing at the end
// or a delisting of a run re-encodes only the pages it made, and the
// encodings of pages the listing has no longer are let go.
func TestListPieces(t *testing.T) {
	const n = 20_000
	syms := make([]feed.Symbol, n)
	for i := range syms {
		syms[i] = feed.Symbol{Name: fmt.Sprintf("S%05d", i)}
	}
	h := stoppedHub(t, Config{}, syms)
	next := n
	for round := range 30 {
		switch round % 3 {
		case 0: // list 1,000 new names
			var add []feed.Symbol
			for range 1000 {
				add = append(add, feed.Symbol{Name: fmt.Sprintf("S%05d", next)})
				next++
			}
			h.List(add)
		case 1: // delist 500 names spread over the listing
			names := h.Symbols()
			var gone []string
			for i := round; i < len(names) && len(gone) < 500; i += len(names) / 500 {
				gone = append(gone, names[i])
			}
			h.Delist(gone)
		case 2: // delist a run of 300 names
			names := h.Symbols()
			h.Delist(names[round*100 : round*100+300])
		}
		before := len(h.uni.pageNames)
		old := make(map[*byte]bool, before)
		for _, enc := range h.uni.pageNames {
			old[&enc[0]] = true
		}
		l := h.uni.current()
		head, tail := l.listReply(h.uni, []byte("7"))
		frame := append([]byte(nil), head...)
		for _, p := range tail {
			frame = append(frame, p...)
		}
		want := protocol.AppendSymbols(nil, []byte("7"), l.symbolNames())
		if got := payload(frame); string(got) != string(want) {
			t.Fatalf("round %d: list reply %d bytes, want %d: %.80q…", round, len(got), len(want), got)
		}
		reused := 0
		for _, p := range tail {
			if len(p) > 0 && old[&p[0]] {
				reused++
			}
		}
		if len(h.uni.pageNames) != len(l.order.pages) {
			t.Fatalf("round %d: %d page encodings kept for %d pages", round, len(h.uni.pageNames), len(l.order.pages))
		}
		if round > 0 && round%3 != 1 && reused < len(l.order.pages)/2 { // 500 spread names touch every page
			t.Errorf("round %d: %d of %d pages' encodings reused, want most", round, reused, len(l.order.pages))
		}
	}
}
