package coinbase_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/tickerd/tickerd"
	"github.com/tickerd/tickerd/feed/coinbase"
	"github.com/tickerd/tickerd/internal/apptest"
)

// TestServeThroughUpstreamTrouble runs a whole tickerd server on the
// Coinbase feed, against the fake upstream, with one WebSocket client. The
// upstream drops the connection, sends garbage and stalls; the client's
// connection stays up and its ticks continue with seq +1 each time.
func TestServeThroughUpstreamTrouble(t *testing.T) {
	u := coinbase.NewUpstreamBeating(t, 50*time.Millisecond)
	sm := coinbase.LoadSample(t)
	btc := sm.ByProduct("BTC-USD")
	f, err := coinbase.New(coinbase.Config{
		URL:         u.URL(),
		Products:    []coinbase.Product{{ID: "BTC-USD"}, {ID: "ETH-USD"}},
		OnDemand:    true,
		IdleTimeout: 300 * time.Millisecond,
		MinBackoff:  10 * time.Millisecond,
		MaxBackoff:  50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	addr := apptest.Serve(t, tickerd.Config{Feed: f, DrainWindow: -1, Logger: slog.New(slog.DiscardHandler)})

	c1 := u.Next()
	if got := coinbase.Channels(c1.First()); got != "subscribe heartbeat[BTC-USD ETH-USD]" {
		t.Errorf("first subscribe = %s, want heartbeats only (OnDemand)", got)
	}

	ws, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/ws?symbols=BTC-USD", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	// The hub tells the feed that BTC-USD is watched; it subscribes upstream.
	if got, want := coinbase.Channels(c1.NextSub()), "subscribe ticker[BTC-USD] matches[BTC-USD] level2_batch[BTC-USD]"; got != want {
		t.Errorf("after a client subscribed: %s, want %s", got, want)
	}

	wantSeq := uint64(0)
	expect := func(what string) {
		t.Helper()
		wantSeq++
		for {
			ws.SetReadDeadline(time.Now().Add(20 * time.Second))
			_, data, err := ws.ReadMessage()
			if err != nil {
				t.Fatalf("%s: client read: %v", what, err)
			}
			var m struct {
				Type, Symbol string
				Seq          uint64
			}
			if err := json.Unmarshal(data, &m); err != nil {
				t.Fatalf("%s: client got %s: %v", what, data, err)
			}
			if m.Type != "tick" && m.Type != "snapshot" {
				continue // subscribed; the first update may come as the snapshot
			}
			if m.Symbol != "BTC-USD" || m.Seq != wantSeq {
				t.Fatalf("%s: client got %s, want BTC-USD seq %d", what, data, wantSeq)
			}
			return
		}
	}

	c1.Send(btc[0])
	expect("first tick")
	c1.Send("garbage", `{"type":"ticker","product_id":"BTC-USD","price":"oops"}`, btc[1])
	expect("tick after garbage")
	c1.Drop()
	c2 := u.Next()
	if got, want := coinbase.Channels(c2.First()), "subscribe heartbeat[BTC-USD ETH-USD] ticker[BTC-USD] matches[BTC-USD] level2_batch[BTC-USD]"; got != want {
		t.Errorf("resubscribe = %s, want %s, the watched product again", got, want)
	}
	c2.Send(btc[2])
	expect("tick after a disconnect")
	// c2 stalls: the feed gives up on it after 300ms and dials again.
	c2.Stall()
	c3 := u.Next()
	c3.Send(btc[3])
	expect("tick after a stall")

	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz = %v, %v", resp, err)
	} else {
		resp.Body.Close()
	}
	if h := f.Health()[0]; !h.Connected || h.Reconnects != 2 {
		t.Errorf("Health() = %+v, want connected after 2 reconnects", h)
	}
}
