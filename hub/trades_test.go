package hub_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/tickerd/tickerd/hub"
	"github.com/tickerd/tickerd/internal/testutil"
)

// pubTrade publishes trade seq of sym in epoch: a buy of 100 at a price
// with two decimals.
func pubTrade(h *hub.Hub, sym string, epoch, seq uint64) {
	tr := testutil.Trade(sym, seq, decimal.New(18724+int64(seq%100), -2).StringFixed(2), "100")
	tr.Epoch = epoch
	h.PublishTrade(tr)
}

// tapeMsg is a trades-channel message as a client sees it.
type tapeMsg struct {
	Type    string `json:"type"`
	Channel string `json:"channel"`
	Symbol  string `json:"symbol"`
	Seq     uint64 `json:"seq"`
	From    uint64 `json:"from"`
	To      uint64 `json:"to"`
	Epoch   uint64 `json:"epoch"`
	Replay  bool   `json:"replay"`
	size    int
}

func (m tapeMsg) String() string {
	switch m.Type {
	case "trade":
		if m.Replay {
			return fmt.Sprintf("replay %d", m.Seq)
		}
		return fmt.Sprintf("trade %d", m.Seq)
	case "gap":
		return fmt.Sprintf("gap %d-%d", m.From, m.To)
	case "reset":
		return fmt.Sprintf("reset %d", m.Epoch)
	}
	return m.Type
}

// nextOf reads c's next message of one of types, skipping replies
// (subscribed, pong); any other message fails the test.
func nextOf(t testing.TB, c *testutil.Client, types ...string) testutil.Msg {
	t.Helper()
	for {
		m, err := c.Next(time.Now().Add(wait))
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case slices.Contains(types, m.Type):
			return m
		case m.Type != "subscribed" && m.Type != "pong":
			t.Fatalf("unexpected message %s", m.Raw)
		}
	}
}

// nextTape reads c's next message of the trades channel.
func nextTape(t testing.TB, c *testutil.Client) tapeMsg {
	t.Helper()
	m := nextOf(t, c, "trade", "gap", "reset")
	var tm tapeMsg
	if err := json.Unmarshal(m.Raw, &tm); err != nil {
		t.Fatal(err)
	}
	tm.size = len(m.Raw)
	return tm
}

// expectTape reads len(want) trades-channel messages and compares them.
func expectTape(t testing.TB, c *testutil.Client, want ...string) {
	t.Helper()
	for i, w := range want {
		if got := nextTape(t, c).String(); got != w {
			t.Fatalf("message %d: got %s, want %s", i, got, w)
		}
	}
}

// subscribeTrades subscribes c to sym's trades (with since, if not "")
// and waits for the reply.
func subscribeTrades(t testing.TB, c *testutil.Client, sym, since string) {
	t.Helper()
	req := `{"op":"subscribe","channel":"trades","symbols":["` + sym + `"],"id":1`
	if since != "" {
		req += `,"since":{"` + sym + `":` + since + `}`
	}
	subscribe(t, c, req+"}", "1")
}

// tapeCheck follows a subscriber's view of a tape: every seq must come
// once, in order, as a trade or inside a gap.
type tapeCheck struct {
	next   uint64 // the seq expected next
	trades int
	gaps   int
	bytes  int
	seg    int // bytes of trades since the last gap
	maxSeg int // the most bytes of trades between two gaps
}

func (tc *tapeCheck) take(t testing.TB, m tapeMsg) {
	t.Helper()
	switch m.Type {
	case "trade":
		if m.Seq != tc.next {
			t.Fatalf("trade %d, want %d", m.Seq, tc.next)
		}
		tc.next++
		tc.trades++
		tc.bytes += m.size
		tc.seg += m.size
		tc.maxSeg = max(tc.maxSeg, tc.seg)
	case "gap":
		if m.From != tc.next || m.To < m.From {
			t.Fatalf("gap %d-%d, want one from %d", m.From, m.To, tc.next)
		}
		tc.next = m.To + 1
		tc.gaps++
		tc.seg = 0
	default:
		t.Fatalf("unexpected %s", m)
	}
}

