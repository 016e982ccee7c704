package web_test

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/tickerd/tickerd"
	"github.com/tickerd/tickerd/internal/apptest"
	"github.com/tickerd/tickerd/internal/testutil"
)

// defaultWatchlist is what a first visit shows (app.js DEFAULT_WATCHLIST).
var defaultWatchlist = []string{"AAPL", "MSFT", "NVDA", "TSLA", "AMZN", "GOOGL", "META", "BTC-USD", "ETH-USD", "EUR/USD"}

// listenAgain binds addr again after a server on it stopped.
func listenAgain(t *testing.T, addr string) net.Listener {
	t.Helper()
	var ln net.Listener
	var err error
	if !testutil.Eventually(5*time.Second, func() bool { ln, err = net.Listen("tcp", addr); return err == nil }) {
		t.Fatalf("listen %s again: %v", addr, err)
	}
	return ln
}

// js quotes s as a JavaScript string literal.
func js(s string) string { return fmt.Sprintf("%q", s) }

// rowSeq is the seq the row of sym shows, or 0.
func rowSeq(sym string) string {
	return `(() => { const tr = document.querySelector('tr[data-symbol=' + JSON.stringify(` + js(sym) + `) + ']');
		return tr && tr.dataset.seq ? Number(tr.dataset.seq) : 0; })()`
}

func rowPrice(sym string) string {
	return `(() => { const tr = document.querySelector('tr[data-symbol=' + JSON.stringify(` + js(sym) + `) + ']');
		return tr ? tr.querySelector('td.c-last').textContent : ''; })()`
}

// priced is true when the row of each of syms shows a price.
func priced(syms []string) string {
	var all []string
	for _, sym := range syms {
		all = append(all, rowSeq(sym)+` > 0 && /^\d+\.\d+$/.test(`+rowPrice(sym)+`)`)
	}
	return strings.Join(all, " && ")
}

