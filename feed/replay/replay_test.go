package replay

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/protocol"
)

// collect is a sink that keeps everything it receives as a line of the
// recording format, the epoch of each update, and the time each arrived.
type collect struct {
	mu     sync.Mutex
	lines  []string
	epochs []uint64 // per line; 0 for listings
	at     []time.Duration
	start  time.Time
	stop   int // cancel after this many lines, if > 0
	stopf  context.CancelFunc
}

func (c *collect) add(line []byte, epoch uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lines = append(c.lines, string(line))
	c.epochs = append(c.epochs, epoch)
	c.at = append(c.at, time.Since(c.start))
	if c.stop > 0 && len(c.lines) == c.stop {
		c.stopf()
	}
}

func (c *collect) Publish(t *protocol.Tick)           { c.add(protocol.AppendTick(nil, t), t.Epoch) }
func (c *collect) PublishTrade(t *protocol.Trade)     { c.add(protocol.AppendTrade(nil, t), t.Epoch) }
func (c *collect) PublishBook(b *protocol.BookUpdate) { c.add(appendBook(nil, b), b.Epoch) }
func (c *collect) PublishCandle(*protocol.Candle)     { panic("replay published a candle") }
func (c *collect) List(syms []feed.Symbol) {
	for i := range syms {
		c.add(appendListed(nil, &syms[i]), 0)
	}
}
func (c *collect) Delist(names []string) {
	for _, n := range names {
		c.add(protocol.AppendDelisted(nil, n, 0), 0)
	}
}

func mustOpen(t *testing.T, path string, cfg Config) *Replay {
	t.Helper()
	r, err := Open(path, cfg)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	return r
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// run plays r to the end (or until c cancels) and fails on error.
func run(t *testing.T, r *Replay, c *collect) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c.start, c.stopf = time.Now(), cancel
	if err := r.Run(ctx, c); err != nil {
		t.Fatalf("Run: %v", err)
	}
}

func TestSampleSymbols(t *testing.T) {
	r := mustOpen(t, samplePath, Config{})
	got := map[string]feed.Symbol{}
	for _, s := range r.Symbols() {
		got[s.Name] = s
	}
	if len(got) != 10 {
		t.Errorf("Symbols() has %d symbols, want the 10 of the recording", len(got))
	}
	for _, want := range []feed.Symbol{
		{Name: "AAPL", Class: "equity", PricePrec: 2, VolumePrec: 0},
		{Name: "BTC-USD", Class: "crypto", PricePrec: 2, VolumePrec: 8},
		{Name: "EUR/USD", Class: "fx", PricePrec: 5, VolumePrec: 0},
	} {
		s := got[want.Name]
		if s.Class != want.Class || s.PricePrec != want.PricePrec || s.VolumePrec != want.VolumePrec {
			t.Errorf("symbol %s = %+v, want %+v", want.Name, s, want)
		}
		if !s.TickSize.Equal(s.TickSize.Truncate(s.PricePrec)) || s.TickSize.Exponent() != -s.PricePrec {
			t.Errorf("symbol %s tick size %s, want 1e-%d", want.Name, s.TickSize, s.PricePrec)
		}
	}
}

// TestReplayRoundTrip: played with KeepTS and recorded again, the sample
// comes out byte for byte: seq, prices, volume and ts reach the sink exactly
// as in the file. Two plays give the same output.
func TestReplayRoundTrip(t *testing.T) {
	want, err := os.ReadFile(samplePath)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		r := mustOpen(t, samplePath, Config{Speed: math.Inf(1), KeepTS: true})
		var buf bytes.Buffer
		rec := NewRecorder(&buf, nil)
		if err := r.Run(context.Background(), rec); err != nil {
			t.Fatalf("Run: %v", err)
		}
		if err := rec.Flush(); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf.Bytes(), want) {
			t.Errorf("play %d: recording the replay of %s gives different bytes", i, samplePath)
		}
	}
}

