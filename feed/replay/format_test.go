package replay

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/feed/sim"
	"github.com/tickerd/tickerd/protocol"
)

// TestRoundTripAllKinds: a recording of every kind of line, played with
// KeepTS and recorded again, comes out byte for byte.
func TestRoundTripAllKinds(t *testing.T) {
	// A universe whose days are short, so that the recording holds
	// quotes, trades, book updates, listings and delistings.
	want := recordSim(t, sim.Config{Seed: 5, Universe: 1000, Rate: 1e6, DayLength: time.Millisecond, BookDepth: 10}, time.Millisecond, 2500)
	for _, prefix := range []string{protocol.TickPrefix, protocol.TradePrefix, `{"type":"book",`, `{"type":"listed",`, `{"type":"delisted",`} {
		if !bytes.Contains(want, []byte(prefix)) {
			t.Fatalf("the recording has no %s line", prefix)
		}
	}
	path := writeFile(t, "universe.ndjson", string(want))
	r := mustOpen(t, path, Config{Speed: math.Inf(1), KeepTS: true})
	for _, s := range r.Symbols() {
		if strings.ContainsAny(s.Name, "0123456789") {
			t.Errorf("Symbols() has %s, an option the file lists", s.Name)
		}
	}
	var buf bytes.Buffer
	rec := NewRecorder(&buf, nil)
	if err := r.Run(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	if err := rec.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := buf.Bytes(); !bytes.Equal(got, want) {
		a, b := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		for i := range min(len(a), len(b)) {
			if a[i] != b[i] {
				t.Fatalf("line %d of the replay's recording:\n%s\nwant\n%s", i+1, a[i], b[i])
			}
		}
		t.Fatalf("the replay's recording has %d lines, the original %d", len(a), len(b))
	}
}

const listings = `{"type":"tick","symbol":"A","seq":1,"price":"1.00","bid":"1.00","ask":"1.00","open":"1.00","high":"1.00","low":"1.00","volume":"0","ts":1000}
{"type":"listed","symbol":"X","class":"option","price_prec":2,"volume_prec":0,"tick_size":"0.05"}
{"type":"listed","symbol":"Y","price_prec":3,"volume_prec":1}
{"type":"book","symbol":"X","seq":7,"snapshot":true,"bids":[["1.05","10"]],"asks":[["1.1","5"]],"ts":2000}
{"type":"trade","symbol":"X","seq":3,"price":"1.10","size":"2","side":"buy","ts":2000}
{"type":"book","symbol":"X","seq":8,"bids":[],"asks":[["1.10","3"]],"ts":2000}
{"type":"delisted","symbol":"X","ts":2000}
{"type":"delisted","symbol":"A","ts":2000}
{"type":"trade","symbol":"Y","seq":1,"price":"2.500","size":"0.5","side":"sell","ts":3000}
`

// TestListings: symbols first named by a "listed" line are listed during
// play, not by Symbols; consecutive listings reach the sink in one call; a
// loop starts each pass with the listings of the file's start.
func TestListings(t *testing.T) {
	path := writeFile(t, "listings.ndjson", listings)
	r := mustOpen(t, path, Config{Speed: math.Inf(1), KeepTS: true, Loop: true})
	if syms := r.Symbols(); len(syms) != 1 || syms[0].Name != "A" {
		t.Fatalf("Symbols() = %+v, want A alone", syms)
	}
	var calls []string
	var listed []feed.Symbol
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sink := feed.SinkFuncs{
		Tick: func(tk *protocol.Tick) {
			calls = append(calls, fmt.Sprintf("tick %s %d/%d", tk.Symbol, tk.Seq, tk.Epoch))
		},
		Trade: func(tr *protocol.Trade) {
			calls = append(calls, fmt.Sprintf("trade %s %s %d/%d", tr.Symbol, tr.Price.StringFixed(tr.PricePrec), tr.Seq, tr.Epoch))
		},
		Book: func(b *protocol.BookUpdate) {
			calls = append(calls, fmt.Sprintf("book %s %v %v %d/%d", b.Symbol, b.Bids, b.Asks, b.Seq, b.Epoch))
		},
		Listed: func(syms []feed.Symbol) {
			var names []string
			for _, s := range syms {
				names = append(names, s.Name)
			}
			listed = append(listed, syms...)
			calls = append(calls, fmt.Sprint("list ", names))
		},
		Delisted: func(names []string) {
			calls = append(calls, fmt.Sprint("delist ", names))
			if len(calls) > 12 {
				cancel()
			}
		},
	}
	if err := r.Run(ctx, sink); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"tick A 1/0",
		"list [X Y]",
		"book X [{105 10}] [{110 5}] 7/0",
		"trade X 1.10 3/0",
		"book X [] [{110 3}] 8/0",
		"delist [X A]",
		"trade Y 2.500 1/0",
		// The second pass puts the listings back as they were at the start.
		"delist [Y]",
		"list [A]",
		"tick A 1/1",
		"list [X Y]",
		"book X [{105 10}] [{110 5}] 7/1",
		"trade X 1.10 3/1",
		"book X [] [{110 3}] 8/1",
		"delist [X A]",
	}
	if len(calls) < len(want) || !slices.Equal(calls[:len(want)], want) {
		t.Errorf("played\n%s\nwant\n%s", strings.Join(calls, "\n"), strings.Join(want, "\n"))
	}
	x, y := listed[0], listed[1]
	if x.Class != "option" || x.TickSize.String() != "0.05" || x.PricePrec != 2 || x.VolumePrec != 0 {
		t.Errorf("X listed as %+v, want an option with tick 0.05 and precisions 2, 0", x)
	}
	if y.Class != "equity" || y.TickSize.String() != "0.001" || y.PricePrec != 3 || y.VolumePrec != 1 {
		t.Errorf("Y listed as %+v, want an equity with tick 0.001 and precisions 3, 1", y)
	}
}

