package coinbase

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/protocol"
)

// trade formats a published trade for comparison.
func trade(tr protocol.Trade) string {
	return fmt.Sprintf("%s seq=%d price=%s size=%s side=%s ts=%d", tr.Symbol, tr.Seq,
		tr.Price.StringFixed(tr.PricePrec), tr.Size.StringFixed(tr.SizePrec), tr.Side, tr.TS)
}

// wantTrade is what a match message must become, computed with string
// operations: seq is the trade_id, price and size padded to the product's
// decimals, and side the aggressor's, given here (the ticker of the same
// trade_id states it: its "side" is the taker's).
func wantTrade(t *testing.T, msg, side string) string {
	s := func(name string) string { return field(t, msg, name).(string) }
	tm, err := time.Parse(time.RFC3339Nano, s("time"))
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%s seq=%s price=%s size=%s side=%s ts=%d", s("product_id"), field(t, msg, "trade_id"),
		pad(s("price"), 2), pad(s("size"), 8), side, tm.UnixNano())
}

// takerSides maps trade_id to the taker's side as the sample's tickers
// state it.
func takerSides(t *testing.T) map[string]string {
	sides := map[string]string{}
	for _, msg := range loadSample(t).tickers {
		sides[fmt.Sprint(field(t, msg, "trade_id"))] = field(t, msg, "side").(string)
	}
	return sides
}

// TestTrades: every documented match, and the last_match sent first after
// subscribing, becomes a trade in order, with the trade_id as seq and the
// aggressor's side: the opposite of the match's "side" (the maker's), the
// same as the ticker's for that trade.
func TestTrades(t *testing.T) {
	u := newUpstream(t)
	f, s, _ := start(t, u, Config{Channels: []protocol.Channel{protocol.ChannelTrades}})
	c := u.next()
	checkSub(t, "subscribe", c.first, "subscribe heartbeat[BTC-USD ETH-USD] matches[BTC-USD ETH-USD]")
	msgs := lines(t, "matches.ndjson")
	sides := takerSides(t)
	c.send(msgs...)
	for _, msg := range msgs {
		side := sides[fmt.Sprint(field(t, msg, "trade_id"))]
		if field(t, msg, "type") == "last_match" {
			side = map[string]string{"buy": "sell", "sell": "buy"}[field(t, msg, "side").(string)] // no ticker for it
		}
		if got, want := trade(s.nextTrade(t)), wantTrade(t, msg, side); got != want {
			t.Errorf("trade from\n%s\n= %s\nwant %s", msg, got, want)
		}
	}
	s.none(t)
	h := f.Health()[0]
	if !h.Connected || h.LastUpdate.IsZero() || h.Gaps != 0 || h.Rejected != 0 || h.Err != "" {
		t.Errorf("Health() = %+v, want connected, updated, no gaps, nothing rejected", h)
	}
}

// TestTradeGap: a hole in the trade_ids is a gap: the seq skips exactly
// the missed trades (so the server sends subscribers a "gap"), Health.Gaps
// counts it, and the log names it. A match the feed cannot use is a hole
// too.
func TestTradeGap(t *testing.T) {
	u := newUpstream(t)
	f, s, logs := start(t, u, Config{Channels: []protocol.Channel{protocol.ChannelTrades}})
	c := u.next()
	btc := byProduct(t, lines(t, "matches.ndjson"), "BTC-USD") // last_match 734680334, then 734680335…
	c.send(btc[0], btc[1], btc[2], btc[5], btc[6])
	badSize := strings.Replace(btc[7], `"size":"`, `"size":"x`, 1)
	c.send(badSize, btc[8])
	var seqs []uint64
	for range 6 {
		seqs = append(seqs, s.nextTrade(t).Seq)
	}
	want := []uint64{734680334, 734680335, 734680336, 734680339, 734680340, 734680342}
	if fmt.Sprint(seqs) != fmt.Sprint(want) {
		t.Errorf("trade seqs = %v, want %v", seqs, want)
	}
	h := f.Health()[0]
	if h.Gaps != 2 || h.Rejected != 1 || !strings.Contains(h.Err, `size`) {
		t.Errorf("Health() = %+v, want 2 gaps, 1 rejected (the bad size)", h)
	}
	for _, want := range []string{
		`"coinbase: gap: trades missed" product=BTC-USD from_trade_id=734680337 to_trade_id=734680338`,
		`"coinbase: gap: trades missed" product=BTC-USD from_trade_id=734680341 to_trade_id=734680341`,
	} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log does not contain %s:\n%s", want, logs.String())
		}
	}
}