func TestTradesLiveAndHoles(t *testing.T) {
	srv := startHub(t, hub.Config{}, nil)
	c := srv.dial(t, "")
	subscribeTrades(t, c, "AAPL", "")
	for _, seq := range []uint64{1, 2, 3, 7, 8} { // the feed lost 4-6
		pubTrade(srv.h, "AAPL", 0, seq)
	}
	pubTrade(srv.h, "AAPL", 0, 8) // a duplicate: dropped
	expectTape(t, c, "trade 1", "trade 2", "trade 3", "gap 4-6", "trade 7", "trade 8")
	// A new seq space: a reset, then its trades.
	pubTrade(srv.h, "AAPL", 1, 1)
	pubTrade(srv.h, "AAPL", 0, 9) // an older epoch: dropped
	pubTrade(srv.h, "AAPL", 1, 2)
	expectTape(t, c, "reset 1", "trade 1", "trade 2")
	st := srv.h.Stats()
	if st.Trades != 7 || st.TradeHoles != 1 || st.Stale != 1 || st.StaleEpoch != 1 || st.Resets != 1 {
		t.Errorf("stats: trades %d holes %d stale %d staleEpoch %d resets %d, want 7 1 1 1 1",
			st.Trades, st.TradeHoles, st.Stale, st.StaleEpoch, st.Resets)
	}
	checkServed(t, c, "9")
}

func TestTradesFirstEpochSilent(t *testing.T) {
	srv := startHub(t, hub.Config{}, nil)
	c := srv.dial(t, "")
	subscribeTrades(t, c, "AAPL", "")
	pubTrade(srv.h, "AAPL", 7, 100) // a cluster feed node's first epoch is not 0
	pubTrade(srv.h, "AAPL", 7, 101)
	expectTape(t, c, "trade 100", "trade 101")
}

func TestTradesResume(t *testing.T) {
	srv := startHub(t, hub.Config{}, nil)
	for seq := uint64(1); seq <= 100; seq++ {
		pubTrade(srv.h, "AAPL", 0, seq)
	}
	t.Run("since", func(t *testing.T) {
		c := srv.dial(t, "")
		subscribeTrades(t, c, "AAPL", "95")
		expectTape(t, c, "replay 96", "replay 97", "replay 98", "replay 99", "replay 100")
		pubTrade(srv.h, "AAPL", 0, 101)
		expectTape(t, c, "trade 101")
	})
	t.Run("since the last", func(t *testing.T) {
		c := srv.dial(t, "")
		subscribeTrades(t, c, "AAPL", "101")
		pubTrade(srv.h, "AAPL", 0, 102)
		expectTape(t, c, "trade 102")
	})
	t.Run("since zero", func(t *testing.T) {
		c := srv.dial(t, "")
		subscribeTrades(t, c, "AAPL", "0")
		var tc tapeCheck
		tc.next = 1
		for tc.next <= 102 {
			m := nextTape(t, c)
			if !m.Replay {
				t.Fatalf("%s not a replay", m)
			}
			tc.take(t, m)
		}
		if tc.gaps != 0 {
			t.Errorf("%d gaps, want none", tc.gaps)
		}
	})
	t.Run("since above the tape", func(t *testing.T) {
		// The server restarted (or its feed lost its state): the
		// client's seq is from another seq space.
		c := srv.dial(t, "")
		subscribeTrades(t, c, "AAPL", "5000")
		expectTape(t, c, "reset 0")
		pubTrade(srv.h, "AAPL", 0, 103)
		expectTape(t, c, "trade 103")
	})
	t.Run("reconnect", func(t *testing.T) {
		// A client that reconnects with the last seq it got misses
		// nothing and gets nothing twice.
		c := srv.dial(t, "")
		subscribeTrades(t, c, "AAPL", "")
		pubTrade(srv.h, "AAPL", 0, 104)
		pubTrade(srv.h, "AAPL", 0, 105)
		expectTape(t, c, "trade 104")
		c.Close()
		for seq := uint64(106); seq <= 110; seq++ {
			pubTrade(srv.h, "AAPL", 0, seq)
		}
		c2 := srv.dial(t, "")
		subscribeTrades(t, c2, "AAPL", "104")
		expectTape(t, c2, "replay 105", "replay 106", "replay 107", "replay 108", "replay 109", "replay 110")
		pubTrade(srv.h, "AAPL", 0, 111)
		expectTape(t, c2, "trade 111")
	})
}

