package web_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/gorilla/websocket"
	"github.com/tickerd/tickerd"
	"github.com/tickerd/tickerd/feed/sim"
	"github.com/tickerd/tickerd/hub"
	"github.com/tickerd/tickerd/internal/apptest"
)

// TestDashboardCompression runs the dashboard against a server that
// compresses (permessage-deflate) and one whose compression is off. With
// it, Chromium's handshake negotiates permessage-deflate with no context
// takeover either way, the server counts one compressing connection, and
// the header shows "deflate"; without it the handshake carries no
// extension and the header shows "plain". Either way the page shows live
// quotes, trades and a verified book, and a plain gorilla client on the
// same server gets byte for byte the messages the page got (the shared
// frames, inflated). With compression the 10/s rate choice then holds
// AAPL to ten updates a second (±10%) over 3 s while the plain client
// still gets every one.
func TestDashboardCompression(t *testing.T) {
	t.Run("deflate", func(t *testing.T) { testDashboardWire(t, true) })
	t.Run("plain", func(t *testing.T) { testDashboardWire(t, false) })
}

func testDashboardWire(t *testing.T, compress bool) {
	b := openBrowser(t, 2*time.Minute)
	var shakes syncLog[*network.WebSocketResponse]
	if err := chromedp.Listen(b.ctx, func(ev any) {
		if e, ok := ev.(*network.EventWebSocketHandshakeResponseReceived); ok && e.Response != nil {
			shakes.add(e.Response)
		}
	}); err != nil {
		t.Fatalf("listen to the tab's events: %v", err)
	}
	m := newMarketOf(t, sim.Config{Seed: 1})
	srv := apptest.Start(t, tickerd.Config{Feed: m, Hub: hub.Config{DisableCompression: !compress}})
	needChannels(t, srv.WS, "trades", "book")
	const sym = "AAPL"
	plain := dialPlain(t, srv.WS, sym)

	b.step("load", chromedp.Navigate("http://"+srv.Addr+"/"))
	b.poll("connection open", `document.querySelector('#state').dataset.state === 'open'`, 10*time.Second)
	b.poll("default watchlist has prices", priced(defaultWatchlist), 15*time.Second)
	b.step("select "+sym, chromedp.Click(chromedp.CSS(`tr[data-symbol=`+js(sym)+`] td.c-sym`)))
	b.poll("the tape shows trades", `document.querySelectorAll('#tape tr[data-seq]').length >= 5`, 10*time.Second)
	b.poll("the book is verified", bookVerified, 10*time.Second)

	// The handshake, as the browser saw it.
	hs := shakes.all()
	if len(hs) != 1 || hs[0].Status != 101 {
		t.Fatalf("the page's WebSocket handshakes: %+v, want one 101", hs)
	}
	offered, accepted := header(hs[0].RequestHeaders, "Sec-WebSocket-Extensions"), header(hs[0].Headers, "Sec-WebSocket-Extensions")
	t.Logf("Chromium offered %q; the server answered %q", offered, accepted)
	if offered != "" && !strings.Contains(offered, "permessage-deflate") {
		t.Errorf("Chromium offered %q, not permessage-deflate", offered)
	}
	wire := "plain"
	if compress {
		wire = "deflate"
		for _, p := range []string{"permessage-deflate", "server_no_context_takeover", "client_no_context_takeover"} {
			if !strings.Contains(accepted, p) {
				t.Errorf("the 101's Sec-WebSocket-Extensions %q lacks %s", accepted, p)
			}
		}
	} else if accepted != "" {
		t.Errorf("with compression off the 101 carries Sec-WebSocket-Extensions %q", accepted)
	}

	// What the server counts, and what the page shows.
	st := srv.Hub().Stats()
	if want := map[bool]int64{true: 1, false: 0}[compress]; st.CompressingConns != want || compressingMetric(t, srv.Addr) != want {
		t.Errorf("compressing connections: Stats %d, tickerd_compressing_connections %d; want %d (the page's only)",
			st.CompressingConns, compressingMetric(t, srv.Addr), want)
	}
	if compress != (st.CompressedFrames > 0) {
		t.Errorf("compress %v: the server compressed %d frames (%d bytes into %d)", compress, st.CompressedFrames, st.CompressedIn, st.CompressedOut)
	}
	t.Logf("the server compressed %d frames, %d bytes into %d", st.CompressedFrames, st.CompressedIn, st.CompressedOut)
	b.poll("the header shows "+wire, `document.querySelector('#stat-wire').dataset.wire === `+js(wire), 5*time.Second)
	if title := b.evalString(`document.querySelector('#stat-wire').title`); compress && title != "compressed: "+accepted {
		t.Errorf("the wire stat's title is %q, want the socket's extensions %q", title, accepted)
	} else if !compress && !strings.Contains(title, "compression is off") {
		t.Errorf("the wire stat's title is %q, want it to say the server's compression is off", title)
	}

	// The plain client got the same bytes for every message both got.
	b.step("both read a while", chromedp.Sleep(2*time.Second))
	page := map[string]string{}
	for _, f := range b.frames.all() {
		if !f.sent && f.msg.Symbol == sym {
			page[msgKey(f.msg)] = f.text
		}
	}
	same := map[string]int{}
	for _, f := range plain.all() {
		k := msgKey(f.msg)
		text, ok := page[k]
		if !ok {
			continue
		}
		if text != f.text {
			t.Errorf("%s differs:\nthe page got  %s\nplain got     %s", k, text, f.text)
		}
		same[f.msg.Type]++
	}
	t.Logf("messages about %s both got, byte for byte equal: %v", sym, same)
	for _, typ := range []string{"tick", "trade", "book"} {
		if same[typ] < 5 {
			t.Errorf("the page and the plain client got %d %s messages in common, want at least 5", same[typ], typ)
		}
	}

	if compress {
		// 10/s holds the page's AAPL to ten updates a second; the plain
		// client's connection is not held.
		skip := len(plain.all())
		_, reply := chooseRate(t, b, "10")
		from := reply.at + 0.5
		const window = 3.0
		b.step("3 s at 10/s", chromedp.Sleep(time.Duration((0.5+window)*float64(time.Second))))
		// The browser reports frames a moment after it got them.
		waitFor(t, "the frames of the 3 s", func() bool {
			frames := b.frames.all()
			return frames[len(frames)-1].at >= from+window
		})
		times := quoteTimes(b.frames.all(), sym, from, from+window)
		p := paceOf(times)
		if p.n < 27 || p.n > 33 || p.mean < 0.09 || p.mean > 0.11 {
			t.Errorf("at 10/s %s got %s in %v s, want 30 ± 3, 0.1 s apart ± 10%%; at %v s after the window began",
				sym, p, window, relTimes(times, from))
		}
		ticks := 0
		for _, f := range plain.all()[skip:] {
			if f.msg.Type == "tick" && f.msg.Symbol == sym {
				ticks++
			}
		}
		if ticks < 2*p.n {
			t.Errorf("meanwhile the plain client got %d ticks of %s, want it not held to 10/s", ticks, sym)
		}
		t.Logf("at 10/s %s got %s in %v s; the plain client %d meanwhile", sym, p, window, ticks)
	}
	if errs := b.console.errors(); len(errs) > 0 {
		t.Errorf("the page logged errors:\n%s", strings.Join(errs, "\n"))
	}
}