// TestReplayNowTS: by default ts is the publish time; everything else is as
// in the file.
func TestReplayNowTS(t *testing.T) {
	now := time.Unix(1800000000, 0)
	r := mustOpen(t, samplePath, Config{Speed: math.Inf(1), Clock: func() time.Time { return now }})
	c := &collect{}
	run(t, r, c)
	want, _ := os.ReadFile(samplePath)
	lines := strings.Split(strings.TrimSpace(string(want)), "\n")
	if len(c.lines) != len(lines) {
		t.Fatalf("played %d ticks, want %d", len(c.lines), len(lines))
	}
	for i, line := range lines {
		cut := strings.LastIndex(line, `"ts":`)
		wantLine := line[:cut] + `"ts":1800000000000000000}`
		if c.lines[i] != wantLine {
			t.Fatalf("tick %d = %s, want %s", i, c.lines[i], wantLine)
		}
	}
}

// ticksFile writes n AAPL ticks spaced step apart in ts.
func ticksFile(t *testing.T, n int, step time.Duration) string {
	var b strings.Builder
	ts := int64(1763718000000000000)
	for i := range n {
		fmt.Fprintf(&b, `{"type":"tick","symbol":"AAPL","seq":%d,"price":"187.%02d","bid":"187.00","ask":"188.00","open":"187.00","high":"188.00","low":"187.00","volume":"%d","ts":%d}`+"\n",
			i+1, i%100, 100*i, ts+int64(i)*int64(step))
	}
	return writeFile(t, "ticks.ndjson", b.String())
}

// TestReplayRate: at speed k a tick recorded d after the first is never
// published before d/k; and the whole play ends in reasonable time.
func TestReplayRate(t *testing.T) {
	const n = 11
	step := 100 * time.Millisecond
	path := ticksFile(t, n, step)
	for _, speed := range []float64{0, 4, 10} {
		t.Run(fmt.Sprint("speed ", speed), func(t *testing.T) {
			r := mustOpen(t, path, Config{Speed: speed})
			c := &collect{}
			run(t, r, c)
			if len(c.at) != n {
				t.Fatalf("played %d ticks, want %d", len(c.at), n)
			}
			k := max(speed, 1)
			for i, at := range c.at {
				due := time.Duration(float64(time.Duration(i)*step) / k)
				if at < due {
					t.Errorf("tick %d published at %v, before it is due at %v", i, at, due)
				}
			}
			total := time.Duration(float64((n-1)*int(step)) / k)
			if last := c.at[n-1]; last > total+5*time.Second {
				t.Errorf("play took %v, want about %v", last, total)
			}
		})
	}
	t.Run("as fast as possible", func(t *testing.T) {
		path := ticksFile(t, 1000, time.Hour) // 999 hours of recording
		r := mustOpen(t, path, Config{Speed: math.Inf(1)})
		c := &collect{}
		run(t, r, c)
		if len(c.lines) != 1000 {
			t.Errorf("played %d ticks, want 1000", len(c.lines))
		}
	})
}

// TestReplayLoop: looping repeats the file with its seqs unchanged and the
// pass number as epoch, and (with KeepTS) ts still growing.
func TestReplayLoop(t *testing.T) {
	const n = 5
	path := ticksFile(t, n, time.Millisecond)
	r := mustOpen(t, path, Config{Speed: math.Inf(1), Loop: true, KeepTS: true})
	c := &collect{stop: 3 * n}
	run(t, r, c)
	var prevTS int64
	for i, line := range c.lines[:3*n] {
		tk, _, err := protocol.DecodeTick([]byte(line))
		if err != nil {
			t.Fatal(err)
		}
		if tk.Seq != uint64(i%n+1) || c.epochs[i] != uint64(i/n) {
			t.Errorf("tick %d seq %d epoch %d, want %d and %d", i, tk.Seq, c.epochs[i], i%n+1, i/n)
		}
		if want := fmt.Sprintf("187.%02d", i%n); tk.Price.StringFixed(2) != want {
			t.Errorf("tick %d price = %s, want %s", i, tk.Price, want)
		}
		if tk.TS <= prevTS {
			t.Errorf("tick %d ts = %d, not after %d", i, tk.TS, prevTS)
		}
		prevTS = tk.TS
	}
}

