package candle

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/shopspring/decimal"
	"github.com/tickerd/tickerd/internal/testutil"
	"github.com/tickerd/tickerd/protocol"
)

// frame is one candle a collector received.
type frame struct {
	at  time.Time
	c   protocol.Candle
	msg string // AppendCandle of c
}

// collector is a Publisher that records every candle.
type collector struct {
	mu     sync.Mutex
	frames []frame
}

func (p *collector) PublishCandle(c *protocol.Candle) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.frames = append(p.frames, frame{at: time.Now(), c: *c, msg: string(protocol.AppendCandle(nil, c))})
}

func (p *collector) all() []frame {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.frames)
}

// closed returns the closed frames by "symbol interval", in order.
func (p *collector) closed() map[string][]string {
	out := make(map[string][]string)
	for _, f := range p.all() {
		if f.c.Closed {
			k := f.c.Symbol + " " + f.c.Interval.String()
			out[k] = append(out[k], f.msg)
		}
	}
	return out
}

// trade returns a trade whose precisions are those of price and size as
// written.
func trade(sym string, ts int64, price, size string) protocol.Trade {
	tr := testutil.Trade(sym, 0, price, size)
	tr.TS = ts
	return *tr
}

// start runs b in a goroutine; the returned func stops it and waits.
func start(t *testing.T, b *Builder) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
	}
}

// reference computes, from the definition, the closed candles that trades
// (in arrival order, none late) give at the intervals ivs, by "symbol
// interval".
func reference(trades []protocol.Trade, ivs []protocol.Interval) map[string][]string {
	type acc struct {
		c     protocol.Candle
		key   string
		order int
	}
	byStart := make(map[string]*acc)
	var accs []*acc
	for _, t := range trades {
		price, size := t.Price.Round(t.PricePrec), t.Size.Round(t.SizePrec)
		for _, iv := range ivs {
			d := int64(iv.Duration())
			start := t.TS - ((t.TS%d)+d)%d
			id := fmt.Sprint(t.Symbol, iv, start)
			a := byStart[id]
			if a == nil {
				a = &acc{key: t.Symbol + " " + iv.String(), order: len(accs), c: protocol.Candle{
					Symbol: t.Symbol, Interval: iv, Start: start, Closed: true, Epoch: t.Epoch,
					Open: price, High: price, Low: price, Volume: decimal.Zero,
					PricePrec: t.PricePrec, VolumePrec: t.SizePrec,
				}}
				byStart[id] = a
				accs = append(accs, a)
			}
			if price.GreaterThan(a.c.High) {
				a.c.High = price
			}
			if price.LessThan(a.c.Low) {
				a.c.Low = price
			}
			a.c.Close = price
			a.c.Volume = a.c.Volume.Add(size)
			a.c.Trades++
		}
	}
	slices.SortStableFunc(accs, func(a, b *acc) int { return int(a.c.Start/1e6 - b.c.Start/1e6) })
	out := make(map[string][]string)
	for _, a := range accs {
		out[a.key] = append(out[a.key], string(protocol.AppendCandle(nil, &a.c)))
	}
	return out
}

var allIntervals = []protocol.Interval{protocol.Interval1s, protocol.Interval1m, protocol.Interval5m, protocol.Interval1h}

// t0 is a ts at the start of an hour.
const t0 = int64(1763715600e9)