// msgKey names a server message by what makes it one shared frame.
func msgKey(m wireMsg) string {
	return fmt.Sprintf("%s %s seq %d snapshot %t replay %t", m.Type, m.Symbol, m.Seq, m.Snapshot, m.Replay)
}

// header returns the value of the header name in h, whatever its case.
func header(h network.Headers, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			s, _ := v.(string)
			return s
		}
	}
	return ""
}

// compressingMetric reads tickerd_compressing_connections from the
// server's /metrics.
func compressingMetric(t *testing.T, addr string) int64 {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "tickerd_compressing_connections "); ok {
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("tickerd_compressing_connections %q: %v", v, err)
			}
			return int64(n)
		}
	}
	t.Fatalf("no tickerd_compressing_connections in /metrics (%v)", sc.Err())
	return 0
}

// dialPlain connects a gorilla client that does not offer compression,
// subscribed to the quotes, trades and book (depth 10) of sym, and returns
// the log of its text messages, which its reader goroutine keeps until
// the end of the test.
func dialPlain(t *testing.T, ws, sym string) *frameLog {
	t.Helper()
	d := *websocket.DefaultDialer
	d.EnableCompression = false
	c, resp, err := d.Dial(ws, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", ws, err)
	}
	if ext := resp.Header.Get("Sec-WebSocket-Extensions"); ext != "" {
		t.Errorf("a client that offered no extension was answered %q", ext)
	}
	p := &frameLog{}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		c.Close()
		wg.Wait()
	})
	for i, sub := range []string{
		`{"op":"subscribe","symbols":[%q],"id":%d}`,
		`{"op":"subscribe","channel":"trades","symbols":[%q],"id":%d}`,
		`{"op":"subscribe","channel":"book","symbols":[%q],"depth":10,"id":%d}`,
	} {
		if err := c.WriteMessage(websocket.TextMessage, fmt.Appendf(nil, sub, sym, i+1)); err != nil {
			t.Fatalf("subscribe: %v", err)
		}
	}
	wg.Go(func() {
		for {
			typ, data, err := c.ReadMessage()
			if err != nil {
				return
			}
			if typ != websocket.TextMessage {
				continue
			}
			f := frame{text: string(data)}
			_ = json.Unmarshal(data, &f.msg)
			p.add(f)
		}
	})
	return p
}

// relTimes returns times as seconds after from, for a failure message.
func relTimes(times []float64, from float64) string {
	var b strings.Builder
	for _, at := range times {
		fmt.Fprintf(&b, " %.2f", at-from)
	}
	return b.String()
}
