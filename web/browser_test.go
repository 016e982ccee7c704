package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// findChromium returns the browser to drive, or skips the test with the
// reason. With TICKERD_REQUIRE_BROWSER=1 (CI) a missing browser fails.
func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	missing(t, "TICKERD_REQUIRE_BROWSER", "no chromium, chromium-browser or google-chrome on PATH; install it (apt-get install -y chromium) to run the browser test")
	return ""
}

// missing skips the test for want of what msg names, or fails it when the
// environment variable require is "1" (CI, where it must be there).
func missing(t *testing.T, require, msg string) {
	t.Helper()
	if os.Getenv(require) == "1" {
		t.Fatal(msg + " (" + require + "=1)")
	}
	t.Skip(msg)
}

// browser is one Chromium tab driven through chromedp, for the dashboard's
// tests. It keeps the page's console, logged if the test fails, and the
// WebSocket frames the page sends and gets. Its methods stop the test on
// error; call them from the test's goroutine.
//
//	b := openBrowser(t, 3*time.Minute)
//	b.step("load", chromedp.Navigate(url))
//	b.poll("open", `document.querySelector('#state').dataset.state === 'open'`, 10*time.Second)
type browser struct {
	t       *testing.T
	ctx     context.Context
	console consoleLog
	frames  frameLog
}

// openBrowser starts Chromium (or skips the test without it) with a tab
// that lives until the end of the test or timeout.
func openBrowser(t *testing.T, timeout time.Duration) *browser {
	t.Helper()
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	chrome := findChromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chrome),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1440, 900),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancelBrowser := chromedp.NewContext(allocCtx)
	b := &browser{t: t, ctx: bctx}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
		cancel()
		wg.Wait()
		if t.Failed() {
			t.Logf("browser console:\n%s", strings.Join(b.console.lines(), "\n"))
		}
	})
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start %s: %v", chrome, err)
	}
	msgs := chromedp.Console(bctx)
	wg.Go(func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			b.console.add(m)
		}
	})
	if err := chromedp.Listen(bctx, b.frames.take); err != nil {
		t.Fatalf("listen to the tab's events: %v", err)
	}
	return b
}

// step runs actions and stops the test with the step's name on error.
func (b *browser) step(name string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", name, err)
	}
}

// poll waits until the JavaScript expression expr is true.
func (b *browser) poll(name, expr string, timeout time.Duration) {
	b.t.Helper()
	b.step(name, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(timeout), chromedp.WithPollingInterval(50*time.Millisecond)))
}

// eval returns the number expr evaluates to.
func (b *browser) eval(expr string) float64 {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[float64](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// evalString returns the string expr evaluates to.
func (b *browser) evalString(expr string) string {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// screenshot saves the tab as a PNG at path.
func (b *browser) screenshot(path string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot: %s", path)
}

// checkConsole fails the test if the page logged an error
// (consoleLog.errors).
func (b *browser) checkConsole() {
	b.t.Helper()
	if errs := b.console.errors(); len(errs) > 0 {
		b.t.Errorf("the page logged errors:\n%s", strings.Join(errs, "\n"))
	}
}

// syncLog is a list that one goroutine appends to while another reads it.
type syncLog[T any] struct {
	mu    sync.Mutex
	items []T
}

func (l *syncLog[T]) add(v T) {
	l.mu.Lock()
	l.items = append(l.items, v)
	l.mu.Unlock()
}

// all returns a copy of the items so far, oldest first.
func (l *syncLog[T]) all() []T {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]T(nil), l.items...)
}

// consoleLog collects the page's console messages; the reader goroutine
// adds, the test reads.
type consoleLog struct {
	syncLog[chromedp.ConsoleMessage]
}

func (c *consoleLog) lines() []string {
	var out []string
	for _, m := range c.all() {
		out = append(out, fmt.Sprintf("%s: %s", m.Type, m.Text))
	}
	return out
}

// errors returns the exceptions and errors, except the failed WebSocket
// connects and fetches that a server restart causes on purpose.
func (c *consoleLog) errors() []string {
	var out []string
	for _, m := range c.all() {
		if m.Type != chromedp.ConsoleException && m.Type != chromedp.ConsoleError {
			continue
		}
		if strings.Contains(m.Text, "WebSocket") || strings.Contains(m.Text, "ERR_CONNECTION_REFUSED") {
			continue
		}
		out = append(out, fmt.Sprintf("%s: %s", m.Type, m.Text))
	}
	return out
}

// frame is one WebSocket message of the page, as the browser reports it.
type frame struct {
	sent bool    // by the page; false: from the server
	at   float64 // the browser's monotonic clock, in seconds
	msg  wireMsg
	text string
}

// wireMsg holds the fields of a message, either way, that the tests read.
type wireMsg struct {
	Op       string            `json:"op"`
	Type     string            `json:"type"`
	ID       int64             `json:"id"`
	Channel  string            `json:"channel"`
	Symbol   string            `json:"symbol"`
	Symbols  []string          `json:"symbols"`
	Prefix   *string           `json:"prefix"`
	MaxRate  float64           `json:"max_rate"`
	More     bool              `json:"more"`
	Since    map[string]uint64 `json:"since"`
	Interval string            `json:"interval"`
	Seq      uint64            `json:"seq"`
	PrevSeq  uint64            `json:"prev_seq"`
	Snapshot bool              `json:"snapshot"`
	Replay   bool              `json:"replay"`
	TS       int64             `json:"ts"`
	Price    string            `json:"price"`
	Size     string            `json:"size"`
	Side     string            `json:"side"`
	Start    int64             `json:"start"`
	Open     string            `json:"open"`
	High     string            `json:"high"`
	Low      string            `json:"low"`
	Close    string            `json:"close"`
	Volume   string            `json:"volume"`
	Trades   int               `json:"trades"`
	Closed   bool              `json:"closed"`
}

// frameLog collects the WebSocket frames of the tab. take is called on the
// tab's event loop (chromedp.Listen): it only appends.
type frameLog struct{ syncLog[frame] }

func (l *frameLog) take(ev any) {
	var f frame
	var data *network.WebSocketFrame
	switch e := ev.(type) {
	case *network.EventWebSocketFrameSent:
		f.sent, f.at, data = true, e.Timestamp.Float64(), e.Response
	case *network.EventWebSocketFrameReceived:
		f.at, data = e.Timestamp.Float64(), e.Response
	default:
		return
	}
	if data == nil || data.Opcode != 1 {
		return
	}
	f.text = string(data.PayloadData)
	_ = json.Unmarshal(data.PayloadData, &f.msg) // one that does not parse keeps its text
	l.add(f)
}
