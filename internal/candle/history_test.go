package candle

import (
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/shopspring/decimal"
	"github.com/tickerd/tickerd/protocol"
)

// minute returns AAPL's 1m candle number i (its start i minutes after t0).
func minute(i int, closed bool) protocol.Candle {
	p := decimal.New(18700+int64(i), -2)
	return protocol.Candle{
		Symbol: "AAPL", Interval: protocol.Interval1m, Start: t0 + int64(i)*int64(time.Minute),
		Open: p, High: p, Low: p, Close: p, Volume: decimal.New(int64(100*i), 0), Trades: uint64(i),
		Closed: closed, PricePrec: 2,
	}
}

// starts decodes a history message and returns its candles' minutes and
// closed flags, as "3" or "3 open".
func starts(t *testing.T, msg []byte) []string {
	t.Helper()
	sym, iv, cs, err := protocol.DecodeCandles(msg)
	if err != nil {
		t.Fatalf("DecodeCandles(%s): %v", msg, err)
	}
	out := []string{}
	for _, c := range cs {
		s := fmt.Sprint((c.Start - t0) / int64(time.Minute))
		if !c.Closed {
			s += " open"
		}
		out = append(out, s)
	}
	if len(cs) > 0 && (sym != cs[0].Symbol || iv != cs[0].Interval) {
		t.Fatalf("DecodeCandles(%s): %s %v", msg, sym, iv)
	}
	return out
}

func TestHistoryMessage(t *testing.T) {
	h := NewHistory(HistoryConfig{Candles: 3})
	if msg := h.Message("AAPL", protocol.Interval1m); msg != nil {
		t.Fatalf("Message of an empty store = %s, want nil", msg)
	}
	publish := func(cs ...protocol.Candle) {
		for i := range cs {
			h.PublishCandle(&cs[i])
		}
	}
	check := func(want ...string) {
		t.Helper()
		if got := starts(t, h.Message("AAPL", protocol.Interval1m)); !slices.Equal(got, want) {
			t.Errorf("history = %q, want %q", got, want)
		}
	}
	publish(minute(0, false))
	check("0 open")
	publish(minute(0, false), minute(0, true), minute(1, false))
	check("0", "1 open")

	// The message is encoded once and shared until the next change.
	a, b := h.Message("AAPL", protocol.Interval1m), h.Message("AAPL", protocol.Interval1m)
	if &a[0] != &b[0] {
		t.Error("two reads without a change built two messages")
	}
	want := protocol.AppendCandles(nil, "AAPL", protocol.Interval1m, []protocol.Candle{minute(0, true), minute(1, false)})
	if string(a) != string(want) {
		t.Errorf("Message =\n%s\nwant\n%s", a, want)
	}
	publish(minute(1, false))
	if c := h.Message("AAPL", protocol.Interval1m); &c[0] == &a[0] || string(a) != string(want) {
		t.Error("a change did not build a new message, or changed the old one")
	}

	// Three closed candles are kept; the open one comes on top.
	publish(minute(1, true), minute(2, true), minute(3, true), minute(4, false))
	check("1", "2", "3", "4 open")
	publish(minute(4, true), minute(5, true))
	check("3", "4", "5")
	// A closed candle whose open frames were lost; a repeated closed frame.
	publish(minute(7, false), minute(8, true), minute(8, true))
	check("4", "5", "8")

	// Older candles are ignored.
	publish(minute(6, true), minute(8, false), minute(2, false))
	check("4", "5", "8")
	if st := h.Stats(); st.Stale != 3 || st.Closed != 3 || st.Open != 0 || st.Series != 1 {
		t.Errorf("Stats = %+v, want 3 stale, 3 closed, no open, 1 series", st)
	}

	// A later epoch replaces candles from its start on.
	c := minute(5, false)
	c.Epoch = 1
	publish(c)
	check("4", "5 open")
	publish(minute(6, false)) // epoch 0: stale
	check("4", "5 open")

	// Other intervals and symbols are apart.
	other := minute(9, true)
	other.Interval = protocol.Interval5m
	publish(other)
	check("4", "5 open")
	if got := starts(t, h.Message("AAPL", protocol.Interval5m)); !slices.Equal(got, []string{"9"}) {
		t.Errorf("5m history = %q", got)
	}
	if msg := h.Message("MSFT", protocol.Interval1m); msg != nil {
		t.Errorf("Message(MSFT) = %s, want nil", msg)
	}

	h.Delist([]string{"AAPL"})
	if st := h.Stats(); st.Series != 0 || st.Bytes != 0 || h.Message("AAPL", protocol.Interval1m) != nil {
		t.Errorf("after Delist: %+v", st)
	}
}

