package coinbase

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
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
			closed: make(chan struct{}), stall: make(chan struct{}), lastTrade: map[string]int64{}}
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

// sink collects published ticks, encoded.
type sink chan string

func (s sink) Publish(t *protocol.Tick)       { s <- string(protocol.AppendTick(nil, t)) }
func (sink) PublishTrade(*protocol.Trade)     {}
func (sink) PublishBook(*protocol.BookUpdate) {}
func (sink) PublishCandle(*protocol.Candle)   {}
func (sink) List([]feed.Symbol)               {}
func (sink) Delist([]string)                  {}

func (s sink) next(t *testing.T) string {
	t.Helper()
	select {
	case m := <-s:
		return m
	case <-time.After(20 * time.Second):
		t.Fatal("no tick published within 20s")
		return ""
	}
}

// syncBuffer is a log destination safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
