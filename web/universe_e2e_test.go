package web_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/shopspring/decimal"
	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/internal/testutil"
)

// suggestMax is how many suggestions the dashboard shows (app.js MAX_SUGGEST).
const suggestMax = 8

// TestDashboardUniverse drives the dashboard against a server whose
// universe is 100,000 symbols and changes while it runs: the symbol box
// suggests from the server's search (the page never asks for the whole
// list) and does not keep suggesting what was delisted since; a watched
// symbol that is delisted leaves the watchlist with a notice; the 1/s
// rate choice holds every row to one update a second, until live is
// chosen again; and a row follows its symbol into a new seq space when
// the feed's epoch rises.
func TestDashboardUniverse(t *testing.T) {
	b := openBrowser(t, 3*time.Minute)
	srv, m := serveMarket(t, 100_000)

	b.step("load", chromedp.Navigate("http://"+srv.Addr+"/"))
	b.poll("connection open", `document.querySelector('#state').dataset.state === 'open'`, 10*time.Second)
	b.poll("default watchlist has prices", priced(defaultWatchlist), 15*time.Second)
	b.poll("a large universe is searched, not listed", `document.querySelector('#add-input').placeholder.startsWith('Search')`, 5*time.Second)
	watch := slices.Clone(defaultWatchlist)

	// suggest types prefix into the empty symbol box and waits for the
	// suggestions it must give now: the first names of the universe in byte
	// order (the server's search), but those watched.
	prefix := optionPrefix(t, m.symbols())
	suggest := func(name string) []string {
		t.Helper()
		var want []string
		for _, n := range m.symbols() {
			if strings.HasPrefix(n, prefix) && !slices.Contains(watch, n) && len(want) < suggestMax {
				want = append(want, n)
			}
		}
		b.step(name, chromedp.Click(chromedp.CSS("#add-input")), chromedp.SendKeys(chromedp.CSS("#add-input"), strings.ToLower(prefix)))
		b.poll(name+": suggestions from the server", `[...document.querySelectorAll('#suggest li')].map(li => li.textContent).join(' ') === `+
			js(strings.Join(want, " ")), 5*time.Second)
		return want
	}

	// 1. Typing a prefix suggests from the server's search.
	want := suggest("type " + prefix)
	waitFrame(t, b, 0, "a search for "+prefix, func(f frame) bool {
		return f.sent && f.msg.Op == "search" && f.msg.Prefix != nil && *f.msg.Prefix == prefix
	})

	// 2. Enter adds the first suggestion.
	opt := want[0]
	b.step("pick "+opt, chromedp.SendKeys(chromedp.CSS("#add-input"), kb.Enter))
	b.poll(opt+" row", `!!document.querySelector('tr[data-symbol=`+js(opt)+`]')`, 5*time.Second)
	b.poll(opt+" stored", `localStorage.getItem('tickerd.watchlist.v1').includes(`+js(opt)+`)`, 5*time.Second)
	waitFrame(t, b, 0, "subscribed to "+opt, func(f frame) bool {
		return !f.sent && f.msg.Type == "subscribed" && slices.Contains(f.msg.Symbols, opt)
	})

	// 3. Delisting a watched symbol, quiet or streaming, takes its row away
	// and says so.
	for _, sym := range []string{opt, "META"} {
		m.delist(sym)
		b.poll(sym+" row gone", `!document.querySelector('tr[data-symbol=`+js(sym)+`]')`, 5*time.Second)
		b.poll(sym+" notice", `!document.querySelector('#notice').hidden && document.querySelector('#notice').textContent === `+
			js(sym+" was delisted and left the watchlist"), 2*time.Second)
		if strings.Contains(b.evalString(`localStorage.getItem('tickerd.watchlist.v1')`), `"`+sym+`"`) {
			t.Errorf("the stored watchlist still holds %s after its delisting", sym)
		}
	}
	watch = slices.DeleteFunc(watch, func(s string) bool { return s == "META" })
	if n := b.eval(`document.querySelectorAll('#rows tr').length`); n != float64(len(watch)) {
		t.Errorf("after the delistings the watchlist shows %v rows, want %d", n, len(watch))
	}

	// A suggestion the page was given is delisted, unknown to the page (it
	// did not watch it); step 5 looks for it again.
	want = suggest("type " + prefix + " again")
	b.step("close the suggestions", chromedp.SendKeys(chromedp.CSS("#add-input"), kb.Escape),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#add-input').value = ''`))
	m.delist(want[0])

	// 4. Live, AAPL streams at tens of updates a second; at 1/s every row
	// gets at most one a second, and the hot ones one each second.
	b.step("live a while", chromedp.Sleep(2*time.Second))
	req, reply := chooseRate(t, b, "1")
	if got := slices.Sorted(slices.Values(req.msg.Symbols)); !slices.Equal(got, slices.Sorted(slices.Values(watch))) {
		t.Errorf("the rate change subscribed %v, want the watchlist %v", got, watch)
	}
	if live := len(quoteTimes(b.frames.all(), "AAPL", req.at-2, req.at)); live < 20 {
		t.Errorf("live, AAPL got %d updates in the 2 s before the rate change, want dozens", live)
	}
	b.step("start counting repaints", chromedp.Sleep(500*time.Millisecond), chromedp.Evaluate[chromedp.Void](`(() => {
		window.seqChanges = {};
		new MutationObserver((ms) => { for (const m of ms) { const s = m.target.dataset.symbol; seqChanges[s] = (seqChanges[s] || 0) + 1; } })
			.observe(document.querySelector('#rows'), { subtree: true, attributes: true, attributeFilter: ['data-seq'] });
	})()`))
	const window = 5.0 // seconds at 1/s
	b.step("5 s at 1/s", chromedp.Sleep(time.Duration(window*float64(time.Second))))
	painted := b.evalString(`JSON.stringify(seqChanges)`)
	repaints := paintCounts(t, painted)
	b.step("the last frames", chromedp.Sleep(500*time.Millisecond))
	frames := b.frames.all()
	from := reply.at + 0.5
	var counts []string
	for _, sym := range watch {
		p := paceOf(quoteTimes(frames, sym, from, from+window))
		counts = append(counts, fmt.Sprintf("%s %s", sym, p))
		if p.n > 6 {
			t.Errorf("at 1/s %s got %s in %v s, want at most 6", sym, p, window)
		}
		if r := repaints[sym]; r > 6 {
			t.Errorf("at 1/s the row of %s was repainted %d times in %v s, want at most 6", sym, r, window)
		}
	}
	// The hottest symbols tick far faster than 1/s: they get one each
	// second, a second apart on average (±10%).
	for _, sym := range []string{"AAPL", "MSFT"} {
		if p := paceOf(quoteTimes(frames, sym, from, from+window)); p.n < 4 || p.mean < 0.9 || p.mean > 1.1 || p.min < 0.5 {
			t.Errorf("at 1/s %s got %s in %v s, want 5 ± 1 a second apart ± 10%%, none under 0.5 s", sym, p, window)
		}
	}
	t.Logf("updates in %v s at 1/s: %s; repaints %s", window, strings.Join(counts, ", "), painted)

	// Live again: the cap is gone.
	req, reply = chooseRate(t, b, "")
	if req.msg.MaxRate != 0 {
		t.Errorf("choosing live sent %s", req.text)
	}
	b.step("2 s live", chromedp.Sleep(2*time.Second))
	if n := len(quoteTimes(b.frames.all(), "AAPL", reply.at+0.5, reply.at+2)); n < 15 {
		t.Errorf("live again, AAPL got %d updates in 1.5 s, want dozens", n)
	}

	// 5. The feed restarts NVDA's seq space under a higher epoch: the row
	// takes the new space's lower seqs, and moves on in it.
	before := b.eval(rowSeq("NVDA"))
	if before < 10 {
		t.Fatalf("NVDA row at seq %v before the epoch rise", before)
	}
	if e := m.newEpoch("NVDA"); e != 1 {
		t.Fatalf("new epoch %d, want 1", e)
	}
	b.poll("NVDA in the new seq space", rowSeq("NVDA")+` > 0 && `+rowSeq("NVDA")+` < `+fmt.Sprint(before), 5*time.Second)
	restarted := b.eval(rowSeq("NVDA"))
	b.poll("NVDA moves on in it", rowSeq("NVDA")+` > `+fmt.Sprint(restarted)+` && `+rowSeq("NVDA")+` < `+fmt.Sprint(before), 5*time.Second)
	waitFrame(t, b, 0, "the reset of NVDA", func(f frame) bool {
		return !f.sent && f.text == `{"type":"reset","channel":"quotes","symbol":"NVDA","epoch":1}`
	})

	// 6. The suggestions are the server's of now: what was delisted since
	// the last search is not among them.
	suggest("type " + prefix + " after a delisting")

	for _, f := range b.frames.all() {
		if f.sent && f.msg.Op == "list" {
			t.Errorf("the page asked for the whole universe: %s", f.text)
		}
	}
	b.checkConsole()
}

// chooseRate picks value in the rate menu ("1": 1/s, "": live) and
// returns the subscribe it makes the page send, and the server's reply.
func chooseRate(t *testing.T, b *browser, value string) (req, reply frame) {
	t.Helper()
	skip := len(b.frames.all())
	b.step("choose rate "+js(value), chromedp.Evaluate[chromedp.Void](`(() => { const s = document.querySelector('#rate');
		s.value = `+js(value)+`; s.dispatchEvent(new Event('change', { bubbles: true })); })()`))
	req = waitFrame(t, b, skip, "the subscribe of rate "+js(value), func(f frame) bool {
		return f.sent && f.msg.Op == "subscribe"
	})
	reply = waitFrame(t, b, skip, "its reply", func(f frame) bool {
		return !f.sent && f.msg.Type == "subscribed" && f.msg.ID == req.msg.ID
	})
	return req, reply
}

// optionPrefix picks a prefix of AAPL's option contracts that more than
// a screenful of names share: the root and the expiry's year.
func optionPrefix(t *testing.T, names []string) string {
	t.Helper()
	i, _ := slices.BinarySearch(names, "AAPL0")
	if i == len(names) || !strings.HasPrefix(names[i], "AAPL") || len(names[i]) < len("AAPL")+6 {
		t.Fatalf("the universe has no option on AAPL (first name after AAPL: %q)", names[min(i, len(names)-1)])
	}
	prefix := names[i][:len("AAPL")+2]
	if j, _ := slices.BinarySearch(names, prefix+"~"); j-i < 3*suggestMax {
		t.Fatalf("only %d names start with %s", j-i, prefix)
	}
	return prefix
}

// waitFrame waits up to 5 s for a frame after the first skip that match
// accepts, and returns it.
func waitFrame(t *testing.T, b *browser, skip int, what string, match func(frame) bool) frame {
	t.Helper()
	var found frame
	if !testutil.Eventually(5*time.Second, func() bool {
		frames := b.frames.all()
		for _, f := range frames[min(skip, len(frames)):] {
			if match(f) {
				found = f
				return true
			}
		}
		return false
	}) {
		t.Fatalf("no WebSocket frame within 5 s: %s; the page sent:\n%s", what, sentFrames(b.frames.all()))
	}
	return found
}

// quoteTimes returns the times (browser clock, seconds) at which the page
// got a quote of sym between from and to.
func quoteTimes(frames []frame, sym string, from, to float64) []float64 {
	var out []float64
	for _, f := range frames {
		if !f.sent && f.at >= from && f.at < to && f.msg.Symbol == sym && (f.msg.Type == "tick" || f.msg.Type == "snapshot") {
			out = append(out, f.at)
		}
	}
	return out
}

// pace is the pace of a run of updates: their count, and the mean and
// shortest gap between them, in seconds. The server's grid of due times
// holds the mean to the period, whatever the jitter of single deliveries.
type pace struct {
	n         int
	mean, min float64
}

func paceOf(times []float64) pace {
	p := pace{n: len(times)}
	if len(times) < 2 {
		return p
	}
	p.mean = (times[len(times)-1] - times[0]) / float64(len(times)-1)
	p.min = times[1] - times[0]
	for i := 2; i < len(times); i++ {
		p.min = min(p.min, times[i]-times[i-1])
	}
	return p
}

func (p pace) String() string {
	return fmt.Sprintf("%d (mean gap %.3f s, shortest %.3f s)", p.n, p.mean, p.min)
}

// paintCounts decodes the repaint counts of each symbol, a JSON object.
func paintCounts(t *testing.T, counts string) map[string]int {
	t.Helper()
	var m map[string]int
	if err := json.Unmarshal([]byte(counts), &m); err != nil {
		t.Fatalf("repaint counts %s: %v", counts, err)
	}
	return m
}

// sentFrames lists the frames the page sent, for a failure message.
func sentFrames(frames []frame) string {
	var b strings.Builder
	for _, f := range frames {
		if f.sent {
			b.WriteString(f.text)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// TestDashboardListing: a symbol listed while the page is open, in a
// universe small enough for the page to hold every name, is suggested
// and can be added; its first quote shows.
func TestDashboardListing(t *testing.T) {
	b := openBrowser(t, 2*time.Minute)
	srv, m := serveMarket(t, 0)

	b.step("load", chromedp.Navigate("http://"+srv.Addr+"/"))
	b.poll("default watchlist has prices", priced(defaultWatchlist), 15*time.Second)
	b.poll("a small universe is held", `/^Add symbol \(\d+\)/.test(document.querySelector('#add-input').placeholder)`, 5*time.Second)

	const sym = "NEW-USD"
	m.list(feed.Symbol{Name: sym, Class: "crypto", PricePrec: 2, VolumePrec: 4, TickSize: decimal.New(1, -2)})
	b.step("type new", chromedp.Click(chromedp.CSS("#add-input")), chromedp.SendKeys(chromedp.CSS("#add-input"), "new-"))
	b.poll(sym+" suggested", `[...document.querySelectorAll('#suggest li')].some(li => li.textContent === `+js(sym)+`)`, 5*time.Second)
	b.step("pick "+sym, chromedp.SendKeys(chromedp.CSS("#add-input"), kb.Enter))
	b.poll(sym+" row", `!!document.querySelector('tr[data-symbol=`+js(sym)+`]')`, 5*time.Second)
	waitFrame(t, b, 0, "subscribed to "+sym, func(f frame) bool {
		return !f.sent && f.msg.Type == "subscribed" && slices.Contains(f.msg.Symbols, sym)
	})
	tk := testutil.Tick(sym, 1, "100.25")
	tk.Volume, tk.VolumePrec = decimal.New(5, 0), 4
	m.publish(tk)
	b.poll(sym+" shows its price", rowPrice(sym)+` === "100.25"`, 5*time.Second)
	if text := b.evalString(`document.querySelector('#notice').hidden ? '' : document.querySelector('#notice').textContent`); text != "" {
		t.Errorf("notice %q", text)
	}
	b.checkConsole()
}
