package main

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tickerd/tickerd"
	"github.com/tickerd/tickerd/feed/sim"
	"github.com/tickerd/tickerd/internal/apptest"
)

// serverLimits returns what the server at wsURL says it carries.
func serverLimits(t *testing.T, wsURL string) (channels []string, compression bool) {
	t.Helper()
	lim, err := fetchLimits(context.Background(), wsURL)
	if err != nil {
		t.Fatal(err)
	}
	return lim.Channels, lim.Compression
}

// needChannel skips the test when the server does not carry channel.
func needChannel(t *testing.T, wsURL, channel, feature string) {
	t.Helper()
	if chs, _ := serverLimits(t, wsURL); !slices.Contains(chs, channel) {
		t.Skipf("the server does not serve the %s channel yet (limits: channels %v): needs %s", channel, chs, feature)
	}
}

func TestChannelFlags(t *testing.T) {
	c, err := parseFlags([]string{"-scenario", "trades"})
	if err != nil {
		t.Fatal(err)
	}
	if c.conns != 10000 || c.channel != "trades" || c.stormBack != 100 || !c.compareQuotes || c.stormSeconds() != 5*time.Second {
		t.Errorf("trades defaults: conns %d channel %s storm-back %d compare-quotes %v storm %v", c.conns, c.channel, c.stormBack, c.compareQuotes, c.stormSeconds())
	}
	if p := c.stormPlan(2); p.At != 25 || p.Back != 100 || p.Concurrency != 256 {
		t.Errorf("storm plan %+v, want at 25 s, 100 back, 256 in flight", p)
	}
	c, err = parseFlags([]string{"-scenario", "book"})
	if err != nil {
		t.Fatal(err)
	}
	if c.channel != "book" || !slices.Equal(c.depthList(), []int{10, 50, 200}) || c.slow != 0.1 || c.stall != 6*time.Second {
		t.Errorf("book defaults: channel %s depths %v slow %v stall %v", c.channel, c.depthList(), c.slow, c.stall)
	}
	for _, bad := range [][]string{
		{"-channel", "candles"},
		{"-channel", "nope"},
		{"-channel", "trades", "-query"},
		{"-channel", "trades", "-max-rate", "1"},
		{"-depths", "10"},
		{"-channel", "book", "-depths", "10,20"},
		{"-stall", "-1s"},
		{"-slow", "0.1", "-stall", "5s", "-stall-every", "5s"},
		{"-slow-rcvbuf", "-1"},
		{"-storm-back", "100"},
		{"-channel", "trades", "-storm-back", "100", "-storm-window", "1500ms"},
		{"-compare-quotes"},
		{"-scenario", "hostile", "-channel", "trades"},
	} {
		if _, err := parseFlags(bad); err == nil {
			t.Errorf("parseFlags(%q) = nil error, want error", bad)
		}
	}
}

// TestTradesEndToEnd runs the trades scenario tiny against an in-process
// tickerd: quotes, then the tape, then every client resumes 100 trades
// back at once.
func TestTradesEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	srv := apptest.Start(t, tickerd.Config{Sim: sim.Config{Rate: 200, Symbols: 2, Steady: true}, DrainWindow: -1})
	needChannel(t, srv.WS, "trades", "the hub's trade fan-out with since replay (branch hubchan)")
	rep, out := runLogged(t, runCompareQuotes,
		"-scenario", "trades", "-url", srv.WS, "-conns", "20", "-k", "2", "-dist", "uniform", "-workers", "2",
		"-warmup", "2s", "-duration", "2s", "-storm-window", "2s", "-settle", "0s")
	q, tr := rep.Quotes.Window, rep.Channel.Window
	if q.Ticks == 0 || q.Trades != 0 || tr.Trades == 0 || tr.Ticks != 0 {
		t.Errorf("quotes phase %d ticks %d trades, trades phase %d ticks %d trades; want only ticks, then only trades", q.Ticks, q.Trades, tr.Ticks, tr.Trades)
	}
	if tr.Holes != 0 || tr.Duplicates != 0 || tr.OutOfOrder != 0 || tr.Unexpected != 0 {
		t.Errorf("tape %+v: want no hole, duplicate or disorder", tr.Counters)
	}
	if !rep.Quotes.Server.Measured || !rep.Channel.Server.Measured || !containsAll(out, "compare ", "storm ") {
		t.Errorf("servers measured %v, %v; summary lacks the comparison or the storm", rep.Quotes.Server.Measured, rep.Channel.Server.Measured)
	}
	s := rep.Channel.Storm
	if s == nil {
		t.Fatal("no storm")
	}
	if s.Clients != 20 || s.Reconnected != 20 || s.Resumed != 20 || s.Latency.Count != 20 || s.NoHistory != 0 {
		t.Errorf("storm %+v: want 20 clients reconnected and resumed, each timed", s)
	}
	// 2 symbols x 200 updates/s over 4 s: hundreds of trades each before
	// the storm, so every subscription replays at least the 100 asked for.
	if s.Errors != 0 || s.MinReplays < 100 || s.Gaps != 0 {
		t.Errorf("storm %+v: want no error, at least 100 replays per subscription, no gap", s)
	}
	// Every resume is also timed to its replay's arrival at the socket,
	// which comes before the generator reads it.
	if s.Stamped != s.Resumed || s.Arrival.Count != int64(s.Resumed) || s.Arrival.P99 > s.Latency.P99 || s.Arrival.Max > s.Latency.Max {
		t.Errorf("storm: %d of %d resumes stamped; arrival %+v, read %+v: want every one, none after its read", s.Stamped, s.Resumed, s.Arrival, s.Latency)
	}
	if s.Whole.Count != s.Arrival.Count || s.Whole.P50 < s.Arrival.P50 || s.Whole.Max < s.Arrival.Max {
		t.Errorf("storm: from the dial %+v, from the subscribe %+v: want as many, none shorter", s.Whole, s.Arrival)
	}
}