func TestOHLCV(t *testing.T) {
	const s = int64(time.Second)
	tests := []struct {
		name   string
		trades []protocol.Trade
		want   map[string][]string // some of the closed frames expected, by "symbol interval"
	}{
		{
			name:   "one trade",
			trades: []protocol.Trade{trade("AAPL", t0+s/2, "187.24", "100")},
			want: map[string][]string{
				"AAPL 1s": {`{"type":"candle","symbol":"AAPL","interval":"1s","start":1763715600000000000,"open":"187.24","high":"187.24","low":"187.24","close":"187.24","volume":"100","trades":1,"closed":true}`},
				"AAPL 1h": {`{"type":"candle","symbol":"AAPL","interval":"1h","start":1763715600000000000,"open":"187.24","high":"187.24","low":"187.24","close":"187.24","volume":"100","trades":1,"closed":true}`},
			},
		},
		{
			name: "high and low in the middle",
			trades: []protocol.Trade{
				trade("AAPL", t0+1, "187.10", "10"), trade("AAPL", t0+2, "187.40", "20"),
				trade("AAPL", t0+3, "187.00", "30"), trade("AAPL", t0+s-1, "187.24", "40"),
			},
			want: map[string][]string{
				"AAPL 1s": {`{"type":"candle","symbol":"AAPL","interval":"1s","start":1763715600000000000,"open":"187.10","high":"187.40","low":"187.00","close":"187.24","volume":"100","trades":4,"closed":true}`},
			},
		},
		{
			name: "boundaries and an empty second",
			trades: []protocol.Trade{
				trade("AAPL", t0+s-1, "1.00", "1"), trade("AAPL", t0+s, "2.00", "2"),
				trade("AAPL", t0+3*s, "3.00", "3"), trade("AAPL", t0+60*s, "4.00", "4"),
			},
			want: map[string][]string{
				"AAPL 1s": {
					`{"type":"candle","symbol":"AAPL","interval":"1s","start":1763715600000000000,"open":"1.00","high":"1.00","low":"1.00","close":"1.00","volume":"1","trades":1,"closed":true}`,
					`{"type":"candle","symbol":"AAPL","interval":"1s","start":1763715601000000000,"open":"2.00","high":"2.00","low":"2.00","close":"2.00","volume":"2","trades":1,"closed":true}`,
					`{"type":"candle","symbol":"AAPL","interval":"1s","start":1763715603000000000,"open":"3.00","high":"3.00","low":"3.00","close":"3.00","volume":"3","trades":1,"closed":true}`,
					`{"type":"candle","symbol":"AAPL","interval":"1s","start":1763715660000000000,"open":"4.00","high":"4.00","low":"4.00","close":"4.00","volume":"4","trades":1,"closed":true}`,
				},
				"AAPL 1m": {
					`{"type":"candle","symbol":"AAPL","interval":"1m","start":1763715600000000000,"open":"1.00","high":"3.00","low":"1.00","close":"3.00","volume":"6","trades":3,"closed":true}`,
					`{"type":"candle","symbol":"AAPL","interval":"1m","start":1763715660000000000,"open":"4.00","high":"4.00","low":"4.00","close":"4.00","volume":"4","trades":1,"closed":true}`,
				},
			},
		},
		{
			name: "decimal sizes, negative prices, rounding at the precision",
			trades: []protocol.Trade{
				{Symbol: "CL", TS: t0, Price: decimal.RequireFromString("-37.625"), PricePrec: 2, Size: decimal.RequireFromString("0.0005"), SizePrec: 3},
				{Symbol: "CL", TS: t0 + 1, Price: decimal.RequireFromString("-37.634"), PricePrec: 2, Size: decimal.RequireFromString("1.2344"), SizePrec: 3},
				{Symbol: "CL", TS: t0 + 2, Price: decimal.RequireFromString("-0.001"), PricePrec: 2, Size: decimal.RequireFromString("2"), SizePrec: 3},
			},
			want: map[string][]string{
				"CL 1s": {`{"type":"candle","symbol":"CL","interval":"1s","start":1763715600000000000,"open":"-37.63","high":"0.00","low":"-37.63","close":"0.00","volume":"3.235","trades":3,"closed":true}`},
			},
		},
		{
			name: "symbols apart",
			trades: []protocol.Trade{
				trade("A", t0, "1", "1"), trade("B", t0, "2", "2"), trade("A", t0+1, "3", "3"),
			},
			want: map[string][]string{
				"A 1s": {`{"type":"candle","symbol":"A","interval":"1s","start":1763715600000000000,"open":"1","high":"3","low":"1","close":"3","volume":"4","trades":2,"closed":true}`},
				"B 1s": {`{"type":"candle","symbol":"B","interval":"1s","start":1763715600000000000,"open":"2","high":"2","low":"2","close":"2","volume":"2","trades":1,"closed":true}`},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var pub collector
				b := NewBuilder(Config{}, &pub)
				stop := start(t, b)
				for i := range tt.trades {
					b.PublishTrade(&tt.trades[i])
				}
				time.Sleep(2 * time.Hour) // the clock closes every candle
				stop()
				got := pub.closed()
				for k, want := range tt.want {
					if !slices.Equal(got[k], want) {
						t.Errorf("%s: closed frames\n%s\nwant\n%s", k, strings.Join(got[k], "\n"), strings.Join(want, "\n"))
					}
				}
				if ref := reference(tt.trades, allIntervals); !equalFrames(got, ref) {
					t.Errorf("closed frames differ from the reference:\n%v\nwant\n%v", got, ref)
				}
			})
		})
	}
}

