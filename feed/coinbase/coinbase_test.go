package coinbase

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/internal/testutil"
	"github.com/tickerd/tickerd/protocol"
)

var twoProducts = []Product{{ID: "BTC-USD"}, {ID: "ETH-USD"}}

// start runs a Feed against u and returns it, its sink and its log. The
// feed is stopped, and Run's nil result checked, at the end of the test.
func start(t *testing.T, u *upstream, cfg Config) (*Feed, sink, *testutil.Logs) {
	t.Helper()
	logs := &testutil.Logs{}
	cfg.URL = u.url()
	if cfg.Products == nil {
		cfg.Products = twoProducts
	}
	if cfg.MinBackoff == 0 {
		cfg.MinBackoff, cfg.MaxBackoff = 10*time.Millisecond, 50*time.Millisecond
	}
	cfg.Logger = logs.Logger()
	f, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := newSink()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- f.Run(ctx, s) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-errc:
			if err != nil {
				t.Errorf("Run = %v, want nil after cancel", err)
			}
		case <-time.After(20 * time.Second):
			t.Errorf("Run did not return within 20s of cancel")
		}
		if t.Failed() {
			t.Logf("feed log:\n%s", logs.String())
		}
	})
	return f, s, logs
}

// waitHealth polls Health until ok accepts it.
func waitHealth(t *testing.T, f *Feed, ok func(h feed.Health) bool) feed.Health {
	t.Helper()
	var h feed.Health
	if !testutil.Eventually(20*time.Second, func() bool { h = f.Health()[0]; return ok(h) }) {
		t.Fatalf("Health() = %+v, still not as expected after 20s", h)
	}
	return h
}

// checkSub checks that the subscription message s is want, as channels
// writes it; what names s in the error.
func checkSub(t *testing.T, what string, s subscription, want string) {
	t.Helper()
	if got := channels(s); got != want {
		t.Errorf("%s = %s, want %s", what, got, want)
	}
}

// reconnect drops c's TCP connection and returns the feed's next
// connection, checked to subscribe to the same as c.
func reconnect(t *testing.T, u *upstream, c *upConn) *upConn {
	t.Helper()
	c.drop()
	next := u.next()
	checkSub(t, "resubscribe", next.first, channels(c.first))
	return next
}

func channels(s subscription) string {
	var parts []string
	for _, c := range s.Channels {
		parts = append(parts, fmt.Sprintf("%s%v", c.Name, c.ProductIDs))
	}
	return s.Type + " " + strings.Join(parts, " ")
}

// TestStream: every documented ticker becomes a tick with our seq, the
// prices padded to the product's decimals, the 24h statistics, and the
// upstream time.
func TestStream(t *testing.T) {
	u := newUpstream(t)
	sm := loadSample(t)
	f, s, _ := start(t, u, Config{})
	c := u.next()
	checkSub(t, "subscribe", c.first, "subscribe heartbeat[BTC-USD ETH-USD] ticker[BTC-USD ETH-USD] matches[BTC-USD ETH-USD] level2_batch[BTC-USD ETH-USD]")
	c.send(sm.tickers...)
	seq := map[string]uint64{}
	for _, msg := range sm.tickers {
		p := field(t, msg, "product_id").(string)
		seq[p]++
		want := wantTick(t, msg, p, seq[p], 2, 8)
		if got := s.next(t); got != want {
			t.Errorf("tick from\n%s\n= %s\nwant %s", msg, got, want)
		}
	}
	h := f.Health()[0]
	if h.Source != "coinbase" || !h.Connected || h.LastUpdate.IsZero() || h.Reconnects != 0 || h.Gaps != 0 || h.Err != "" {
		t.Errorf("Health() = %+v, want connected, updated, no reconnects, gaps or errors", h)
	}
}

// TestSymbolMapping: a renamed product publishes under its symbol, with the
// precision of its increments.
func TestSymbolMapping(t *testing.T) {
	u := newUpstream(t)
	sm := loadSample(t)
	products, err := ParseProducts("BTC-USD=XBT/USD:0.1:0.0001")
	if err != nil {
		t.Fatal(err)
	}
	f, s, _ := start(t, u, Config{Products: products})
	if syms := f.Symbols(); len(syms) != 1 || syms[0].Name != "XBT/USD" || syms[0].PricePrec != 1 || syms[0].VolumePrec != 4 {
		t.Errorf("Symbols() = %+v, want XBT/USD with 1 and 4 decimals", syms)
	}
	c := u.next()
	btc := sm.byProduct["BTC-USD"][0] // price 91250.3, volume_24h 9756.92478692
	c.send(sm.byProduct["ETH-USD"][0], btc)
	got := s.next(t)
	if !strings.Contains(got, `"symbol":"XBT/USD","seq":1,"price":"91250.3"`) || !strings.Contains(got, `"volume":"9756.9248"`) {
		t.Errorf("tick = %s, want XBT/USD seq 1 price 91250.3 volume 9756.9248 (rounded)", got)
	}
}

