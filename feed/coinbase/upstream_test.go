package coinbase

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/protocol"
)

// upstream is a fake Coinbase Exchange feed on 127.0.0.1: a real WebSocket
// server that expects the documented subscribe message, answers with a
// "subscriptions" message, and then sends whatever the test tells it to.
type upstream struct {
	t     *testing.T
	srv   *httptest.Server
	conns chan *upConn  // one per accepted, subscribed connection
	done  chan struct{} // closed at cleanup
	beat  time.Duration // heartbeat interval; 0: the test sends its own
}

// upConn is one connection to the fake upstream. The test goroutine writes
// to it; the server's handler goroutine reads.
type upConn struct {
	t      *testing.T
	ws     *websocket.Conn
	first  subscription      // the subscribe that opened the session
	subs   chan subscription // later subscribe/unsubscribe messages
	closed chan struct{}     // closed when the client has gone
	stall  chan struct{}     // closed to stop the heartbeats
	pongs  chan string       // payloads of the pongs received

	mu        sync.Mutex       // serializes writes
	lastTrade map[string]int64 // per product, the last trade_id sent
}

func newUpstream(t *testing.T) *upstream { return newUpstreamBeating(t, 0) }

// newUpstreamBeating is newUpstream with heartbeats every beat, like the
// real feed's every second, naming the last trade sent, until Stall.
func newUpstreamBeating(t *testing.T, beat time.Duration) *upstream {
	u := &upstream{t: t, conns: make(chan *upConn, 16), done: make(chan struct{}), beat: beat}
	var wg sync.WaitGroup
	up := websocket.Upgrader{}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		wg.Add(1)
		defer wg.Done()
		defer ws.Close()
		// Coinbase disconnects clients that do not subscribe within 5s.
		ws.SetReadDeadline(time.Now().Add(5 * time.Second))
		var first subscription
		if err := ws.ReadJSON(&first); err != nil || first.Type != "subscribe" {
			t.Errorf("upstream: first message %+v, %v; want a subscribe", first, err)
			return
		}
		ws.SetReadDeadline(time.Time{})
		c := &upConn{t: t, ws: ws, first: first, subs: make(chan subscription, 16),
			closed: make(chan struct{}), stall: make(chan struct{}), pongs: make(chan string, 16), lastTrade: map[string]int64{}}
		ws.SetPongHandler(func(p string) error {
			c.pongs <- p
			return nil
		})
		reply := `{"type":"subscriptions","channels":` + mustJSON(t, first.Channels) + `}`
		c.send(reply)
		select {
		case u.conns <- c:
		case <-u.done:
			return
		}
		defer close(c.closed)
		if u.beat > 0 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c.heartbeats(u.beat)
			}()
		}
		for {
			var s subscription
			if err := ws.ReadJSON(&s); err != nil {
				return
			}
			c.subs <- s
		}
	}))
	t.Cleanup(func() {
		close(u.done)
		u.srv.CloseClientConnections()
		u.srv.Close()
		wg.Wait()
	})
	return u
}

// url is the ws:// address of the fake upstream.
func (u *upstream) url() string { return "ws" + strings.TrimPrefix(u.srv.URL, "http") }

// next waits for the next subscribed connection.
func (u *upstream) next() *upConn {
	u.t.Helper()
	select {
	case c := <-u.conns:
		return c
	case <-time.After(20 * time.Second):
		u.t.Fatal("upstream: no connection within 20s")
		return nil
	}
}

func (c *upConn) send(msgs ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range msgs {
		var tk struct {
			ProductID string `json:"product_id"`
			TradeID   int64  `json:"trade_id"`
		}
		if json.Unmarshal([]byte(m), &tk) == nil && tk.TradeID > 0 {
			c.lastTrade[tk.ProductID] = max(c.lastTrade[tk.ProductID], tk.TradeID)
		}
		if err := c.ws.WriteMessage(websocket.TextMessage, []byte(m)); err != nil {
			c.t.Logf("upstream: write: %v", err)
			return
		}
	}
}

// sendFragmented sends msg, longer than the write buffer, as a message of
// several frames, with a ping carrying payload after the first one.
func (c *upConn) sendFragmented(msg, payload string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	w, err := c.ws.NextWriter(websocket.TextMessage)
	if err != nil {
		c.t.Fatal(err)
	}
	half := len(msg) / 2 // over the 4 KiB buffer: a frame is written
	io.WriteString(w, msg[:half])
	if err := c.ws.WriteControl(websocket.PingMessage, []byte(payload), time.Now().Add(5*time.Second)); err != nil {
		c.t.Fatal(err)
	}
	io.WriteString(w, msg[half:])
	if err := w.Close(); err != nil {
		c.t.Fatal(err)
	}
}

