package web_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/shopspring/decimal"
	"github.com/tickerd/tickerd"
	"github.com/tickerd/tickerd/feed/sim"
	"github.com/tickerd/tickerd/hub"
	"github.com/tickerd/tickerd/internal/apptest"
	"github.com/tickerd/tickerd/internal/testutil"
)

// serveChannels starts a server on the simulated market of the built-in
// symbols with its trades and books, and a link to it. Each connection's
// send buffer is small, so that a reader held back by the link backs the
// server up within a fraction of a second. Unless the server serves every
// channel of want the test is skipped, naming what is missing.
func serveChannels(t *testing.T, want ...string) (*apptest.Server, *link) {
	t.Helper()
	m := newMarketOf(t, sim.Config{Seed: 1})
	srv := apptest.Start(t, tickerd.Config{Feed: m, Hub: hub.Config{SendBuffer: 4096}})
	needChannels(t, srv.WS, want...)
	return srv, newLink(t, srv.Addr)
}

// needChannels skips the test unless the limits message of the server at
// ws names every channel of want.
func needChannels(t *testing.T, ws string, want ...string) {
	t.Helper()
	c, err := testutil.Dial(ws, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var limits struct {
		Channels []string `json:"channels"`
	}
	if err := json.Unmarshal(c.Limits.Raw, &limits); err != nil {
		t.Fatalf("limits %s: %v", c.Limits.Raw, err)
	}
	var missing []string
	for _, ch := range want {
		if !slices.Contains(limits.Channels, ch) {
			missing = append(missing, ch)
		}
	}
	if len(missing) > 0 {
		t.Skipf("the server does not serve the %s channel yet (its limits carry %q): the hub's delivery of it (issue 15: trades, candles; 16: book) is missing",
			strings.Join(missing, " and "), limits.Channels)
	}
}

// openPanels loads the dashboard from the server behind l and selects
// sym, whose trades, book and candles (at interval) its panels show.
func openPanels(t *testing.T, l *link, sym, interval string) *browser {
	t.Helper()
	b := openBrowser(t, 2*time.Minute)
	b.step("load", chromedp.Navigate("http://"+l.Addr+"/"))
	b.poll("connection open", `document.querySelector('#state').dataset.state === 'open'`, 10*time.Second)
	b.step("select "+sym, chromedp.Click(chromedp.CSS(`tr[data-symbol=`+js(sym)+`] td.c-sym`)))
	b.step(interval+" chart", chromedp.Click(chromedp.CSS(`#interval button[data-interval=`+js(interval)+`]`)))
	return b
}

// TestDashboardTrades: the time & sales tape of the selected symbol
// resumes after a cut link with no hole and no duplicate: the page asks
// for the trades since the last one it got and the server sends them
// again from its history.
func TestDashboardTrades(t *testing.T) {
	_, l := serveChannels(t, "trades")
	const sym = "AAPL"
	b := openPanels(t, l, sym, "line")
	b.poll("the tape shows trades", `document.querySelectorAll('#tape tr[data-seq]').length >= 5`, 10*time.Second)

	skip := len(b.frames.all())
	l.cut(time.Second)
	b.poll("reconnecting", `document.querySelector('#state').dataset.state === 'reconnecting'`, 5*time.Second)
	b.poll("open again", `document.querySelector('#state').dataset.state === 'open'`, 10*time.Second)
	resub := waitFrame(t, b, skip, "a trades subscribe with since", func(f frame) bool {
		return f.sent && f.msg.Op == "subscribe" && f.msg.Channel == "trades" && f.msg.Since != nil
	})
	waitFor(t, "10 live trades after the reconnect", func() bool {
		n := 0
		for _, f := range received(b.frames.all(), "trade", sym) {
			if f.at > resub.at && !f.msg.Replay {
				n++
			}
		}
		return n >= 10
	})
	frames := b.frames.all()
	trades := received(frames, "trade", sym)
	var last, replayed uint64
	for _, f := range trades {
		if f.at <= resub.at {
			last = f.msg.Seq
		}
		if f.msg.Replay {
			replayed++
		}
	}
	if got := resub.msg.Since[sym]; got != last {
		t.Errorf("the page resubscribed with since %d, the last trade it got was %d: %s", got, last, resub.text)
	}
	for i := 1; i < len(trades); i++ {
		if trades[i].msg.Seq != trades[i-1].msg.Seq+1 {
			t.Errorf("trade %d after %d: %s", trades[i].msg.Seq, trades[i-1].msg.Seq, seqs(trades[max(i-3, 0):min(i+3, len(trades))]))
		}
	}
	if replayed == 0 {
		t.Errorf("no trade was replayed after 1 s down; since %d", last)
	}
	if gaps := received(frames, "gap", sym); len(gaps) > 0 {
		t.Errorf("gap after a 1 s outage: %s", gaps[0].text)
	}
	t.Logf("%d trades, seq %d to %d; resumed since %d, %d replayed", len(trades), trades[0].msg.Seq, trades[len(trades)-1].msg.Seq, last, replayed)

	// The tape shows them newest first, one row a seq, with no gap row.
	var shown []uint64
	if err := json.Unmarshal([]byte(b.evalString(`JSON.stringify([...document.querySelectorAll('#tape tr')].map(tr => Number(tr.dataset.seq || 0)))`)), &shown); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(shown); i++ {
		if shown[i] != shown[i-1]-1 {
			t.Errorf("the tape shows seq %d below %d (rows %v)", shown[i], shown[i-1], shown)
			break
		}
	}
	b.checkConsole()
}

// TestDashboardBook: the order book panel verifies the checksum of every
// message (a mismatch would show as a resync); held back for 3 s, the page
// gets a snapshot in place of the deltas it missed, never a delta it
// cannot apply, and shows 0 resyncs; after a cut link it starts again
// from the new connection's snapshot.
func TestDashboardBook(t *testing.T) {
	_, l := serveChannels(t, "book")
	const sym = "AAPL"
	b := openPanels(t, l, sym, "line")
	b.poll("the book is verified", bookVerified, 10*time.Second)
	waitFor(t, "20 book deltas", func() bool { return len(received(b.frames.all(), "book", sym)) > 20 })

	skip := len(b.frames.all())
	l.stall(3 * time.Second)
	snap := waitFrame(t, b, skip, "a book snapshot after the stall", func(f frame) bool {
		return !f.sent && f.msg.Type == "book" && f.msg.Snapshot
	})
	b.poll("the book is verified after the stall", bookVerified, 5*time.Second)
	books := received(b.frames.all(), "book", sym)
	i := slices.IndexFunc(books, func(f frame) bool { return f.at == snap.at && f.msg.Seq == snap.msg.Seq })
	if i < 1 || snap.msg.Seq <= books[i-1].msg.Seq+1 {
		t.Errorf("the snapshot after the stall (seq %d) replaced no delta:%s", snap.msg.Seq, seqs(books[max(i-3, 0):min(i+2, len(books))]))
	} else {
		t.Logf("after the stall a snapshot at seq %d took the place of %d deltas", snap.msg.Seq, snap.msg.Seq-books[i-1].msg.Seq-1)
	}
	checkBookChain(t, books)

	skip = len(b.frames.all())
	l.cut(time.Second)
	b.poll("reconnecting", `document.querySelector('#state').dataset.state === 'reconnecting'`, 5*time.Second)
	b.poll("open again", `document.querySelector('#state').dataset.state === 'open'`, 10*time.Second)
	waitFrame(t, b, skip, "a book snapshot on the new connection", func(f frame) bool {
		return !f.sent && f.msg.Type == "book" && f.msg.Snapshot
	})
	b.poll("the book is verified on the new connection", bookVerified, 5*time.Second)
	checkBookChain(t, received(b.frames.all(), "book", sym))
	if n := b.evalString(`document.querySelector('#b-resyncs').textContent`); n != "0" {
		t.Errorf("the page shows %s book resyncs, want 0", n)
	}
	b.checkConsole()
}

// TestDashboardCandles: each closed 1 s candle the page gets is the OHLCV
// of its second's trades, which the page got too, and the chart's legend
// shows it when the pointer is on it.
func TestDashboardCandles(t *testing.T) {
	_, l := serveChannels(t, "trades", "candles")
	const sym = "AAPL"
	b := openPanels(t, l, sym, "1s")
	b.poll("the chart shows candles", `document.querySelector('#chart').dataset.mode === '1s' && Number(document.querySelector('#chart').dataset.candles) >= 1`, 10*time.Second)

	var verified map[int64]frame
	waitFor(t, "2 closed candles with trades", func() bool {
		verified = closedCandles(b.frames.all(), sym, "1s")
		return len(verified) >= 2
	})
	trades := received(b.frames.all(), "trade", sym)
	for start, k := range verified {
		if why := candleDiff(k.msg, trades, start, int64(time.Second)); why != "" {
			t.Errorf("candle %d: %s", start, why)
		}
	}
	legend, start := hoverClosedCandle(t, b, verified)
	t.Logf("%d closed candles equal to their trades (%d); the legend of %d reads %q", len(verified), len(trades), start, legend)
	k := verified[start].msg
	if want := fmt.Sprintf("O %s  H %s  L %s  C %s  V %s  %d trades", k.Open, k.High, k.Low, k.Close, k.Volume, k.Trades); legend != want {
		t.Errorf("the legend of candle %d reads %q, want %q", start, legend, want)
	}
	b.checkConsole()
}

// bookVerified is true while the page's book matched the last message's
// checksum and no resync was needed.
const bookVerified = `document.querySelector('#book-foot').dataset.verified === 'true' && document.querySelector('#b-resyncs').textContent === '0'`

// received returns the messages of type about sym the page got.
func received(frames []frame, typ, sym string) []frame {
	var out []frame
	for _, f := range frames {
		if !f.sent && f.msg.Type == typ && f.msg.Symbol == sym {
			out = append(out, f)
		}
	}
	return out
}

// seqs lists the seqs of frames, for a failure message.
func seqs(frames []frame) string {
	var b strings.Builder
	for _, f := range frames {
		fmt.Fprintf(&b, " %d", f.msg.Seq)
		if f.msg.Snapshot {
			b.WriteString("(snapshot)")
		}
		if f.msg.Replay {
			b.WriteString("(replay)")
		}
	}
	return b.String()
}

// checkBookChain checks that each book delta applies to the message
// before it: its prev_seq is that message's seq.
func checkBookChain(t *testing.T, books []frame) {
	t.Helper()
	for i, f := range books {
		if f.msg.Snapshot {
			continue
		}
		if i == 0 || f.msg.PrevSeq != books[i-1].msg.Seq {
			t.Errorf("book delta %d (prev_seq %d) after:%s", f.msg.Seq, f.msg.PrevSeq, seqs(books[max(i-3, 0):i]))
			return
		}
	}
}

// closedCandles returns the closed candles of sym at interval the page got
// whose interval began after the first trade it got: the page holds every
// trade of them. Candles without trades are left out.
func closedCandles(frames []frame, sym, interval string) map[int64]frame {
	trades := received(frames, "trade", sym)
	if len(trades) == 0 {
		return nil
	}
	out := make(map[int64]frame)
	for _, f := range received(frames, "candle", sym) {
		if f.msg.Interval == interval && f.msg.Closed && f.msg.Start > trades[0].msg.TS && f.msg.Trades > 0 {
			out[f.msg.Start] = f
		}
	}
	return out
}

// candleDiff says how candle k differs from what the trades whose ts is in
// [start, start+d) make, or "".
func candleDiff(k wireMsg, trades []frame, start, d int64) string {
	var open, high, low, closing, volume decimal.Decimal
	n := 0
	for _, f := range trades {
		if f.msg.TS < start || f.msg.TS >= start+d {
			continue
		}
		p, err1 := decimal.NewFromString(f.msg.Price)
		s, err2 := decimal.NewFromString(f.msg.Size)
		if err1 != nil || err2 != nil {
			return fmt.Sprintf("trade %s: %v %v", f.text, err1, err2)
		}
		if n == 0 {
			open, high, low = p, p, p
		}
		high, low, closing = decimal.Max(high, p), decimal.Min(low, p), p
		volume = volume.Add(s)
		n++
	}
	if n == 0 {
		return fmt.Sprintf("%d trades, none in its interval", k.Trades)
	}
	var bad []string
	for _, c := range []struct {
		name, got string
		want      decimal.Decimal
	}{{"open", k.Open, open}, {"high", k.High, high}, {"low", k.Low, low}, {"close", k.Close, closing}, {"volume", k.Volume, volume}} {
		if v, err := decimal.NewFromString(c.got); err != nil || !v.Equal(c.want) {
			bad = append(bad, fmt.Sprintf("%s %q, the trades give %s", c.name, c.got, c.want))
		}
	}
	if k.Trades != n {
		bad = append(bad, fmt.Sprintf("trades %d, %d traded", k.Trades, n))
	}
	return strings.Join(bad, "; ")
}

// hoverClosedCandle moves the pointer over the chart, from its right edge
// leftwards, until the legend shows a closed candle of want, and returns
// the legend and the candle's start.
func hoverClosedCandle(t *testing.T, b *browser, want map[int64]frame) (string, int64) {
	t.Helper()
	var r struct{ X, Y, W, H float64 }
	if err := json.Unmarshal([]byte(b.evalString(`(() => { const r = document.querySelector('#chart').getBoundingClientRect();
		return JSON.stringify({ X: r.left, Y: r.top, W: r.width, H: r.height }); })()`)), &r); err != nil {
		t.Fatal(err)
	}
	var seen []string
	for x := r.X + r.W - 2; x > r.X+r.W/2; x -= 3 {
		b.step("hover", chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, x, r.Y+r.H/2))
		var got struct {
			Legend string `json:"legend"`
			Start  string `json:"start"`
		}
		if err := json.Unmarshal([]byte(b.evalString(`JSON.stringify({ legend: document.querySelector('#chart').dataset.legend || '',
			start: document.querySelector('#chart').dataset.legendStart || '' })`)), &got); err != nil {
			t.Fatal(err)
		}
		var start int64
		if _, err := fmt.Sscan(got.Start, &start); err == nil {
			if _, ok := want[start]; ok && !strings.HasSuffix(got.Legend, "(open)") {
				return got.Legend, start
			}
		}
		seen = append(seen, got.Start+": "+got.Legend)
	}
	t.Fatalf("no position on the chart shows a verified closed candle; the legends were:\n%s", strings.Join(seen, "\n"))
	return "", 0
}

// waitFor waits up to 10 s for cond.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testutil.WaitFor(t, 10*time.Second, what, cond)
}