// TestDisconnect: the upstream drops the TCP connection; the feed redials,
// resubscribes, and seq continues.
func TestDisconnect(t *testing.T) {
	u := newUpstream(t)
	sm := loadSample(t)
	f, s, _ := start(t, u, Config{})
	c1 := u.next()
	btc := sm.byProduct["BTC-USD"]
	c1.send(btc[:3]...)
	for range 3 {
		s.next(t)
	}
	c2 := reconnect(t, u, c1)
	c2.send(btc[3:6]...)
	for i := range 3 {
		if got := s.next(t); !strings.Contains(got, fmt.Sprintf(`"seq":%d,`, 4+i)) {
			t.Errorf("tick after reconnect = %s, want seq %d", got, 4+i)
		}
	}
	waitHealth(t, f, func(h feed.Health) bool { return h.Connected && h.Reconnects == 1 })
}

// TestStall: an upstream that stops sending is dropped after IdleTimeout.
func TestStall(t *testing.T) {
	u := newUpstream(t)
	sm := loadSample(t)
	f, s, logs := start(t, u, Config{IdleTimeout: 200 * time.Millisecond})
	c1 := u.next()
	c1.send(sm.tickers[0])
	s.next(t)
	// Send nothing more; the feed must give up on c1 and dial again.
	c1.waitClosed()
	c2 := u.next()
	c2.send(sm.tickers[1])
	if got := s.next(t); !strings.Contains(got, `"seq":2,`) {
		t.Errorf("tick after the stall = %s, want seq 2", got)
	}
	waitHealth(t, f, func(h feed.Health) bool { return h.Connected && h.Reconnects == 1 })
	if !strings.Contains(logs.String(), "no message for 200ms") {
		t.Errorf("log does not mention the idle timeout:\n%s", logs.String())
	}
}

// TestGarbage: undecodable, malformed and error messages are skipped and
// reported; the connection stays up and good tickers keep flowing.
func TestGarbage(t *testing.T) {
	u := newUpstream(t)
	sm := loadSample(t)
	f, s, logs := start(t, u, Config{})
	c := u.next()
	good := sm.byProduct["BTC-USD"]
	badPrice := strings.Replace(good[1], `"price":"`, `"price":"x`, 1)
	negBid := strings.Replace(good[1], `"best_bid":"`, `"best_bid":"-`, 1)
	c.send(
		"not json at all",
		`{"type":"ticker","product_id":"BTC-USD"`, // truncated
		badPrice,
		negBid,
		strings.Replace(good[1], `"time":"`, `"time":"yesterday `, 1),
		strings.Replace(good[1], `"BTC-USD"`, `"ZZZ-USD"`, 1), // not ours: ignored
		`{"type":"error","message":"Failed to subscribe","reason":"ZZZ-USD is not a valid product"}`,
		`{"type":"received","product_id":"BTC-USD","sequence":10}`, // a type we do not use
		good[0],
	)
	c.ws.WriteMessage(2, []byte{0xff, 0x00}) // a binary frame
	c.send(good[2])
	for i := range 2 {
		if got := s.next(t); !strings.Contains(got, fmt.Sprintf(`"seq":%d,`, i+1)) {
			t.Errorf("tick %d = %s, want seq %d", i, got, i+1)
		}
	}
	h := f.Health()[0]
	if !h.Connected || h.Reconnects != 0 || !strings.Contains(h.Err, "binary message") {
		t.Errorf("Health() = %+v, want connected, no reconnects, the last error", h)
	}
	log := logs.String()
	for _, want := range []string{"not json", "price", "best_bid", "yesterday", "Failed to subscribe", "binary"} {
		if !strings.Contains(log, want) {
			t.Errorf("log does not mention %q:\n%s", want, log)
		}
	}
	if strings.Count(log, "level=WARN msg=\"coinbase: message skipped\"") != 3 {
		t.Errorf("want exactly 3 skipped messages at WARN (the rest at DEBUG):\n%s", log)
	}
}