func TestDashboardE2E(t *testing.T) {
	b := openBrowser(t, 3*time.Minute)

	srv := apptest.Start(t, tickerd.Config{})
	addr := srv.Addr

	shots := os.Getenv("TICKERD_SCREENSHOT")
	if shots == "" {
		shots = filepath.Join(t.TempDir(), "dashboard.png")
	}
	step, poll, eval, evalString := b.step, b.poll, b.eval, b.evalString

	// 1. Load: the default watchlist of a first visit streams prices.
	step("load", chromedp.Navigate("http://"+addr+"/"))
	poll("connection open", `document.querySelector('#state').dataset.state === 'open'`, 10*time.Second)
	poll("default watchlist has prices", priced(defaultWatchlist), 15*time.Second)
	if n := eval(`document.querySelectorAll('#rows tr').length`); n != float64(len(defaultWatchlist)) {
		t.Errorf("first visit shows %v rows, want %d", n, len(defaultWatchlist))
	}

	// 2. Add JPM by typing, with completion from the symbol list.
	step("type JP", chromedp.Click(chromedp.CSS("#add-input")), chromedp.SendKeys(chromedp.CSS("#add-input"), "jp"))
	poll("JPM suggested", `[...document.querySelectorAll('#suggest li')].some(li => li.textContent === 'JPM')`, 5*time.Second)
	step("pick JPM", chromedp.SendKeys(chromedp.CSS("#add-input"), "m"+kb.Enter))
	poll("JPM row has a price", rowSeq("JPM")+` > 0`, 10*time.Second)
	seq0 := eval(rowSeq("JPM"))
	price0 := evalString(rowPrice("JPM"))
	poll("JPM price changes", rowSeq("JPM")+` > `+fmt.Sprint(seq0)+` && `+rowPrice("JPM")+` !== `+js(price0), 30*time.Second)
	if !strings.Contains(evalString(`localStorage.getItem('tickerd.watchlist.v1') || ''`), `"JPM"`) {
		t.Errorf("watchlist in localStorage does not hold JPM after adding it")
	}

	// 3. The watchlist survives a reload.
	step("reload", chromedp.Reload())
	poll("JPM back after reload", rowSeq("JPM")+` > 0 && `+rowSeq("AAPL")+` > 0`, 15*time.Second)

	// 4. Let history build up on the chart of AAPL, then take the picture.
	step("select AAPL", chromedp.Click(chromedp.CSS(`tr[data-symbol="AAPL"] td.c-sym`)))
	poll("AAPL selected", `document.querySelector('#d-sym').textContent === 'AAPL'`, 5*time.Second)
	step("collect history", chromedp.Sleep(12*time.Second))
	b.screenshot(shots)

	// 5. Stop the server: the page notices and keeps trying.
	srv.Stop()
	if err, ok := srv.Wait(15 * time.Second); !ok {
		t.Fatal("Serve did not return 15 s after its context ended")
	} else if err != nil {
		t.Errorf("Serve: %v", err)
	}
	poll("state reconnecting", `document.querySelector('#state').dataset.state === 'reconnecting'`, 10*time.Second)
	step("stay down a moment", chromedp.Sleep(1500*time.Millisecond))
	if st := evalString(`document.querySelector('#state').dataset.state`); st != "reconnecting" {
		t.Errorf("state with the server down = %q, want reconnecting", st)
	}

	// 6. Restart on the same port: the page reconnects, resubscribes and moves again.
	apptest.StartOn(t, listenAgain(t, addr), tickerd.Config{})
	poll("state open again", `document.querySelector('#state').dataset.state === 'open'`, 20*time.Second)
	for _, sym := range []string{"AAPL", "JPM"} {
		// The new server's seqs start over; a row that moves shows a seq it
		// did not show a moment ago.
		s0 := eval(rowSeq(sym))
		poll(sym+" moves after restart", rowSeq(sym)+` !== `+fmt.Sprint(s0), 30*time.Second)
		s1 := eval(rowSeq(sym))
		poll(sym+" keeps moving", rowSeq(sym)+` !== `+fmt.Sprint(s1), 30*time.Second)
	}

	// 7. Hide the tab behind another one: painting stops (the client keeps
	// its model current). Show it again: the fresh state is there at once.
	tab2, closeTab2 := chromedp.NewContext(b.ctx, chromedp.WithNewWindow(false))
	if err := chromedp.Do(tab2, chromedp.Navigate("about:blank")); err != nil {
		closeTab2()
		t.Fatalf("open a second tab: %v", err)
	}
	poll("page hidden", `document.hidden`, 5*time.Second)
	hidden := eval(rowSeq("AAPL"))
	step("hidden a while", chromedp.Sleep(time.Second))
	if s := eval(rowSeq("AAPL")); s != hidden {
		t.Errorf("hidden tab repainted: AAPL seq %v, then %v", hidden, s)
	}
	closeTab2()
	poll("page shown with fresh prices", `!document.hidden && `+rowSeq("AAPL")+` > `+fmt.Sprint(hidden), 2*time.Second)

	// 8. Remove JPM with its × button.
	step("remove JPM", chromedp.Click(chromedp.CSS(`tr[data-symbol="JPM"] button.rm`)))
	poll("JPM row gone", `!document.querySelector('tr[data-symbol="JPM"]')`, 5*time.Second)
	if strings.Contains(evalString(`localStorage.getItem('tickerd.watchlist.v1') || ''`), `"JPM"`) {
		t.Errorf("watchlist in localStorage still holds JPM after removing it")
	}

	// 9. A phone: nothing scrolls sideways and prices still show.
	step("phone viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulatePortrait))
	step("settle", chromedp.Sleep(1500*time.Millisecond))
	if w := eval(`document.documentElement.scrollWidth - window.innerWidth`); w > 0 {
		t.Errorf("at 390 px the page is %v px wider than the screen", w)
	}
	if visible := eval(`[...document.querySelectorAll('#rows tr td.c-last')].filter(td => td.getBoundingClientRect().width > 0).length`); visible != float64(len(defaultWatchlist)) {
		t.Errorf("at 390 px %v rows show a price, want %d", visible, len(defaultWatchlist))
	}
	b.screenshot(strings.TrimSuffix(shots, ".png") + "-phone.png")

	b.checkConsole()
}