// closeWith sends a close frame with code, as the real feed does before
// maintenance.
func (c *upConn) closeWith(code int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, "maintenance"), time.Now().Add(5*time.Second))
}

// heartbeats sends a heartbeat per subscribed product every beat, naming
// the last trade sent, until the client leaves or the test stalls c.
func (c *upConn) heartbeats(beat time.Duration) {
	tick := time.NewTicker(beat)
	defer tick.Stop()
	for {
		select {
		case <-c.closed:
			return
		case <-c.stall:
			return
		case <-tick.C:
		}
		for _, ch := range c.first.Channels {
			if ch.Name != "heartbeat" {
				continue
			}
			for _, p := range ch.ProductIDs {
				c.mu.Lock()
				last := c.lastTrade[p]
				c.mu.Unlock()
				c.send(heartbeat(p, last))
			}
		}
	}
}

// stallNow stops the heartbeats: the connection stays open and silent.
func (c *upConn) stallNow() { close(c.stall) }

// drop closes the TCP connection without a WebSocket close handshake.
func (c *upConn) drop() { c.ws.UnderlyingConn().Close() }

// waitClosed waits until the client has left this connection.
func (c *upConn) waitClosed() {
	c.t.Helper()
	select {
	case <-c.closed:
	case <-time.After(20 * time.Second):
		c.t.Fatal("upstream: the client did not leave the connection within 20s")
	}
}

func (c *upConn) nextSub() subscription {
	c.t.Helper()
	select {
	case s := <-c.subs:
		return s
	case <-time.After(20 * time.Second):
		c.t.Fatal("upstream: no subscription message within 20s")
		return subscription{}
	}
}

func mustJSON(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// sample holds testdata/upstream.ndjson: messages in the documented format.
type sample struct {
	tickers    []string            // ticker messages, in order
	byProduct  map[string][]string // ticker messages per product
	heartbeats []string
}

func loadSample(t *testing.T) sample {
	f, err := os.Open("testdata/upstream.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := sample{byProduct: map[string][]string{}}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m message
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("testdata: %v", err)
		}
		switch m.Type {
		case "ticker":
			s.tickers = append(s.tickers, sc.Text())
			s.byProduct[m.ProductID] = append(s.byProduct[m.ProductID], sc.Text())
		case "heartbeat":
			s.heartbeats = append(s.heartbeats, sc.Text())
		}
	}
	if len(s.tickers) < 20 || len(s.heartbeats) == 0 {
		t.Fatalf("testdata: %d tickers, %d heartbeats", len(s.tickers), len(s.heartbeats))
	}
	return s
}

// heartbeat is a heartbeat message in the documented format.
func heartbeat(product string, lastTradeID int64) string {
	return fmt.Sprintf(`{"type":"heartbeat","sequence":1,"last_trade_id":%d,"product_id":%q,"time":"2025-11-21T14:30:09.000000Z"}`, lastTradeID, product)
}

func field(t *testing.T, msg, name string) any {
	var m map[string]any
	d := json.NewDecoder(strings.NewReader(msg))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m[name]
}

// pad writes a decimal string with exactly prec decimals, as text.
func pad(s string, prec int) string {
	whole, frac, _ := strings.Cut(s, ".")
	frac += strings.Repeat("0", max(0, prec-len(frac)))
	if prec == 0 {
		return whole
	}
	return whole + "." + frac
}

// wantTick is the tick a ticker message must become, computed with string
// operations only (independently of the decimal library).
func wantTick(t *testing.T, msg string, symbol string, seq uint64, pricePrec, volPrec int) string {
	s := func(name string) string { return field(t, msg, name).(string) }
	tm, err := time.Parse(time.RFC3339Nano, s("time"))
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf(`{"type":"tick","symbol":%q,"seq":%d,"price":"%s","bid":"%s","ask":"%s","open":"%s","high":"%s","low":"%s","volume":"%s","ts":%d}`,
		symbol, seq, pad(s("price"), pricePrec), pad(s("best_bid"), pricePrec), pad(s("best_ask"), pricePrec),
		pad(s("open_24h"), pricePrec), pad(s("high_24h"), pricePrec), pad(s("low_24h"), pricePrec),
		pad(s("volume_24h"), volPrec), tm.UnixNano())
}

// sink collects what the feed publishes: ticks encoded, trades and book
// updates copied.
type sink struct {
	ticks  chan string
	trades chan protocol.Trade
	books  chan protocol.BookUpdate
}

func newSink() sink {
	return sink{ticks: make(chan string, 1024), trades: make(chan protocol.Trade, 1024), books: make(chan protocol.BookUpdate, 1024)}
}