// TestHugeDecimals: a number like "1e100000000", or one with a hundred
// thousand digits, in any upstream message is rejected at once with an
// error that names it, and counted; the connection stays up and the good
// messages that follow are published. (Through shopspring/decimal alone,
// one such ticker took 30 s and 240 MB.)
func TestHugeDecimals(t *testing.T) {
	u := newUpstream(t)
	f, s, logs := start(t, u, Config{})
	c := u.next()
	btc := loadSample(t).byProduct["BTC-USD"]
	huge, long := "1e100000000", strings.Repeat("9", 100_000)
	c.send(
		strings.Replace(btc[0], `"price":"91250.3"`, `"price":"`+huge+`"`, 1),
		strings.Replace(btc[0], `"volume_24h":"9756.92478692"`, `"volume_24h":"`+long+`"`, 1),
		strings.Replace(btc[0], `"best_bid":"91250.27"`, `"best_bid":"1e-100000000"`, 1),
		strings.Replace(btc[0], `"trade_id":734680335`, `"trade_id":`+huge, 1),
		matchMsg("match", "BTC-USD", 5, huge, "1", "buy"),
		matchMsg("match", "BTC-USD", 6, "91250.30", "0."+long, "buy"),
		strings.Replace(matchMsg("match", "BTC-USD", 7, "91250.30", "1", "buy"), `"trade_id":7`, `"trade_id":`+huge, 1),
		snapshotMsg("BTC-USD", []string{"91250.27", huge}, []string{"91250.30", "1"}),
	)
	resync(t, c, "BTC-USD") // the snapshot was not usable
	c.send(btc[1], matchMsg("match", "BTC-USD", 8, "91250.30", "1", "buy"),
		snapshotMsg("BTC-USD", []string{"91250.27", "1"}, []string{"91250.30", "1"}))
	if got := s.next(t); !strings.Contains(got, `"seq":1,`) {
		t.Errorf("tick after the huge decimals = %s, want seq 1", got)
	}
	if got := s.nextTrade(t); got.Seq != 8 {
		t.Errorf("trade after the huge decimals = %+v, want seq 8", got)
	}
	if got := s.nextBook(t); !got.Snapshot || len(got.Bids) != 1 {
		t.Errorf("book after the huge decimals = %+v, want the snapshot", got)
	}
	h := f.Health()[0]
	if h.Rejected != 8 || h.Reconnects != 0 || !h.Connected {
		t.Errorf("Health() = %+v, want 8 rejected, connected, no reconnects", h)
	}
	if n := strings.Count(logs.String(), "1e100000000"); n < 3 {
		t.Errorf("the log names 1e100000000 %d times, want 3 (ticker, match, snapshot):\n%.4000s", n, logs.String())
	}
}

// TestGap: a heartbeat announces a trade whose ticker never comes: one gap,
// logged. Tickers that arrive (or cover it, batched) before the next
// heartbeat are not gaps.
func TestGap(t *testing.T) {
	u := newUpstream(t)
	sm := loadSample(t)
	f, s, logs := start(t, u, Config{})
	c := u.next()
	btc, eth := sm.byProduct["BTC-USD"], sm.byProduct["ETH-USD"]
	trade := func(msg string) int64 {
		n, _ := field(t, msg, "trade_id").(interface{ Int64() (int64, error) }).Int64()
		return n
	}

	c.send(btc[0], eth[0])
	s.next(t)
	s.next(t)
	// ETH: the heartbeat runs ahead of its ticker, which then arrives: no gap.
	c.send(heartbeat("ETH-USD", trade(eth[1])), eth[1], heartbeat("ETH-USD", trade(eth[1])))
	s.next(t)
	// ETH: trades batched into one ticker with a later trade id: no gap.
	c.send(heartbeat("ETH-USD", trade(eth[2])), eth[3], heartbeat("ETH-USD", trade(eth[3])))
	s.next(t)
	// BTC: ticker btc[2] is lost. A heartbeat names its trade, the older
	// btc[1] arrives, the next heartbeat still names btc[2]'s trade: a gap.
	c.send(heartbeat("BTC-USD", trade(btc[2])), btc[1], heartbeat("BTC-USD", trade(btc[2])), btc[3])
	// BTC: btc[4] is lost too, and heartbeats keep naming it: one more gap,
	// counted once.
	c.send(heartbeat("BTC-USD", trade(btc[4])), heartbeat("BTC-USD", trade(btc[4])), heartbeat("BTC-USD", trade(btc[4])), heartbeat("BTC-USD", trade(btc[4])), btc[5])
	for _, want := range []string{`"symbol":"BTC-USD","seq":2,`, `"symbol":"BTC-USD","seq":3,`, `"symbol":"BTC-USD","seq":4,`} {
		if got := s.next(t); !strings.Contains(got, want) {
			t.Errorf("tick = %s, want %s", got, want)
		}
	}
	if h := f.Health()[0]; h.Gaps != 2 {
		t.Errorf("Health().Gaps = %d, want 2", h.Gaps)
	}
	if want := fmt.Sprintf("gap: ticker updates missed\" product=BTC-USD last_trade_id=%d last_ticker_trade_id=%d", trade(btc[2]), trade(btc[1])); !strings.Contains(logs.String(), want) {
		t.Errorf("log does not contain %q:\n%s", want, logs.String())
	}
}