func equalFrames(a, b map[string][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

// randomTrades returns n trades of syms from ts on, in ts order: mostly
// close together, sometimes seconds apart, now and then minutes (the whole
// feed quiet). The last symbol trades rarely.
func randomTrades(r *rand.Rand, syms []string, n int, ts int64) []protocol.Trade {
	prices := make([]int64, len(syms))
	for i := range prices {
		prices[i] = 10000 + r.Int64N(100000)
	}
	out := make([]protocol.Trade, 0, n)
	for range n {
		switch x := r.IntN(1000); {
		case x < 5:
			ts += int64(time.Duration(60+r.IntN(600)) * time.Second)
		case x < 100:
			ts += r.Int64N(int64(5 * time.Second))
		case x < 300:
			// same ts
		default:
			ts += r.Int64N(int64(300 * time.Millisecond))
		}
		i := r.IntN(len(syms) - 1)
		if r.IntN(50) == 0 {
			i = len(syms) - 1
		}
		prices[i] = max(1, prices[i]+r.Int64N(201)-100)
		sizePrec := int32(i % 3)
		out = append(out, protocol.Trade{
			Symbol: syms[i], TS: ts, Side: protocol.SideBuy,
			Price: decimal.New(prices[i], -2), PricePrec: 2,
			Size: decimal.New(1+r.Int64N(100000), -sizePrec), SizePrec: sizePrec,
		})
	}
	return out
}

// play publishes trades to b at speed (0: as fast as possible), keeping
// the rhythm of their ts as feed/replay does, then lets the clock close
// every candle.
func play(b *Builder, trades []protocol.Trade, speed float64) {
	begin := time.Now()
	for i := range trades {
		if speed > 0 {
			due := begin.Add(time.Duration(float64(trades[i].TS-trades[0].TS) / speed))
			time.Sleep(time.Until(due))
		}
		b.PublishTrade(&trades[i])
	}
	time.Sleep(8 * time.Hour)
}

// A candle's OHLCV is what the trades in its interval give, for random
// trades of several symbols, quiet spells included.
func TestOHLCVRandom(t *testing.T) {
	for seed := range uint64(5) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := rand.New(rand.NewPCG(seed, 15))
				trades := randomTrades(r, []string{"AAPL", "BTC-USD", "EUR/USD", "QUIET"}, 3000, t0+r.Int64N(1e12))
				var pub collector
				b := NewBuilder(Config{}, &pub)
				stop := start(t, b)
				play(b, trades, 1)
				stop()
				got, want := pub.closed(), reference(trades, allIntervals)
				for k := range want {
					if !slices.Equal(got[k], want[k]) {
						t.Errorf("%s: %d closed frames, want %d; first difference:\n%s", k, len(got[k]), len(want[k]), firstDiff(got[k], want[k]))
					}
				}
				if st := b.Stats(); st.Late != [protocol.NumIntervals]uint64{} || st.Open != 0 {
					t.Errorf("Stats = %+v, want no late trades and no open candle", st)
				}
			})
		})
	}
}

func firstDiff(a, b []string) string {
	for i := range max(len(a), len(b)) {
		var x, y string
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if x != y {
			return fmt.Sprintf("[%d]\n got %s\nwant %s", i, x, y)
		}
	}
	return ""
}

// Replaying the same trades at any speed gives byte-identical closed
// candles, when Rate is at most the speed.
func TestReplayByteIdentical(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	trades := randomTrades(r, []string{"AAPL", "BTC-USD", "EUR/USD", "QUIET"}, 2000, t0+r.Int64N(1e12))
	run := func(speed, rate float64) map[string][]string {
		var got map[string][]string
		synctest.Test(t, func(t *testing.T) {
			var pub collector
			b := NewBuilder(Config{Rate: rate}, &pub)
			stop := start(t, b)
			play(b, trades, speed)
			stop()
			got = pub.closed()
		})
		return got
	}
	want := run(0, 0)
	if !equalFrames(want, reference(trades, allIntervals)) {
		t.Fatalf("as fast as possible: closed frames differ from the reference")
	}
	for _, c := range []struct{ speed, rate float64 }{{1, 0}, {3.5, 0}, {100, 0}, {0.5, 0.5}, {0.25, 0.2}} {
		got := run(c.speed, c.rate)
		for k := range want {
			if !slices.Equal(got[k], want[k]) {
				t.Errorf("speed %v, rate %v: %s differs:\n%s", c.speed, c.rate, k, firstDiff(got[k], want[k]))
			}
		}
	}
	// The condition matters: a clock faster than the replay closes candles
	// before their last trades come.
	if got := run(0.25, 1); equalFrames(got, want) {
		t.Errorf("speed 0.25 with rate 1 gave the same frames; the test's trades do not exercise the rule")
	}
}