// TestBookEndToEnd runs the book scenario tiny: depths 10, 50 and 200, a
// quarter of the readers stalling; every checksum must match.
func TestBookEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	srv := apptest.Start(t, tickerd.Config{Sim: sim.Config{Rate: 200, Symbols: 2, Steady: true}, DrainWindow: -1})
	needChannel(t, srv.WS, "book", "the hub's book fan-out (branch hubchan)")
	rep, out := runLogged(t, run,
		"-scenario", "book", "-url", srv.WS, "-conns", "12", "-k", "2", "-dist", "same", "-slow", "0.25",
		"-stall", "1s", "-stall-every", "2s", "-slow-rcvbuf", "4096", "-warmup", "1s", "-duration", "3s", "-settle", "0s")
	w := rep.Window
	if w.BookDeltas == 0 || w.BookSnapshots == 0 || w.Mismatches != 0 || w.BadBooks != 0 || w.Unexpected != 0 {
		t.Errorf("window %+v: want deltas and snapshots, no mismatch, none that did not apply", w.Counters)
	}
	if !containsAll(out, "book ", "deltas/s", "(depths [10 50 200])") {
		t.Errorf("summary lacks the book line")
	}
}

// TestDeflateEndToEnd offers permessage-deflate: the readers inflate, and
// the wire bytes come out below the inflated ones.
func TestDeflateEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	srv := apptest.Start(t, tickerd.Config{Sim: sim.Config{Rate: 100, Symbols: 2, Steady: true}, DrainWindow: -1})
	if _, z := serverLimits(t, srv.WS); !z {
		t.Skip("the server does not offer permessage-deflate yet (limits: compression false): needs the hub's compression (branch hubz)")
	}
	rep, out := runLogged(t, run, "-scenario", "fan-out", "-url", srv.WS, "-conns", "10", "-k", "2", "-dist", "same",
		"-deflate", "-warmup", "1s", "-duration", "2s", "-settle", "0s")
	w := rep.Window
	if w.Ticks == 0 || w.Compressed == 0 || w.WireBytes >= w.Bytes || w.OutOfOrder != 0 || w.Duplicates != 0 {
		t.Errorf("window %+v: want ticks, compressed messages, fewer bytes on the wire than inflated, no disorder", w.Counters)
	}
	if !containsAll(out, "deflate ", "on the wire") {
		t.Errorf("summary lacks the deflate line")
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// TestChannelNotServed: a run on a channel the server does not list in
// its limits fails at once, saying so.
func TestChannelNotServed(t *testing.T) {
	srv := apptest.Start(t, tickerd.Config{Sim: sim.Config{Rate: 10, Symbols: 2, Steady: true}, DrainWindow: -1})
	chs, z := serverLimits(t, srv.WS)
	for _, tc := range []struct {
		args   []string
		served bool
	}{
		{[]string{"-channel", "trades"}, slices.Contains(chs, "trades")},
		{[]string{"-channel", "book"}, slices.Contains(chs, "book")},
		{[]string{"-deflate"}, z},
	} {
		c, err := parseFlags(append([]string{"-url", srv.WS}, tc.args...))
		if err != nil {
			t.Fatal(err)
		}
		err = checkServes(context.Background(), c, srv.WS)
		if (err == nil) != tc.served {
			t.Errorf("%v: checkServes = %v; the server's limits list channels %v, compression %v", tc.args, err, chs, z)
		}
	}
}
