// Command client consumes tickerd as a WebSocket client: it subscribes to
// some symbols and prints their prices as they change.
//
//	go run ./client -url ws://localhost:8080/ws -symbols AAPL,BTC-USD
//	go run ./client -symbols ACME -count 5 -timeout 20s   # exits 1 unless 5 updates come in time
//
// The protocol is one JSON object per text message (see tickerd's package
// protocol): a "limits" message first, then a reply to each request, a
// "snapshot" of each subscribed symbol and a "tick" per update. Every
// message carries the symbol's full state, so a client that sees seq jump
// missed only older values.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/coder/websocket"
)

// message is any server message; fields a type does not have stay empty.
type message struct {
	Type    string   `json:"type"`
	ID      int      `json:"id"`
	Symbol  string   `json:"symbol"`
	Seq     uint64   `json:"seq"`
	Price   string   `json:"price"` // a decimal string with the symbol's precision: never a float
	Bid     string   `json:"bid"`
	Ask     string   `json:"ask"`
	TS      int64    `json:"ts"` // event time, Unix nanoseconds
	Symbols []string `json:"symbols"`
	Code    string   `json:"code"`
	Message string   `json:"message"`
}

func main() {
	url := flag.String("url", "ws://localhost:8080/ws", "tickerd's WebSocket endpoint")
	symbols := flag.String("symbols", "AAPL,MSFT,BTC-USD", "comma-separated symbols to watch")
	count := flag.Int("count", 0, "exit after this many updates (0: run until interrupted)")
	timeout := flag.Duration("timeout", 0, "give up after this long (0: no limit)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *timeout)
		defer cancel()
	}
	n, err := watch(ctx, *url, strings.Split(*symbols, ","), *count)
	if *count > 0 && n < *count {
		log.Fatalf("%d of %d updates: %v", n, *count, err)
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		log.Fatal(err)
	}
}

// watch subscribes to symbols and prints every snapshot and tick until ctx
// ends or count of them came (count 0: no limit). It returns how many came.
func watch(ctx context.Context, url string, symbols []string, count int) (int, error) {
	c, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		return 0, err
	}
	defer c.CloseNow()
	req, _ := json.Marshal(map[string]any{"op": "subscribe", "symbols": symbols, "id": 1})
	if err := c.Write(ctx, websocket.MessageText, req); err != nil {
		return 0, err
	}
	n := 0
	for count == 0 || n < count {
		_, data, err := c.Read(ctx)
		if err != nil {
			return n, err
		}
		var m message
		if err := json.Unmarshal(data, &m); err != nil {
			return n, fmt.Errorf("not JSON: %s", data)
		}
		switch m.Type {
		case "snapshot", "tick":
			n++
			fmt.Printf("%-8s %-10s %12s  bid %-12s ask %-12s seq %d, %v old\n", m.Type, m.Symbol, m.Price, m.Bid, m.Ask,
				m.Seq, time.Since(time.Unix(0, m.TS)).Round(time.Millisecond))
		case "subscribed":
			fmt.Printf("subscribed to %v\n", m.Symbols)
		case "error":
			fmt.Printf("error %s: %s %v\n", m.Code, m.Message, m.Symbols) // e.g. unknown_symbol: the others stay subscribed
		}
	}
	return n, c.Close(websocket.StatusNormalClosure, "")
}