// TestCaptureBook: a client's book frames (with depth, prev_seq and
// checksum) replay, and the snapshot of a re-subscribe that brings nothing
// new is skipped, as is a replayed trade already played.
func TestCaptureBook(t *testing.T) {
	capture := `{"type":"subscribed","id":9,"channel":"book","symbols":["BTC-USD"],"depth":10}
{"type":"book","symbol":"BTC-USD","depth":10,"seq":500,"snapshot":true,"bids":[["91549.30","0.52"]],"asks":[["91549.40","1.20"]],"checksum":3310070434,"ts":1}
{"type":"book","symbol":"BTC-USD","depth":10,"seq":501,"prev_seq":500,"bids":[["91549.30","0"],["91549.20","1"]],"asks":[],"checksum":1,"ts":2}
{"type":"trade","symbol":"BTC-USD","seq":7,"price":"91549.40","size":"0.1","side":"buy","ts":2}
{"type":"book","symbol":"BTC-USD","depth":10,"seq":501,"snapshot":true,"bids":[["91549.20","1"]],"asks":[["91549.40","1.20"]],"checksum":2,"ts":3}
{"type":"trade","symbol":"BTC-USD","seq":7,"price":"91549.40","size":"0.1","side":"buy","ts":2,"replay":true}
{"type":"trade","symbol":"BTC-USD","seq":8,"price":"91549.40","size":"0.1","side":"buy","ts":4,"replay":true}
`
	r := mustOpen(t, writeFile(t, "capture.ndjson", capture), Config{Speed: math.Inf(1), KeepTS: true})
	c := &collect{}
	run(t, r, c)
	want := []string{
		`{"type":"book","symbol":"BTC-USD","seq":500,"snapshot":true,"bids":[["91549.30","0.52"]],"asks":[["91549.40","1.20"]],"ts":1}`,
		`{"type":"book","symbol":"BTC-USD","seq":501,"bids":[["91549.30","0.00"],["91549.20","1.00"]],"asks":[],"ts":2}`,
		`{"type":"trade","symbol":"BTC-USD","seq":7,"price":"91549.40","size":"0.10","side":"buy","ts":2}`,
		`{"type":"trade","symbol":"BTC-USD","seq":8,"price":"91549.40","size":"0.10","side":"buy","ts":4}`,
	}
	if !slices.Equal(c.lines, want) {
		t.Errorf("played\n%s\nwant\n%s", strings.Join(c.lines, "\n"), strings.Join(want, "\n"))
	}
}