// An open candle is sent when it changes, at most once per Throttle; the
// last change is sent when the throttle allows.
func TestThrottle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var pub collector
		b := NewBuilder(Config{Intervals: []protocol.Interval{protocol.Interval1h}}, &pub)
		stop := start(t, b)
		defer stop()
		begin := time.Now()
		at := func(d time.Duration, price string) {
			time.Sleep(time.Until(begin.Add(d)))
			tr := trade("AAPL", time.Now().UnixNano(), price, "1")
			b.PublishTrade(&tr)
		}
		at(0, "10")                     // sent at once: a new candle
		at(10*time.Millisecond, "11")   // held
		at(100*time.Millisecond, "12")  // held; sent at 250 ms with 3 trades
		at(600*time.Millisecond, "13")  // 350 ms after the last frame: sent at once
		at(700*time.Millisecond, "14")  // held until 850 ms
		at(1000*time.Millisecond, "15") // held until 1100 ms
		time.Sleep(time.Until(begin.Add(2 * time.Second)))
		type sent struct {
			at     time.Duration
			trades uint64
			close  string
		}
		var got []sent
		for _, f := range pub.all() {
			got = append(got, sent{f.at.Sub(begin), f.c.Trades, f.c.Close.String()})
		}
		want := []sent{{0, 1, "10"}, {250 * time.Millisecond, 3, "12"}, {600 * time.Millisecond, 4, "13"}, {850 * time.Millisecond, 5, "14"}, {1100 * time.Millisecond, 6, "15"}}
		if !slices.Equal(got, want) {
			t.Errorf("frames sent (time, trades, close):\n%v\nwant\n%v", got, want)
		}
	})
}

// A quiet symbol's candle still closes: by the wall clock when the whole
// feed is quiet, by other symbols' trades when it is not.
func TestQuietSymbolCloses(t *testing.T) {
	t.Run("quiet feed", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var pub collector
			b := NewBuilder(Config{}, &pub)
			stop := start(t, b)
			defer stop()
			now := time.Now() // 2000-01-01 00:00:00 UTC in the bubble: a whole hour
			tr := trade("AAPL", now.Add(300*time.Millisecond).UnixNano(), "1", "1")
			time.Sleep(300 * time.Millisecond)
			b.PublishTrade(&tr)
			time.Sleep(2 * time.Hour)
			var closes []string
			for _, f := range pub.all() {
				if f.c.Closed {
					closes = append(closes, fmt.Sprint(f.c.Interval, " ", f.at.Sub(now)))
				}
			}
			want := []string{"1s 1.5s", "1m 1m0.5s", "5m 5m0.5s", "1h 1h0m0.5s"}
			if !slices.Equal(closes, want) {
				t.Errorf("closed frames (interval, when) = %q, want %q", closes, want)
			}
		})
	})
	t.Run("busy feed", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			closedQuiet := false
			pub := pubFunc(func(c *protocol.Candle) { closedQuiet = closedQuiet || c.Closed && c.Symbol == "QUIET" })
			b := NewBuilder(Config{Intervals: []protocol.Interval{protocol.Interval1s}, Grace: time.Hour}, pub)
			stop := start(t, b)
			defer stop()
			quiet := trade("QUIET", t0, "1", "1") // far from the wall clock: only the trades' ts matter
			b.PublishTrade(&quiet)
			for i := int64(1); i <= 4000; i++ {
				busy := trade("BUSY", t0+i*int64(time.Second), "2", "1")
				b.PublishTrade(&busy)
				if wantClosed := i*int64(time.Second) >= int64(time.Second+time.Hour); closedQuiet != wantClosed {
					t.Fatalf("after BUSY's trade at +%ds, QUIET closed = %v, want %v", i, closedQuiet, wantClosed)
				}
			}
		})
	})
}