// TestReplayOnceStops: without Loop, Run returns nil at the end.
func TestReplayOnceStops(t *testing.T) {
	r := mustOpen(t, ticksFile(t, 3, time.Millisecond), Config{Speed: math.Inf(1)})
	c := &collect{}
	run(t, r, c)
	if len(c.lines) != 3 {
		t.Errorf("played %d ticks, want 3", len(c.lines))
	}
	if h := r.Health(); len(h) != 1 || h[0].Connected || h[0].LastUpdate.IsZero() || h[0].Err != "" {
		t.Errorf("Health() after the end = %+v, want not connected, a last update, no error", h)
	}
}

// TestReplayCancel: Run returns nil promptly when ctx ends during a wait.
func TestReplayCancel(t *testing.T) {
	r := mustOpen(t, ticksFile(t, 3, time.Hour), Config{})
	ctx, cancel := context.WithCancel(context.Background())
	c := &collect{start: time.Now(), stop: 1, stopf: cancel}
	errc := make(chan error, 1)
	go func() { errc <- r.Run(ctx, c) }()
	select {
	case err := <-errc:
		if err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if len(c.lines) != 1 {
		t.Errorf("played %d ticks, want 1", len(c.lines))
	}
}

func TestReplayRunTwice(t *testing.T) {
	r := mustOpen(t, ticksFile(t, 3, time.Hour), Config{})
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	c := &collect{start: time.Now()}
	errc := make(chan error, 1)
	go func() {
		errc <- r.Run(ctx, feedFunc(func(t *protocol.Tick) { c.Publish(t); close(started) }))
	}()
	<-started
	if err := r.Run(ctx, c); err == nil || !strings.HasPrefix(err.Error(), "replay: ") {
		t.Errorf("concurrent Run = %v, want a replay: error", err)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Errorf("Run = %v", err)
	}
}

type feedFunc func(*protocol.Tick)

func (f feedFunc) Publish(t *protocol.Tick)       { f(t) }
func (feedFunc) PublishTrade(*protocol.Trade)     {}
func (feedFunc) PublishBook(*protocol.BookUpdate) {}
func (feedFunc) PublishCandle(*protocol.Candle)   {}
func (feedFunc) List([]feed.Symbol)               {}
func (feedFunc) Delist([]string)                  {}

// TestReplayCapture: a client's capture (replies, snapshots, ticks) plays
// as one sequence: the first snapshot, the ticks, and not the stale
// snapshot of a later re-subscribe.
func TestReplayCapture(t *testing.T) {
	capture := `{"type":"subscribed","id":1,"symbols":["AAPL"]}
{"type":"snapshot","symbol":"AAPL","seq":1042,"price":"187.23","bid":"187.22","ask":"187.24","open":"185.00","high":"188.10","low":"184.90","volume":"1203344","ts":1763718000123456789}
{"type":"tick","symbol":"AAPL","seq":1043,"price":"187.25","bid":"187.24","ask":"187.26","open":"185.00","high":"188.10","low":"184.90","volume":"1203400","ts":1763718000223456789}

{"type":"pong","id":4,"ts":1763718000300000000}
{"type":"snapshot","symbol":"AAPL","seq":1043,"price":"187.25","bid":"187.24","ask":"187.26","open":"185.00","high":"188.10","low":"184.90","volume":"1203400","ts":1763718000323456789}
{"type":"tick","symbol":"AAPL","seq":1044,"price":"187.20","bid":"187.19","ask":"187.21","open":"185.00","high":"188.10","low":"184.90","volume":"1203500","ts":1763718000423456789}
{"type":"snapshot","symbol":"AAPL","seq":1050,"price":"187.30","bid":"187.29","ask":"187.31","open":"185.00","high":"188.10","low":"184.90","volume":"1204000","ts":1763718001423456789}
`
	r := mustOpen(t, writeFile(t, "capture.ndjson", capture), Config{Speed: math.Inf(1), KeepTS: true})
	c := &collect{}
	run(t, r, c)
	var seqs []uint64
	for _, line := range c.lines {
		if !strings.HasPrefix(line, protocol.TickPrefix) {
			t.Errorf("published %s, want a tick", line)
		}
		tk, _, _ := protocol.DecodeTick([]byte(line))
		seqs = append(seqs, tk.Seq)
	}
	if fmt.Sprint(seqs) != "[1042 1043 1044 1050]" {
		t.Errorf("played seqs %v, want [1042 1043 1044 1050]", seqs)
	}
}

// TestCSV: the sample CSV plays with derived open/high/low, prices padded to
// the most decimals seen per symbol, and RFC 3339 times.
func TestCSV(t *testing.T) {
	r := mustOpen(t, "testdata/sample.csv", Config{Speed: math.Inf(1), KeepTS: true})
	prec := map[string][2]int32{}
	for _, s := range r.Symbols() {
		prec[s.Name] = [2]int32{s.PricePrec, s.VolumePrec}
	}
	want := map[string][2]int32{"ACME": {2, 0}, "WIDG": {2, 0}, "BTC-USD": {2, 8}, "EUR/USD": {5, 0}}
	if fmt.Sprint(prec) != fmt.Sprint(want) {
		t.Errorf("precision %v, want %v", prec, want)
	}
	c := &collect{}
	run(t, r, c)
	if len(c.lines) != 10 {
		t.Fatalf("played %d ticks, want 10", len(c.lines))
	}
	for i, wantLine := range map[int]string{
		0: `{"type":"tick","symbol":"ACME","seq":1,"price":"12.50","bid":"12.49","ask":"12.51","open":"12.50","high":"12.50","low":"12.50","volume":"100","ts":1763717400000000000}`,
		4: `{"type":"tick","symbol":"ACME","seq":3,"price":"12.48","bid":"12.47","ask":"12.49","open":"12.50","high":"12.52","low":"12.48","volume":"400","ts":1763717401000000000}`,
		6: `{"type":"tick","symbol":"BTC-USD","seq":2,"price":"91251.50","bid":"91251.49","ask":"91251.51","open":"91250.01","high":"91251.50","low":"91250.01","volume":"0.02000000","ts":1763717401500000000}`,
		7: `{"type":"tick","symbol":"EUR/USD","seq":1,"price":"1.15420","bid":"1.15419","ask":"1.15421","open":"1.15420","high":"1.15420","low":"1.15420","volume":"1000000","ts":1763717401750000000}`,
	} {
		if c.lines[i] != wantLine {
			t.Errorf("tick %d = %s\nwant     %s", i, c.lines[i], wantLine)
		}
	}
}

func TestCSVMinimal(t *testing.T) {
	csv := "Symbol,Price,TS,note\nX,1.5,1763718000,first\nX,1.25,1763718000.5,second\nY,100,1763718001000000000,\n"
	r := mustOpen(t, writeFile(t, "m.csv", csv), Config{Speed: math.Inf(1), KeepTS: true})
	c := &collect{}
	run(t, r, c)
	want := []string{
		`{"type":"tick","symbol":"X","seq":1,"price":"1.50","bid":"1.50","ask":"1.50","open":"1.50","high":"1.50","low":"1.50","volume":"0","ts":1763718000000000000}`,
		`{"type":"tick","symbol":"X","seq":2,"price":"1.25","bid":"1.25","ask":"1.25","open":"1.50","high":"1.50","low":"1.25","volume":"0","ts":1763718000500000000}`,
		`{"type":"tick","symbol":"Y","seq":1,"price":"100","bid":"100","ask":"100","open":"100","high":"100","low":"100","volume":"0","ts":1763718001000000000}`,
	}
	if strings.Join(c.lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("played\n%s\nwant\n%s", strings.Join(c.lines, "\n"), strings.Join(want, "\n"))
	}
}

func TestOpenErrors(t *testing.T) {
	tick := `{"type":"tick","symbol":"A","seq":1,"price":"1.00","bid":"1.00","ask":"1.00","open":"1.00","high":"1.00","low":"1.00","volume":"0","ts":1}`
	tests := []struct {
		name, content string
		cfg           Config
		want          string
	}{
		{"empty", "", Config{}, "the input is empty"},
		{"only blanks", "\n\n  \n", Config{}, "the input is empty"},
		{"only replies", `{"type":"pong","ts":1}` + "\n", Config{}, "holds no updates"},
		{"garbage line", tick + "\nnot json\n", Config{}, ":2: "},
		{"bad price", strings.Replace(tick, `"1.00"`, `"1.0x"`, 1), Config{}, ":1: "},
		{"truncated", tick[:40], Config{}, ":1: "},
		{"seq back", tick + "\n" + strings.Replace(tick, `"seq":1`, `"seq":0`, 1), Config{}, ":2: A tick seq 0 is not above the one before, 1"},
		{"csv no price", "symbol,ts\nA,1\n", Config{}, `no "price" column`},
		{"csv bad decimal", "symbol,price,ts\nA,1.2.3,1\n", Config{}, `:2: price: protocol: decimal "1.2.3": not a decimal number`},
		{"csv bad ts", "symbol,price,ts\nA,1,yesterday\n", Config{}, `:2: ts "yesterday"`},
		{"csv bad seq", "symbol,price,ts,seq\nA,1,1,-1\n", Config{}, `:2: seq "-1"`},
		{"csv negative volume", "symbol,price,ts,volume\nA,1,1,-5\n", Config{}, `:2: volume "-5" is negative`},
		{"csv empty symbol", "symbol,price,ts\n,1,1\n", Config{}, `:2: empty symbol`},
		{"csv short row", "symbol,price,ts\nA,1\n", Config{}, `:2: `},
		{"csv duplicate column", "symbol,price,ts,Price\nA,1,1,2\n", Config{}, `column "price" appears twice`},
		{"negative speed", tick, Config{Speed: -1}, "speed -1"},
		{"NaN speed", tick, Config{Speed: math.NaN()}, "speed NaN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, "in", tt.content)
			_, err := Open(path, tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "replay: ") {
				t.Errorf("Open(%q) = %v, want a replay: error containing %q", tt.content, err, tt.want)
			}
		})
	}
	if _, err := Open(filepath.Join(t.TempDir(), "missing"), Config{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open(missing) = %v, want os.ErrNotExist", err)
	}
}

// TestRunFileChanged: a file rewritten with a new symbol after Open makes
// Run fail with a clear error instead of publishing an undeclared symbol.
func TestRunFileChanged(t *testing.T) {
	path := ticksFile(t, 2, time.Millisecond)
	r := mustOpen(t, path, Config{Speed: math.Inf(1)})
	data, _ := os.ReadFile(path)
	if err := os.WriteFile(path, bytes.ReplaceAll(data, []byte(`"AAPL"`), []byte(`"MSFT"`)), 0o644); err != nil {
		t.Fatal(err)
	}
	err := r.Run(context.Background(), &collect{})
	if err == nil || !strings.Contains(err.Error(), "MSFT changed since Open") {
		t.Errorf("Run on a changed file = %v, want an error naming MSFT", err)
	}
	if h := r.Health(); h[0].Err == "" {
		t.Errorf("Health() = %+v, want the error", h)
	}
}

func TestParseTS(t *testing.T) {
	tests := []struct {
		in   string
		want int64
	}{
		{"1763718000", 1763718000e9},
		{"1763718000123", 1763718000123e6},
		{"1763718000123456", 1763718000123456e3},
		{"1763718000123456789", 1763718000123456789},
		{"1763718000.5", 1763718000500000000},
		{"2025-11-21T09:40:00Z", 1763718000e9},
		{"2025-11-21T10:40:00.25+01:00", 1763718000250000000},
		{"0", 0},
	}
	for _, tt := range tests {
		if got, err := parseTS(tt.in); err != nil || got != tt.want {
			t.Errorf("parseTS(%q) = %d, %v, want %d", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "-1", "1e9", "1.0000000001", "noon", "2025-11-21"} {
		if got, err := parseTS(bad); err == nil {
			t.Errorf("parseTS(%q) = %d, want an error", bad, got)
		}
	}
}
