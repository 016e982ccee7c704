package hub_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/tickerd/tickerd/hub"
	"github.com/tickerd/tickerd/internal/candle"
	"github.com/tickerd/tickerd/internal/testutil"
	"github.com/tickerd/tickerd/protocol"
)

// wireCandle is a candle as a client reads it.
type wireCandle struct {
	Start  int64  `json:"start"`
	Open   string `json:"open"`
	High   string `json:"high"`
	Low    string `json:"low"`
	Close  string `json:"close"`
	Volume string `json:"volume"`
	Trades uint64 `json:"trades"`
	Closed bool   `json:"closed"`
}

// candleMsg is a "candle" or "candles" message.
type candleMsg struct {
	Type     string `json:"type"`
	Symbol   string `json:"symbol"`
	Interval string `json:"interval"`
	wireCandle
	Candles []wireCandle `json:"candles"`
}

// nextCandle reads c's next candles-channel message.
func nextCandle(t testing.TB, c *testutil.Client) candleMsg {
	t.Helper()
	m := nextOf(t, c, "candle", "candles")
	var cm candleMsg
	if err := json.Unmarshal(m.Raw, &cm); err != nil {
		t.Fatal(err)
	}
	return cm
}

func subscribeCandles(t testing.TB, c *testutil.Client, sym, iv string, extra string) {
	t.Helper()
	subscribe(t, c, `{"op":"subscribe","channel":"candles","interval":"`+iv+`","symbols":["`+sym+`"],"id":3`+extra+`}`, "3")
}

// ohlcv is what a candle must say about trades.
func ohlcv(trades []protocol.Trade) wireCandle {
	w := wireCandle{Trades: uint64(len(trades)), Closed: true}
	hi, lo, vol := trades[0].Price, trades[0].Price, decimal.Zero
	for _, tr := range trades {
		hi, lo = decimal.Max(hi, tr.Price), decimal.Min(lo, tr.Price)
		vol = vol.Add(tr.Size)
	}
	w.Open = trades[0].Price.StringFixed(2)
	w.Close = trades[len(trades)-1].Price.StringFixed(2)
	w.High, w.Low, w.Volume = hi.StringFixed(2), lo.StringFixed(2), vol.StringFixed(0)
	return w
}

func TestCandlesFromTrades(t *testing.T) {
	// Trades go through a candle.Builder into the hub, as the server
	// wires them: the closed candle a client gets says what the trades
	// of its second said, and a client that subscribes later finds it in
	// the history message.
	srv := startHub(t, hub.Config{}, nil)
	c := srv.dial(t, "")
	subscribeCandles(t, c, "AAPL", "1s", "")
	if m := nextCandle(t, c); m.Type != "candles" || m.Interval != "1s" || len(m.Candles) != 0 {
		t.Fatalf("first message %+v, want an empty 1s history", m)
	}

	b := candle.NewBuilder(candle.Config{Intervals: []protocol.Interval{protocol.Interval1s}}, srv.h)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = b.Run(ctx)
	}()
	defer func() {
		cancel()
		wg.Wait()
	}()
	// Event time in the past: a trade of the next second closes the
	// candle at once.
	start := time.Date(2026, 1, 2, 15, 0, 0, 0, time.UTC).UnixNano()
	var second []protocol.Trade
	for i, p := range []string{"187.10", "187.40", "187.00", "187.24", "187.31"} {
		tr := testutil.Trade("AAPL", uint64(i+1), p, strconv.Itoa(100*(i+1)))
		tr.Side, tr.TS = protocol.SideSell, start+int64(i)*100e6
		second = append(second, *tr)
	}
	for i := range second {
		b.PublishTrade(&second[i])
	}
	next := testutil.Trade("AAPL", 6, "188.00", "1")
	next.TS = start + 1_200e6
	b.PublishTrade(next)

	want := ohlcv(second)
	want.Start = start
	for {
		m := nextCandle(t, c)
		if m.Type != "candle" {
			t.Fatalf("got %s, want candle", m.Type)
		}
		if m.Start == start && m.Closed {
			if m.wireCandle != want {
				t.Errorf("closed candle %+v, want %+v", m.wireCandle, want)
			}
			break
		}
		if m.Start != start || m.Closed {
			t.Fatalf("candle %+v before the first one closed", m)
		}
	}

	late := srv.dial(t, "")
	subscribeCandles(t, late, "AAPL", "1s", "")
	h := nextCandle(t, late)
	if h.Type != "candles" || len(h.Candles) == 0 || h.Candles[0] != want {
		t.Fatalf("history %+v, want the closed candle %+v first", h, want)
	}
	if st := srv.h.Stats(); st.Candles == 0 {
		t.Error("Stats.Candles = 0")
	}
}

func TestCandleClosedNeverMerged(t *testing.T) {
	// A client limited to one message a second gets the latest open
	// candle only, but every closed one.
	srv := startHub(t, hub.Config{MessageRate: -1}, nil)
	c := srv.dial(t, "")
	subscribeCandles(t, c, "AAPL", "1m", `,"max_rate":1`)
	if m := nextCandle(t, c); m.Type != "candles" {
		t.Fatalf("first message %s, want the history", m.Type)
	}
	t0 := time.Date(2026, 1, 2, 15, 0, 0, 0, time.UTC).UnixNano()
	pub := func(start int64, price int64, closed bool) {
		p := decimal.New(price, -2)
		srv.h.PublishCandle(&protocol.Candle{Symbol: "AAPL", Interval: protocol.Interval1m, Start: start,
			Open: p, High: p, Low: p, Close: p, Volume: decimal.NewFromInt(price), Trades: 1, Closed: closed, PricePrec: 2})
	}
	pub(t0, 100, false)
	pub(t0, 101, false)
	pub(t0, 102, true)
	pub(t0+60e9, 103, false)
	pub(t0+60e9, 104, false)
	pub(t0, 99, false) // an earlier start than the stream's: stale
	var got []string
	for len(got) < 2 {
		m := nextCandle(t, c)
		got = append(got, fmt.Sprintf("%d %s %v", (m.Start-t0)/1e9, m.Close, m.Closed))
	}
	if want := []string{"0 1.02 true", "60 1.04 false"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if st := srv.h.Stats(); st.Stale != 1 {
		t.Errorf("Stale = %d, want 1", st.Stale)
	}
}