func TestLateAndEpoch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var pub collector
		b := NewBuilder(Config{Intervals: []protocol.Interval{protocol.Interval1s, protocol.Interval1m}}, &pub)
		stop := start(t, b)
		defer stop()
		const s = int64(time.Second)
		for _, tr := range []protocol.Trade{
			trade("A", t0, "1", "1"),
			trade("A", t0+s, "2", "1"),   // closes A's first 1s candle
			trade("A", t0+s/2, "3", "1"), // late for 1s, counts for 1m
			trade("B", t0+10*s, "1", "1"),
			trade("A", t0+2*s, "4", "1"), // late for 1s by the clock: ended 8 s before it, grace 0.5 s
		} {
			b.PublishTrade(&tr)
		}
		if st := b.Stats(); st.Late[protocol.Interval1s] != 2 || st.Late[protocol.Interval1m] != 0 {
			t.Errorf("Late = %v, want 2 at 1s and none at 1m", st.Late)
		}
		// A new epoch closes A's open candles and starts again, in the same minute.
		fresh := trade("A", t0+20*s, "9", "5")
		fresh.Epoch = 1
		b.PublishTrade(&fresh)
		old := trade("A", t0+21*s, "1", "1")
		b.PublishTrade(&old) // epoch 0: stale
		time.Sleep(2 * time.Hour)
		var minute []string
		for _, f := range pub.all() {
			if f.c.Symbol == "A" && f.c.Interval == protocol.Interval1m && f.c.Closed {
				minute = append(minute, fmt.Sprintf("epoch %d start %d open %s trades %d", f.c.Epoch, (f.c.Start-t0)/s, f.c.Open, f.c.Trades))
			}
		}
		want := []string{"epoch 0 start 0 open 1 trades 4", "epoch 1 start 0 open 9 trades 1"}
		if !slices.Equal(minute, want) {
			t.Errorf("A's closed 1m candles = %q, want %q", minute, want)
		}
		if st := b.Stats(); st.Stale != 1 {
			t.Errorf("Stale = %d, want 1", st.Stale)
		}
	})
}

// With trades out of order and epochs restarting, every accepted trade is
// counted once per interval, in a closed candle or as late, and a symbol's
// closed candles of one epoch come in start order.
func TestDisorder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(3, 3))
		trades := randomTrades(r, []string{"A", "B", "C", "D"}, 5000, t0)
		epochs := map[string]uint64{}
		for i := range trades {
			trades[i].TS += r.Int64N(int64(3*time.Second)) - int64(1500*time.Millisecond)
			if r.IntN(500) == 0 {
				epochs[trades[i].Symbol]++
			}
			trades[i].Epoch = epochs[trades[i].Symbol]
			if r.IntN(200) == 0 && trades[i].Epoch > 0 {
				trades[i].Epoch-- // stale
			}
		}
		var pub collector
		b := NewBuilder(Config{}, &pub)
		stop := start(t, b)
		play(b, trades, 2)
		stop()
		st := b.Stats()
		accepted := uint64(len(trades)) - st.Rejected - st.Stale
		if st.Stale == 0 || st.Late[protocol.Interval1s] == 0 || st.Open != 0 {
			t.Fatalf("Stats = %+v: the test should make stale and late trades, and close everything", st)
		}
		var counted [protocol.NumIntervals]uint64
		last := map[string]int64{}
		for _, f := range pub.all() {
			if !f.c.Closed {
				continue
			}
			counted[f.c.Interval] += f.c.Trades
			k := fmt.Sprint(f.c.Symbol, f.c.Interval, f.c.Epoch)
			if prev, ok := last[k]; ok && f.c.Start <= prev {
				t.Errorf("%s: closed candle at %d after one at %d", k, f.c.Start, prev)
			}
			last[k] = f.c.Start
		}
		for iv := range protocol.NumIntervals {
			if counted[iv]+st.Late[iv] != accepted {
				t.Errorf("%v: %d trades in closed candles + %d late, want %d accepted", iv, counted[iv], st.Late[iv], accepted)
			}
		}
	})
}