// The byte bound holds whatever is published and read, and takes candles
// from the series that have the most.
func TestHistoryBound(t *testing.T) {
	const maxBytes = 256 << 10
	h := NewHistory(HistoryConfig{MaxBytes: maxBytes})
	check := func(when string) {
		t.Helper()
		if st := h.Stats(); st.Bytes > maxBytes || st.Bytes < 0 {
			t.Fatalf("%s: %d bytes accounted, bound %d", when, st.Bytes, maxBytes)
		}
	}
	// 50 symbols × 4 intervals, 100 closed candles each, plus reads: far
	// more than 256 KiB.
	for i := range 100 {
		for s := range 50 {
			for iv := range protocol.NumIntervals {
				c := minute(i, true)
				c.Symbol, c.Interval, c.Start = fmt.Sprintf("SYM%02d", s), iv, t0+int64(i)*int64(iv.Duration())
				h.PublishCandle(&c)
				c.Start += int64(iv.Duration())
				c.Closed = false
				h.PublishCandle(&c)
				if i%10 == 0 {
					h.Message(c.Symbol, iv)
				}
				check(fmt.Sprint("candle ", i, " of ", c.Symbol, " ", iv))
			}
		}
	}
	st := h.Stats()
	if st.Evicted == 0 || st.Dropped != 0 || st.Stale != 0 || st.Series != 200 || st.Open != 200 {
		t.Fatalf("Stats = %+v, want evictions, no drops, 200 series each with an open candle", st)
	}
	// Every series keeps about the same number of candles: the bound takes
	// from the longest.
	minLen, maxLen := 1<<30, 0
	for s := range 50 {
		for iv := range protocol.NumIntervals {
			n := len(starts(t, h.Message(fmt.Sprintf("SYM%02d", s), iv))) - 1
			minLen, maxLen = min(minLen, n), max(maxLen, n)
			check("reading")
		}
	}
	if maxLen-minLen > 1 || minLen < 3 {
		t.Errorf("series keep %d to %d closed candles, want all within one of each other", minLen, maxLen)
	}

	// When open candles alone fill the bound, new series are dropped.
	for s := range 5000 {
		c := minute(0, false)
		c.Symbol = fmt.Sprint("NEW", s)
		h.PublishCandle(&c)
		check("new series")
	}
	if st := h.Stats(); st.Dropped == 0 || st.Closed != 0 {
		t.Errorf("Stats = %+v, want drops after every closed candle was evicted", st)
	}
}

// History's accounting matches what the Go heap holds, within a margin;
// the test logs the memory per candle and per symbol quoted in the package
// doc.
func TestHistoryMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("fills 200 MB")
	}
	for _, tc := range []struct {
		name  string
		price int64
		prec  int32
		vol   int64
		vprec int32
	}{
		{"stock", 18724, 2, 12033, 0},
		{"crypto", 9154930, 2, 52345678, 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const symbols = 100
			h := NewHistory(HistoryConfig{MaxBytes: 1 << 40})
			before := heapBytes()
			for s := range symbols {
				for iv := range protocol.NumIntervals {
					for i := range DefaultCandles + 1 {
						p := decimal.New(tc.price+int64(i), -tc.prec)
						c := protocol.Candle{
							Symbol: fmt.Sprintf("SYM-%03d", s), Interval: iv, Start: t0 + int64(i)*int64(iv.Duration()),
							Open: p, High: p, Low: p, Close: p, Volume: decimal.New(tc.vol+int64(i), -tc.vprec),
							Trades: uint64(100 + i), Closed: i < DefaultCandles, PricePrec: tc.prec, VolumePrec: tc.vprec,
						}
						h.PublishCandle(&c)
					}
				}
			}
			after := heapBytes()
			st := h.Stats()
			runtime.KeepAlive(h)
			heap := int64(after - before)
			t.Logf("%s: %d closed candles: %d bytes accounted, %d on the heap: %d per candle, %d KB per symbol with full history",
				tc.name, st.Closed, st.Bytes, heap, heap/int64(st.Closed), heap/symbols/1000)
			if st.Bytes < heap*9/10 || st.Bytes > heap*11/10 {
				t.Errorf("accounted %d bytes, heap grew by %d: more than 10%% apart", st.Bytes, heap)
			}
		})
	}
}