// TestStale: a duplicate or out-of-order ticker (sequence not above the last)
// is dropped.
func TestStale(t *testing.T) {
	u := newUpstream(t)
	sm := loadSample(t)
	_, s, _ := start(t, u, Config{})
	c := u.next()
	btc := sm.byProduct["BTC-USD"]
	c.send(btc[0], btc[1], btc[1], btc[0], btc[2])
	var prices []string
	for range 3 {
		got := s.next(t)
		prices = append(prices, got[strings.Index(got, `"seq"`):strings.Index(got, `,"bid"`)])
	}
	for i, msg := range btc[:3] {
		want := fmt.Sprintf(`"seq":%d,"price":"%s"`, i+1, pad(field(t, msg, "price").(string), 2))
		if prices[i] != want {
			t.Errorf("tick %d: %s, want %s", i, prices[i], want)
		}
	}
	s.none(t) // no stale ticker
}

// TestOnDemand: with OnDemand the feed subscribes to tickers only for
// watched symbols, follows changes, and resubscribes them after a reconnect.
func TestOnDemand(t *testing.T) {
	u := newUpstream(t)
	f, _, _ := start(t, u, Config{OnDemand: true})
	c1 := u.next()
	checkSub(t, "first subscribe", c1.first, "subscribe heartbeat[BTC-USD ETH-USD]")
	var w feed.Watcher = f
	w.Watch("BTC-USD", true)
	checkSub(t, "after Watch(BTC-USD)", c1.nextSub(), "subscribe ticker[BTC-USD] matches[BTC-USD] level2_batch[BTC-USD]")
	w.Watch("NOPE", true) // unknown: ignored
	w.Watch("ETH-USD", true)
	checkSub(t, "after Watch(ETH-USD)", c1.nextSub(), "subscribe ticker[ETH-USD] matches[ETH-USD] level2_batch[ETH-USD]")
	w.Watch("BTC-USD", false)
	checkSub(t, "after unwatch BTC-USD", c1.nextSub(), "unsubscribe ticker[BTC-USD] matches[BTC-USD] level2_batch[BTC-USD]")
	c1.drop()
	c2 := u.next()
	checkSub(t, "resubscribe", c2.first, "subscribe heartbeat[BTC-USD ETH-USD] ticker[ETH-USD] matches[ETH-USD] level2_batch[ETH-USD]")
}