// TestTradesAcrossReconnects: after a reconnect the upstream sends the
// last trade again as last_match; the feed does not publish it twice. When
// trades happened while it was away, the last_match skips them: a gap.
func TestTradesAcrossReconnects(t *testing.T) {
	u := newUpstream(t)
	f, s, _ := start(t, u, Config{Channels: []protocol.Channel{protocol.ChannelTrades}})
	btc := byProduct(t, lines(t, "matches.ndjson"), "BTC-USD")
	c1 := u.next()
	c1.send(btc[:4]...) // last_match 734680334, matches …335 to …337
	for range 4 {
		s.nextTrade(t)
	}
	c2 := reconnect(t, u, c1)
	again := strings.Replace(btc[3], `"type":"match"`, `"type":"last_match"`, 1)
	c2.send(again, btc[4])
	if got := s.nextTrade(t).Seq; got != 734680338 {
		t.Errorf("after a reconnect: trade seq %d, want 734680338 (the last_match was published already)", got)
	}
	c3 := reconnect(t, u, c2)
	c3.send(strings.Replace(btc[7], `"type":"match"`, `"type":"last_match"`, 1), btc[8])
	for _, want := range []uint64{734680341, 734680342} {
		if got := s.nextTrade(t).Seq; got != want {
			t.Errorf("after a second reconnect: trade seq %d, want %d", got, want)
		}
	}
	h := waitHealth(t, f, func(h feed.Health) bool { return h.Connected && h.Reconnects == 2 })
	if h.Gaps != 1 {
		t.Errorf("Health().Gaps = %d, want 1 (734680339 and 734680340 missed while disconnected)", h.Gaps)
	}
	s.none(t)
}

// TestTradesOnDemand: trades unsubscribed because no client watched them
// are skipped by choice: the seq skips them, but they are no gap.
func TestTradesOnDemand(t *testing.T) {
	u := newUpstream(t)
	f, s, _ := start(t, u, Config{OnDemand: true, Channels: []protocol.Channel{protocol.ChannelTrades}})
	c := u.next()
	f.Watch("BTC-USD", true)
	checkSub(t, "after Watch", c.nextSub(), "subscribe matches[BTC-USD]")
	c.send(matchMsg("last_match", "BTC-USD", 100, "91250.30", "0.01", "sell"), matchMsg("match", "BTC-USD", 101, "91250.31", "0.02", "buy"))
	s.nextTrade(t)
	s.nextTrade(t)
	f.Watch("BTC-USD", false)
	checkSub(t, "after unwatch", c.nextSub(), "unsubscribe matches[BTC-USD]")
	f.Watch("BTC-USD", true)
	c.nextSub()
	c.send(matchMsg("last_match", "BTC-USD", 150, "91251.00", "0.03", "sell"), matchMsg("match", "BTC-USD", 152, "91251.00", "0.03", "sell"))
	for _, want := range []uint64{150, 152} {
		if got := s.nextTrade(t).Seq; got != want {
			t.Errorf("trade seq %d, want %d", got, want)
		}
	}
	if h := f.Health()[0]; h.Gaps != 1 {
		t.Errorf("Health().Gaps = %d, want 1: 151 was missed, 102 to 149 were not followed", h.Gaps)
	}
}

func TestAggressor(t *testing.T) {
	for _, tt := range []struct {
		maker string
		want  protocol.Side
		err   bool
	}{
		{"sell", protocol.SideBuy, false}, // the maker sold: an up-tick, a buyer took it
		{"buy", protocol.SideSell, false},
		{"", protocol.SideUnknown, false},
		{"BUY", 0, true},
		{"taker", 0, true},
	} {
		got, err := aggressor(tt.maker)
		if got != tt.want || (err != nil) != tt.err {
			t.Errorf("aggressor(%q) = %v, %v; want %v, error %v", tt.maker, got, err, tt.want, tt.err)
		}
	}
}
