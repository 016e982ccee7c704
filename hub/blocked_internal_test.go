package hub

// A white-box test: it reads shard state, race-free only after Close
// (the shard goroutines have returned). Everything else is real: a
// socket on 127.0.0.1 and a gorilla client.

import (
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/tickerd/tickerd/feed/sim"
	"github.com/tickerd/tickerd/internal/testutil"
)

// TestBlockedListBounded keeps one client at the edge: it reads, but
// slower than the feed, so its socket fills and drains over and over.
// The shard's list of blocked connections must not gain an entry each
// time: it would grow for as long as the client stays connected. (At most
// two entries allows a fix that drops duplicates once a second.)
func TestBlockedListBounded(t *testing.T) {
	h, err := New(Config{Shards: 1, MessageRate: -1}, sim.Universe(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	syms := []string{"AAPL", "MSFT", "NVDA", "TSLA", "AMZN", "GOOGL", "META", "BTC-USD", "ETH-USD", "EUR/USD"}
	url := "ws://" + ln.Addr().String() + "/ws?symbols=AAPL,MSFT,NVDA,TSLA,AMZN,GOOGL,META,BTC-USD,ETH-USD,EUR/USD"
	c, err := testutil.DialWith(testutil.SmallRecvBuf(4096, 10*time.Second), url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	readDone := make(chan struct{})
	go func() { // under 1,000 messages a second: slower than the feed
		defer close(readDone)
		for {
			if _, err := c.Next(time.Now().Add(10 * time.Second)); err != nil {
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	for i := range 40_000 { // ~4 s
		if i%20 == 0 {
			time.Sleep(time.Millisecond)
		}
		h.Publish(testutil.Tick(syms[i%len(syms)], uint64(i+1), "100.00"))
	}
	c.Close()
	<-readDone
	h.Close()
	s := h.shards[0]
	seen := map[*conn]int{}
	for _, bc := range s.blocked {
		seen[bc]++
	}
	for _, n := range seen {
		if n > 2 {
			t.Errorf("shard.blocked holds one connection %d times (%d entries in all), want at most 2", n, len(s.blocked))
		}
	}
}