func heapBytes() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// Readers on other goroutines see whole, ordered messages while the
// writer changes the store (run with -race).
func TestHistoryConcurrent(t *testing.T) {
	h := NewHistory(HistoryConfig{Candles: 20, MaxBytes: 64 << 10})
	done := make(chan struct{})
	var wg sync.WaitGroup
	for r := range 3 {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				sym := fmt.Sprint("S", r)
				msg := h.Message(sym, protocol.Interval1m)
				if msg == nil {
					continue
				}
				_, _, cs, err := protocol.DecodeCandles(msg)
				if err != nil {
					t.Errorf("DecodeCandles: %v", err)
					return
				}
				for i := 1; i < len(cs); i++ {
					if cs[i].Start <= cs[i-1].Start || !cs[i-1].Closed {
						t.Errorf("candles out of order in %s", msg)
						return
					}
				}
				h.Stats()
			}
		})
	}
	for i := range 3000 {
		for s := range 3 {
			c := minute(i/2, i%2 == 1)
			c.Symbol = fmt.Sprint("S", s)
			h.PublishCandle(&c)
		}
		if i == 1500 {
			h.Delist([]string{"S1"})
		}
	}
	close(done)
	wg.Wait()
}

// The Builder and the History together: the history a new subscriber gets
// is the closed frames the Builder sent, then the open one.
func TestBuilderIntoHistory(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var pub collector
		hist := NewHistory(HistoryConfig{Candles: 5})
		b := NewBuilder(Config{Intervals: []protocol.Interval{protocol.Interval1s}}, pubFunc(func(c *protocol.Candle) {
			pub.PublishCandle(c)
			hist.PublishCandle(c)
		}))
		stop := start(t, b)
		defer stop()
		now := time.Now()
		for i := range 40 {
			time.Sleep(time.Until(now.Add(time.Duration(i) * 300 * time.Millisecond)))
			tr := trade("AAPL", time.Now().UnixNano(), fmt.Sprint(100+i%7), "1")
			b.PublishTrade(&tr)
		}
		time.Sleep(200 * time.Millisecond)
		var want []protocol.Candle
		var open *protocol.Candle
		for _, f := range pub.all() {
			if f.c.Closed {
				want = append(want, f.c)
			} else {
				open = &f.c
			}
		}
		want = want[len(want)-5:]
		if open.Start > want[len(want)-1].Start {
			want = append(want, *open)
		}
		if got, w := hist.Message("AAPL", protocol.Interval1s), protocol.AppendCandles(nil, "AAPL", protocol.Interval1s, want); string(got) != string(w) {
			t.Errorf("history =\n%s\nwant\n%s", got, w)
		}
	})
}

func BenchmarkHistoryPublishCandle(b *testing.B) {
	h := NewHistory(HistoryConfig{})
	c := minute(0, false)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		c.Start, c.Closed = t0+int64(i/4)*int64(time.Minute), i%4 == 3
		h.PublishCandle(&c)
		i++
	}
}

// BenchmarkHistoryMessage builds a full history message (500 closed
// candles and the open one) after each change, as the first subscriber
// after a change does.
func BenchmarkHistoryMessage(b *testing.B) {
	h := NewHistory(HistoryConfig{})
	for i := range DefaultCandles + 1 {
		c := minute(i, i < DefaultCandles)
		h.PublishCandle(&c)
	}
	c := minute(DefaultCandles, false)
	b.ReportAllocs()
	for b.Loop() {
		h.PublishCandle(&c)
		b.SetBytes(int64(len(h.Message("AAPL", protocol.Interval1m))))
	}
}