func TestRejectAndDelist(t *testing.T) {
	var pub collector
	b := NewBuilder(Config{}, &pub)
	bad := []protocol.Trade{
		{Symbol: "A", TS: t0, Price: decimal.RequireFromString("1e30"), PricePrec: 2, Size: decimal.New(1, 0)},
		{Symbol: "A", TS: t0, Price: decimal.New(1, 0), Size: decimal.New(-1, 0)},
		{Symbol: "A", TS: t0, Price: decimal.New(1, 0), PricePrec: 19, Size: decimal.New(1, 0)},
		{Symbol: "A", TS: 1<<63 - 1, Price: decimal.New(1, 0), Size: decimal.New(1, 0)},
		{Symbol: "A", TS: -1 << 63, Price: decimal.New(1, 0), Size: decimal.New(1, 0)},
	}
	for i := range bad {
		b.PublishTrade(&bad[i])
	}
	if st := b.Stats(); st.Rejected != uint64(len(bad)) || st.Symbols != 0 || len(pub.all()) != 0 {
		t.Errorf("Rejected = %d, frames %d; want %d and none", st.Rejected, len(pub.all()), len(bad))
	}
	good := trade("A", t0, "1", "1")
	b.PublishTrade(&good)
	if st := b.Stats(); st.Open != 4 || len(pub.all()) != 4 {
		t.Errorf("after a good trade: %d open, %d frames; want 4 and 4", st.Open, len(pub.all()))
	}
	b.Delist([]string{"A", "unknown"})
	if st := b.Stats(); st.Symbols != 0 || st.Open != 0 {
		t.Errorf("after Delist: %+v, want no symbol", st)
	}
}

func TestRunTwice(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := NewBuilder(Config{}, &collector{})
		stop := start(t, b)
		synctest.Wait()
		if err := b.Run(context.Background()); err == nil {
			t.Error("a second Run returned nil")
		}
		stop()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := b.Run(ctx); err != nil { // runs again once stopped
			t.Errorf("Run after Run = %v", err)
		}
	})
}

// Run works on the real clock too.
func TestRealClock(t *testing.T) {
	closed := make(chan protocol.Candle, 8)
	pub := pubFunc(func(c *protocol.Candle) {
		if c.Closed {
			closed <- *c
		}
	})
	b := NewBuilder(Config{Intervals: []protocol.Interval{protocol.Interval1s}, Grace: 10 * time.Millisecond}, pub)
	stop := start(t, b)
	defer stop()
	tr := trade("AAPL", time.Now().UnixNano(), "1", "1")
	b.PublishTrade(&tr)
	select {
	case c := <-closed:
		if end := time.Unix(0, c.Start+int64(time.Second)); time.Now().Before(end) {
			t.Errorf("candle closed before its end %v", end)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no closed candle after 10 s")
	}
}

type pubFunc func(*protocol.Candle)

func (f pubFunc) PublishCandle(c *protocol.Candle) { f(c) }

// BenchmarkPublishTrade measures a trade into all four intervals of one of
// 100 symbols, at 1000 trades per second of event time (so 1s candles
// close and open often), publishing to a Publisher that does nothing.
func BenchmarkPublishTrade(b *testing.B) {
	bl := NewBuilder(Config{}, pubFunc(func(*protocol.Candle) {}))
	syms := make([]string, 100)
	for i := range syms {
		syms[i] = fmt.Sprintf("SYM%d", i)
	}
	tr := protocol.Trade{Price: decimal.New(18724, -2), PricePrec: 2, Size: decimal.New(100, 0)}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		tr.Symbol, tr.TS = syms[i%len(syms)], t0+int64(i)*int64(time.Millisecond)
		bl.PublishTrade(&tr)
		i++
	}
}

// TestBuilderMemory logs the memory a Builder keeps per symbol, quoted in
// the package doc: four open candles, holding their trades' decimals.
func TestBuilderMemory(t *testing.T) {
	const symbols = 10000
	b := NewBuilder(Config{}, pubFunc(func(*protocol.Candle) {}))
	names := make([]string, symbols)
	for s := range names {
		names[s] = fmt.Sprintf("SYM-%05d", s)
	}
	before := heapBytes()
	for s := range symbols {
		for i := range 3 { // three prices: open, high and low, close
			tr := protocol.Trade{
				Symbol: names[s], TS: t0 + int64(i),
				Price: decimal.New(18724+int64(i%2*2-1)*int64(i), -2), PricePrec: 2, Size: decimal.New(100, 0),
			}
			b.PublishTrade(&tr)
		}
	}
	after := heapBytes()
	runtime.KeepAlive(b)
	t.Logf("%d bytes per symbol", int64(after-before)/symbols)
}
