package cluster

import (
	"strconv"
	"testing"
	"time"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/internal/testutil"
	"github.com/tickerd/tickerd/protocol"
)

// TestEdgeBuffersBounded tries to exceed what an Edge holds while it
// waits: book updates per symbol (Config.BookBuffer bytes) and over all
// symbols (bookHeldAll times that), and mirrored messages of symbols not
// listed yet (maxHeldBytes).
func TestEdgeBuffersBounded(t *testing.T) {
	e := &Edge{cfg: Config{BookBuffer: 1000}.withDefaults()}
	r := newEdgeRun(e, newRec())
	s := r.addSym(testSymbol("X"))
	for range 10 {
		r.holdBook(s, make([]byte, 300))
	}
	if s.book.bytes > 1000 || len(s.book.held) != 3 {
		t.Errorf("held %d updates of %d bytes, want the newest 3 within 1000 bytes", len(s.book.held), s.book.bytes)
	}
	r.holdBook(s, make([]byte, 1001))
	if s.book.bytes != 0 || len(s.book.held) != 0 {
		t.Errorf("an update over the bound left %d held of %d bytes, want none", len(s.book.held), s.book.bytes)
	}

	for i := range 40 { // over all symbols
		r.holdBook(r.addSym(testSymbol("B"+strconv.Itoa(i))), make([]byte, 900))
	}
	if r.bookHeld > bookHeldAll*1000 || r.bookHeld < (bookHeldAll-1)*1000 {
		t.Errorf("held %d bytes of book updates over all symbols, want up to %d", r.bookHeld, bookHeldAll*1000)
	}

	for i := range 20_000 {
		name := "Y" + strconv.Itoa(i%7)
		r.hold(name, mirrorMsg{trade: &protocol.Trade{Symbol: name, Seq: uint64(i + 1)}, size: 200})
	}
	if r.heldBytes > maxHeldBytes || r.heldBytes < maxHeldBytes-200 {
		t.Errorf("held %d bytes of messages, want up to %d", r.heldBytes, maxHeldBytes)
	}
	if e.stats.held.Load() == 0 {
		t.Error("messages over the bound were not counted")
	}
	r.list(testSymbol("Y0"))
	r.flushListings()
	if _, ok := r.held["Y0"]; ok || r.heldBytes >= maxHeldBytes-200 {
		t.Errorf("listing Y0 did not hand on its held messages (%d bytes held)", r.heldBytes)
	}
}

// TestPublisherWantsBounded tries to grow the set of books edges asked a
// snapshot of past maxWanted: anyone can publish on PREFIX.want.*.
func TestPublisherWantsBounded(t *testing.T) {
	r := &pubRun{wanted: map[string]bool{}}
	for i := range maxWanted + 100 {
		r.want(strconv.Itoa(i))
	}
	if len(r.wanted) != maxWanted {
		t.Errorf("%d books wanted, want at most %d", len(r.wanted), maxWanted)
	}
}

// TestStreamsBounded checks that every stream is bounded in bytes and per
// subject, and that the trade stream stays within its byte bound when the
// feed publishes more.
func TestStreamsBounded(t *testing.T) {
	for _, c := range streamConfigs(subjects{prefix: "p", sym: "p.sym."}, Config{}.withDefaults(), 1) {
		if c.MaxBytes <= 0 || c.MaxMsgsPerSubject <= 0 {
			t.Errorf("stream %s: MaxBytes %d, MaxMsgsPerSubject %d; want both bounded", c.Name, c.MaxBytes, c.MaxMsgsPerSubject)
		}
	}
	cfg := testCfg
	cfg.TradeBytes = 64 << 10
	srv := startSingle(t)
	f := newScripted("AAPL")
	startTrio(t, srv, cfg, f)
	f.Do(t, func(s feed.Sink) {
		for seq := uint64(1); seq <= 2000; seq++ { // about 300 KB
			td := testTrade("AAPL", seq)
			s.PublishTrade(&td)
		}
	})
	probe := dialNATS(t, srv, "probe")
	testutil.WaitFor(t, 5*time.Second, "the last trade stored", func() bool { return streamLastSeq(t, probe, "tickerd_trades") >= 2000 })
	st := streamInfo(t, probe, "tickerd_trades")
	if got := st.State.Bytes; got > uint64(cfg.TradeBytes) || got == 0 {
		t.Errorf("the trade stream holds %d bytes, want at most %d", got, cfg.TradeBytes)
	}
}