func (s sink) Publish(t *protocol.Tick)       { s.ticks <- string(protocol.AppendTick(nil, t)) }
func (s sink) PublishTrade(t *protocol.Trade) { s.trades <- *t }
func (s sink) PublishBook(b *protocol.BookUpdate) {
	c := *b
	c.Bids, c.Asks = slices.Clone(b.Bids), slices.Clone(b.Asks)
	s.books <- c
}
func (sink) PublishCandle(*protocol.Candle) {}
func (sink) List([]feed.Symbol)             {}
func (sink) Delist([]string)                {}

// next waits for the next tick.
func (s sink) next(t *testing.T) string { t.Helper(); return receive(t, s.ticks, "tick") }

// nextTrade waits for the next trade.
func (s sink) nextTrade(t *testing.T) protocol.Trade {
	t.Helper()
	return receive(t, s.trades, "trade")
}

// nextBook waits for the next book update.
func (s sink) nextBook(t *testing.T) protocol.BookUpdate {
	t.Helper()
	return receive(t, s.books, "book update")
}

// none checks that nothing more was published. Call it after something
// the feed published later than what must not have been.
func (s sink) none(t *testing.T) {
	t.Helper()
	select {
	case x := <-s.ticks:
		t.Errorf("unexpected tick %s", x)
	case x := <-s.trades:
		t.Errorf("unexpected trade %+v", x)
	case x := <-s.books:
		t.Errorf("unexpected book update %+v", x)
	default:
	}
}

func receive[T any](t *testing.T, c chan T, what string) T {
	t.Helper()
	select {
	case x := <-c:
		return x
	case <-time.After(20 * time.Second):
		t.Fatalf("no %s published within 20s", what)
		var zero T
		return zero
	}
}

// lines returns the lines of testdata/name: messages in the documented
// format, one per line.
func lines(t testing.TB, name string) []string {
	data, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(data)), "\n")
}

// byProduct returns the messages of msgs about product, in order.
func byProduct(t *testing.T, msgs []string, product string) []string {
	var out []string
	for _, m := range msgs {
		if field(t, m, "product_id") == product {
			out = append(out, m)
		}
	}
	return out
}

// matchMsg is a trade on the matches channel in the documented format;
// typ is "match" or "last_match", side the maker's side.
func matchMsg(typ, product string, tradeID int64, price, size, side string) string {
	return fmt.Sprintf(`{"type":%q,"trade_id":%d,"maker_order_id":"ac928c66-ca53-498f-9c13-a110027a60e8","taker_order_id":"132fb6ae-456b-4654-b4e0-d681ac05cea1","side":%q,"size":%q,"price":%q,"product_id":%q,"sequence":%d,"time":"2025-11-21T14:30:05.000001Z"}`,
		typ, tradeID, side, size, price, product, 90000000000+tradeID)
}

// snapshotMsg is a level2 snapshot in the documented format; bids and asks
// alternate price and size.
func snapshotMsg(product string, bids, asks []string) string {
	return fmt.Sprintf(`{"type":"snapshot","product_id":%q,"bids":%s,"asks":%s}`, product, pairs(bids, 2), pairs(asks, 2))
}

// l2updateMsg is a level2 update in the documented format; changes are
// side, price, size triples.
func l2updateMsg(product string, changes ...string) string {
	return fmt.Sprintf(`{"type":"l2update","product_id":%q,"changes":%s,"time":"2025-11-21T14:30:05.000002Z"}`, product, pairs(changes, 3))
}

// pairs writes flat as a JSON array of arrays of n strings.
func pairs(flat []string, n int) string {
	var b strings.Builder
	b.WriteByte('[')
	for i := 0; i < len(flat); i += n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('[')
		for j, s := range flat[i : i+n] {
			if j > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "%q", s)
		}
		b.WriteByte(']')
	}
	b.WriteByte(']')
	return b.String()
}

// fixed converts a decimal string to fixed point at prec places with
// string operations only, independently of protocol.ParseFixed.
func fixed(t *testing.T, s string, prec int) int64 {
	t.Helper()
	whole, frac, _ := strings.Cut(s, ".")
	if len(frac) > prec {
		if strings.Trim(frac[prec:], "0") != "" {
			t.Fatalf("fixed(%q, %d): more decimals than that", s, prec)
		}
		frac = frac[:prec]
	}
	n, err := strconv.ParseInt(whole+frac+strings.Repeat("0", prec-len(frac)), 10, 64)
	if err != nil {
		t.Fatalf("fixed(%q, %d): %v", s, prec, err)
	}
	return n
}