// TestDeadUpstream: nothing listens; Run keeps retrying, reports it, and
// still returns nil promptly when cancelled.
func TestDeadUpstream(t *testing.T) {
	f, err := New(Config{URL: "ws://" + testutil.FreeAddr(t), Products: twoProducts, MinBackoff: time.Millisecond, MaxBackoff: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- f.Run(ctx, newSink()) }()
	waitHealth(t, f, func(h feed.Health) bool { return !h.Connected && strings.Contains(h.Err, "dial") })
	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

func TestBackoff(t *testing.T) {
	lo, hi := 100*time.Millisecond, time.Second
	for n := range 12 {
		want := min(lo<<n, hi)
		seen := map[time.Duration]bool{}
		for range 200 {
			d := backoff(lo, hi, n)
			if d < want/2 || d > want {
				t.Fatalf("backoff(%v, %v, %d) = %v, want in [%v, %v]", lo, hi, n, d, want/2, want)
			}
			seen[d] = true
		}
		if len(seen) < 10 {
			t.Errorf("backoff(%v, %v, %d) took %d distinct values in 200 draws, want jitter", lo, hi, n, len(seen))
		}
	}
}

func TestParseProducts(t *testing.T) {
	tests := []struct {
		in, want, err string
	}{
		{"BTC-USD", "BTC-USD=BTC-USD 0:0", ""},
		{" BTC-USD , ETH-USD=ETH ", "BTC-USD=BTC-USD 0:0 ETH-USD=ETH 0:0", ""},
		{"PEPE-USD:0.000000001:1", "PEPE-USD=PEPE-USD 0.000000001:1", ""},
		{"X-Y=XY:0.5:0.25", "X-Y=XY 0.5:0.25", ""},
		{"", "", "no products"},
		{",,", "", "no products"},
		{"A-B:0.1", "", "want ID:QUOTE_INCREMENT:BASE_INCREMENT"},
		{"A-B:x:1", "", `quote increment "x"`},
		{"A-B:1:y", "", `base increment "y"`},
		{"A-B:1e100000000:1", "", `quote increment "1e100000000"`},
		{"A-B:1:0." + strings.Repeat("0", 100_000) + "1", "", `base increment`},
	}
	for _, tt := range tests {
		ps, err := ParseProducts(tt.in)
		var got []string
		for _, p := range ps {
			sym := p.Symbol
			if sym == "" {
				sym = p.ID
			}
			got = append(got, fmt.Sprintf("%s=%s %s:%s", p.ID, sym, p.QuoteIncrement, p.BaseIncrement))
		}
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.HasPrefix(err.Error(), "coinbase: ") {
				t.Errorf("ParseProducts(%q) = %v, want error containing %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || strings.Join(got, " ") != tt.want {
			t.Errorf("ParseProducts(%q) = %q, %v, want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestNew(t *testing.T) {
	f, err := New(Config{})
	if err != nil {
		t.Fatalf("New(zero Config) = %v", err)
	}
	var names []string
	for _, s := range f.Symbols() {
		names = append(names, fmt.Sprintf("%s/%d/%d/%s", s.Name, s.PricePrec, s.VolumePrec, s.TickSize))
	}
	if got, want := strings.Join(names, " "), "BTC-USD/2/8/0.01 ETH-USD/2/8/0.01 SOL-USD/2/8/0.01"; got != want {
		t.Errorf("default Symbols() = %s, want %s", got, want)
	}
	if doge, _ := New(Config{Products: []Product{{ID: "DOGE-USD"}}}); doge.Symbols()[0].PricePrec != 5 || doge.Symbols()[0].VolumePrec != 1 {
		t.Errorf("DOGE-USD = %+v, want 5 and 1 decimals", doge.Symbols()[0])
	}

	for _, tt := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"http URL", Config{URL: "http://example.com"}, "not a ws:// or wss:// URL"},
		{"bad URL", Config{URL: "ws://%zz"}, "not a ws:// or wss:// URL"},
		{"unknown product", Config{Products: []Product{{ID: "FOO-BAR"}}}, "give its increments, as FOO-BAR:QUOTE_INCREMENT:BASE_INCREMENT"},
		{"bad id", Config{Products: []Product{{ID: "A B"}}}, `bad product id "A B"`},
		{"twice", Config{Products: []Product{{ID: "BTC-USD"}, {ID: "BTC-USD", Symbol: "X"}}}, "listed twice"},
		{"same symbol", Config{Products: []Product{{ID: "BTC-USD", Symbol: "X"}, {ID: "ETH-USD", Symbol: "X"}}}, "used by two products"},
		{"negative timeout", Config{IdleTimeout: -time.Second}, "negative duration"},
		{"negative MaxMessage", Config{MaxMessage: -1}, "negative MaxMessage"},
		{"candles", Config{Channels: []protocol.Channel{protocol.ChannelTrades, protocol.ChannelCandles}}, "channel candles is not one the feed follows"},
		{"no channels", Config{Channels: []protocol.Channel{}}, "no channels"},
		{"fine increment", Config{Products: []Product{{ID: "X-Y", QuoteIncrement: decimal.New(1, -19), BaseIncrement: decimal.New(1, 0)}}}, "at most 18 decimals"},
		{"huge increment", Config{Products: []Product{{ID: "X-Y", QuoteIncrement: decimal.New(1, 100_000_000), BaseIncrement: decimal.New(1, 0)}}}, "exponent of at most 30"},
		{"tiny increment", Config{Products: []Product{{ID: "X-Y", QuoteIncrement: decimal.New(1, -100_000_000), BaseIncrement: decimal.New(1, 0)}}}, "at most 18 decimals"},
	} {
		if _, err := New(tt.cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("New(%s) = %v, want error containing %q", tt.name, err, tt.want)
		}
	}
}