func TestTradesGapWhenHistoryExceeded(t *testing.T) {
	srv := startHub(t, hub.Config{TradeHistory: 100}, nil)
	for seq := uint64(1); seq <= 500; seq++ {
		pubTrade(srv.h, "AAPL", 0, seq)
	}
	c := srv.dial(t, "")
	subscribeTrades(t, c, "AAPL", "10")
	expectTape(t, c, "gap 11-400", "replay 401")
	var tc tapeCheck
	tc.next = 402
	for tc.next <= 500 {
		tc.take(t, nextTape(t, c))
	}
	if got := srv.h.Stats().GapsSent; got != 1 {
		t.Errorf("GapsSent = %d, want 1", got)
	}
}

func TestTradesContiguousUnderLoad(t *testing.T) {
	// Clients that keep up get every trade, in order, while quotes of
	// other symbols flow too.
	const n = 20_000
	srv := startHub(t, hub.Config{TradeHistory: n, TradeHistoryBytes: 64 << 20, TradeLag: 64 << 20}, nil)
	const clients = 4
	cs := make([]*testutil.Client, clients)
	for i := range cs {
		cs[i] = srv.dial(t, "?symbols=MSFT")
		subscribeTrades(t, cs[i], "AAPL", "")
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for seq := uint64(1); seq <= n; seq++ {
			pubTrade(srv.h, "AAPL", 0, seq)
			if seq%10 == 0 {
				publish(srv.h, "MSFT", seq/10, "410.00")
			}
		}
	}()
	errs := make(chan error, clients)
	for _, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			next := uint64(1)
			for next <= n {
				m, err := c.Next(time.Now().Add(wait))
				if err != nil {
					errs <- err
					return
				}
				var tm tapeMsg
				_ = json.Unmarshal(m.Raw, &tm)
				switch tm.Type {
				case "trade":
					if tm.Seq != next {
						errs <- fmt.Errorf("trade %d, want %d", tm.Seq, next)
						return
					}
					next++
				case "tick", "snapshot":
				default:
					errs <- fmt.Errorf("unexpected %s", m.Raw)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestTradesSlowReaderBounded(t *testing.T) {
	// A client that stops reading while far more than its budget
	// (TradeLag) is published gets, once it reads again, at most about
	// its budget of trades and a gap naming exactly the rest: the server
	// keeps nothing for it but its cursor.
	forTransports(t, testTradesSlowReaderBounded)
}

func testTradesSlowReaderBounded(t *testing.T, tr transport) {
	const lag = 64 << 10
	const n = 60_000 // ~7 MB of trade messages: 100 times the budget
	srv := startHubOn(t, tr, hub.Config{TradeHistory: 100_000, TradeHistoryBytes: 64 << 20, TradeLag: lag}, nil)
	c, err := testutil.DialWith(srv.dialer(4096), srv.url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	subscribeTrades(t, c, "AAPL", "")
	for seq := uint64(1); seq <= n; seq++ {
		pubTrade(srv.h, "AAPL", 0, seq)
	}
	var tc tapeCheck
	tc.next = 1
	for tc.next <= n {
		tc.take(t, nextTape(t, c))
	}
	if tc.gaps == 0 {
		t.Fatal("no gap: the client kept up, the test proves nothing")
	}
	// What reaches the client between two gaps: what the socket buffers
	// hold (64 KiB SendBuffer, doubled by the kernel, and the client's
	// 4 KiB, doubled), then at most the budget, and one batch (a TLS
	// writer's batch: 32 KiB).
	bound := 2*(64<<10) + 2*4096 + lag + 32<<10 + 32<<10
	if tc.maxSeg > bound {
		t.Errorf("client got %d bytes of trades between two gaps, want at most %d", tc.maxSeg, bound)
	}
	if got := srv.h.Stats().GapsSent; got != uint64(tc.gaps) {
		t.Errorf("GapsSent = %d, the client saw %d", got, tc.gaps)
	}
	checkServed(t, c, "2")
}

func TestTradeHistoryBounds(t *testing.T) {
	// The tape keeps at most TradeHistoryBytes, however many trades its
	// count allows, and nothing older than TradeHistoryAge once a
	// trade comes: a since from before it gets a gap.
	t.Run("bytes", func(t *testing.T) {
		const limit = 32 << 10
		srv := startHub(t, hub.Config{TradeHistory: 100_000, TradeHistoryBytes: limit}, nil)
		const n = 5_000 // ~600 KB of trades
		for seq := uint64(1); seq <= n; seq++ {
			pubTrade(srv.h, "AAPL", 0, seq)
		}
		c := srv.dial(t, "")
		subscribeTrades(t, c, "AAPL", "0")
		g := nextTape(t, c)
		if g.Type != "gap" || g.From != 1 {
			t.Fatalf("first message %s, want a gap from 1", g)
		}
		var tc tapeCheck
		tc.next = g.To + 1
		for tc.next <= n {
			tc.take(t, nextTape(t, c))
		}
		// Each entry costs its frame (2 bytes of header, and the live
		// form is 14 bytes shorter than the replay) and 104 bytes.
		if kept := tc.bytes + tc.trades*(104+2-14); kept > limit || tc.trades < 50 {
			t.Errorf("history kept %d trades costing %d bytes, want at most %d bytes and some trades", tc.trades, kept, limit)
		}
	})
	t.Run("age", func(t *testing.T) {
		srv := startHub(t, hub.Config{TradeHistoryAge: 50 * time.Millisecond}, nil)
		for seq := uint64(1); seq <= 10; seq++ {
			pubTrade(srv.h, "AAPL", 0, seq)
		}
		time.Sleep(100 * time.Millisecond)
		pubTrade(srv.h, "AAPL", 0, 11)
		c := srv.dial(t, "")
		subscribeTrades(t, c, "AAPL", "0")
		expectTape(t, c, "gap 1-10", "replay 11")
	})
}

func TestTradeReplaysNotInLatency(t *testing.T) {
	// Replayed trades are old on purpose: they count as messages but not
	// in the tick-to-write latency histogram.
	srv := startHub(t, hub.Config{}, nil)
	hourAgo := time.Now().Add(-time.Hour).UnixNano()
	for seq := uint64(1); seq <= 10; seq++ {
		tr := testutil.Trade("AAPL", seq, "100", "1")
		tr.TS = hourAgo
		srv.h.PublishTrade(tr)
	}
	c := srv.dial(t, "")
	subscribeTrades(t, c, "AAPL", "0")
	for range 10 {
		if m := nextTape(t, c); !m.Replay {
			t.Fatalf("%s, want a replay", m)
		}
	}
	checkServed(t, c, "2")
	st := srv.h.Stats()
	if st.Messages < 10 || st.LatencySum > time.Minute {
		t.Errorf("Messages %d, LatencySum %v: want the 10 replays counted, not timed", st.Messages, st.LatencySum)
	}
}

// BenchmarkTradeHistoryMemory measures what a symbol's trade history
// costs the server with the defaults (10,000 trades, 5 minutes, 4 MiB):
// Go heap after a collection, once a symbol has a full history, per
// symbol and per trade.
//
//	go test ./hub -run '^$' -bench TradeHistoryMemory -benchtime 1x
func BenchmarkTradeHistoryMemory(b *testing.B) {
	syms := []string{"AAPL", "MSFT", "NVDA", "AMZN"}
	const trades = 10_000
	srv := startHub(b, hub.Config{}, nil)
	heap0, _ := liveMem()
	for _, sym := range syms {
		for seq := uint64(1); seq <= trades+100; seq++ { // past the count: the history is full
			pubTrade(srv.h, sym, 0, seq)
		}
	}
	heap, _ := liveMem()
	for b.Loop() {
	}
	per := float64(heap-heap0) / float64(len(syms))
	b.ReportMetric(per/(1<<20), "MiB/symbol")
	b.ReportMetric(per/trades, "B/trade")
}