// TestBoundedDecimals: a hostile number in any decimal of any kind of line
// is an error naming its line, from bounded parsing (issue 13): never a
// long computation or a huge allocation.
func TestBoundedDecimals(t *testing.T) {
	const huge = "1e100000000"
	long := strings.Repeat("9", 10000)
	tick := `{"type":"tick","symbol":"A","seq":1,"price":"1.00","bid":"1.00","ask":"1.00","open":"1.00","high":"1.00","low":"1.00","volume":"0","ts":1}`
	for name, line := range map[string]string{
		"tick price":      strings.Replace(tick, `"price":"1.00"`, `"price":"`+huge+`"`, 1),
		"tick volume":     strings.Replace(tick, `"volume":"0"`, `"volume":"`+long+`"`, 1),
		"trade price":     `{"type":"trade","symbol":"A","seq":1,"price":"` + huge + `","size":"1","side":"buy","ts":1}`,
		"trade size":      `{"type":"trade","symbol":"A","seq":1,"price":"1","size":"` + long + `","side":"buy","ts":1}`,
		"book price":      `{"type":"book","symbol":"A","seq":1,"snapshot":true,"bids":[["` + huge + `","1"]],"asks":[],"ts":1}`,
		"book size":       `{"type":"book","symbol":"A","seq":1,"snapshot":true,"bids":[["1","` + long + `"]],"asks":[],"ts":1}`,
		"book seq":        `{"type":"book","symbol":"A","seq":1e100000000,"snapshot":true,"bids":[],"asks":[],"ts":1}`,
		"book int64":      `{"type":"book","symbol":"A","seq":1,"snapshot":true,"bids":[["100000000000000000000","1"]],"asks":[],"ts":1}`,
		"book at prec":    `{"type":"book","symbol":"A","seq":1,"snapshot":true,"bids":[["0.0000000001","1"]],"asks":[["1000000000","1"]],"ts":1}`,
		"listed prec exp": `{"type":"listed","symbol":"A","price_prec":1e100000000,"volume_prec":0}`,
		"listed tick":     `{"type":"listed","symbol":"A","price_prec":2,"volume_prec":0,"tick_size":"` + huge + `"}`,
		"listed prec":     `{"type":"listed","symbol":"A","price_prec":100000000,"volume_prec":0}`,
		"csv price":       "symbol,price,ts\nA,1,1\nA," + huge + ",2",
		"csv volume":      "symbol,price,ts,volume\nA,1,1,1\nA,1,2," + long,
		"csv exponent ts": "symbol,price,ts\nA,1,1\nA,1,1e100000000",
	} {
		content := tick + "\n" + line + "\n"
		if strings.HasPrefix(line, "symbol,") {
			content = line + "\n"
		}
		_, err := Open(writeFile(t, "hostile", content), Config{})
		if err == nil || !strings.Contains(err.Error(), ":2: ") && !strings.Contains(err.Error(), ":3: ") {
			t.Errorf("%s: Open = %v, want an error naming the line", name, err)
		}
	}
}

// TestRecorderLines: the Recorder writes each kind as the format says.
func TestRecorderLines(t *testing.T) {
	var buf bytes.Buffer
	rec := NewRecorder(&buf, nil)
	p := tick(1).Price
	rec.PublishTrade(&protocol.Trade{Symbol: "AAPL", Seq: 88123, Price: p, Size: p, Side: protocol.SideBuy, TS: 5, PricePrec: 2, SizePrec: 1})
	rec.PublishBook(&protocol.BookUpdate{Symbol: "BTC-USD", Seq: 500, Snapshot: true, TS: 6, PricePrec: 2, SizePrec: 2,
		Bids: []protocol.Level{{Price: 9154930, Size: 52}}, Asks: []protocol.Level{{Price: 9154940, Size: 120}}})
	rec.PublishBook(&protocol.BookUpdate{Symbol: "BTC-USD", Seq: 501, TS: 7, PricePrec: 2, SizePrec: 2,
		Bids: []protocol.Level{{Price: 9154930, Size: 0}}})
	rec.PublishCandle(&protocol.Candle{Symbol: "AAPL"})
	rec.List([]feed.Symbol{{Name: `O"1`, Class: "option", PricePrec: 2, TickSize: decimal.RequireFromString("0.01")}, {Name: "N", Class: "fx", PricePrec: 5, VolumePrec: 1}})
	rec.Delist([]string{"N"})
	if err := rec.Flush(); err != nil {
		t.Fatal(err)
	}
	want := `{"type":"trade","symbol":"AAPL","seq":88123,"price":"187.20","size":"187.2","side":"buy","ts":5}
{"type":"book","symbol":"BTC-USD","seq":500,"snapshot":true,"bids":[["91549.30","0.52"]],"asks":[["91549.40","1.20"]],"ts":6}
{"type":"book","symbol":"BTC-USD","seq":501,"bids":[["91549.30","0.00"]],"asks":[],"ts":7}
{"type":"listed","symbol":"O\"1","class":"option","price_prec":2,"volume_prec":0,"tick_size":"0.01"}
{"type":"listed","symbol":"N","class":"fx","price_prec":5,"volume_prec":1}
{"type":"delisted","symbol":"N","ts":7}
`
	if got := buf.String(); got != want {
		t.Errorf("recorded\n%s\nwant\n%s", got, want)
	}
}

// TestLoopSample: the sample loops with every kind's seqs unchanged and the
// pass as epoch.
func TestLoopSample(t *testing.T) {
	data, err := os.ReadFile(samplePath)
	if err != nil {
		t.Fatal(err)
	}
	n := bytes.Count(data, []byte("\n"))
	r := mustOpen(t, samplePath, Config{Speed: math.Inf(1), KeepTS: true, Loop: true})
	c := &collect{stop: 2 * n}
	run(t, r, c)
	for i := range n {
		first, second := c.lines[i], c.lines[n+i]
		cut := func(s string) string { return s[:strings.LastIndex(s, `"ts":`)] }
		if cut(first) != cut(second) || c.epochs[i] != 0 || c.epochs[n+i] != 1 {
			t.Fatalf("line %d: pass 0 %s (epoch %d), pass 1 %s (epoch %d): want the same but ts, epochs 0 and 1",
				i+1, first, c.epochs[i], second, c.epochs[n+i])
		}
	}
}
