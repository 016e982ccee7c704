package tickerd_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"time"

	"github.com/gorilla/websocket"
	"github.com/shopspring/decimal"

	"github.com/tickerd/tickerd"
	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/feed/sim"
	"github.com/tickerd/tickerd/protocol"
)

// quote is a feed of one symbol that publishes one price and keeps it.
type quote struct{}

func (quote) Symbols() []feed.Symbol {
	return []feed.Symbol{{Name: "DEMO", Class: "equity", PricePrec: 2, TickSize: decimal.New(1, -2)}}
}

func (quote) Run(ctx context.Context, sink feed.Sink) error {
	p := decimal.RequireFromString("101.25")
	sink.Publish(&protocol.Tick{
		Symbol: "DEMO", Seq: 1, PricePrec: 2,
		Price: p, Bid: p.Sub(decimal.New(1, -2)), Ask: p.Add(decimal.New(1, -2)), Open: p, High: p, Low: p,
		Volume: decimal.NewFromInt(300), TS: time.Date(2025, 11, 21, 9, 30, 0, 0, time.UTC).UnixNano(),
	})
	<-ctx.Done()
	return nil
}

// waitFor polls url until it answers 200 with a body other than notYet.
func waitFor(url, notYet string) {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		resp, err := http.Get(url)
		if err != nil {
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK && string(body) != notYet {
			return
		}
	}
}

// A feed of your own, served on a listener; a WebSocket client subscribes
// and gets the symbol's snapshot. Cancelling the context drains the server.
func Example() {
	srv, err := tickerd.New(tickerd.Config{Feed: quote{}})
	if err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	waitFor("http://"+ln.Addr().String()+"/api/symbols", "[]") // the feed has published

	c, _, err := websocket.DefaultDialer.Dial("ws://"+ln.Addr().String()+"/ws?symbols=DEMO", nil)
	if err != nil {
		log.Fatal(err)
	}
	for range 3 { // the server's limits, then the answer to ?symbols=, then the snapshot
		_, msg, err := c.ReadMessage()
		if err != nil {
			log.Fatal(err)
		}
		var m struct{ Type string }
		_ = json.Unmarshal(msg, &m)
		if m.Type != "limits" {
			fmt.Println(string(msg))
		}
	}
	c.Close()

	cancel()
	fmt.Println("Serve:", <-served)
	// Output:
	// {"type":"subscribed","symbols":["DEMO"]}
	// {"type":"snapshot","symbol":"DEMO","seq":1,"price":"101.25","bid":"101.24","ask":"101.26","open":"101.25","high":"101.25","low":"101.25","volume":"300","ts":1763717400000000000}
	// Serve: <nil>
}

// Mount tickerd under a prefix of your own mux, served by your own
// http.Server; Run runs the feed and drains the WebSocket clients when
// its context ends.
func ExampleServer_Handler() {
	srv, err := tickerd.New(tickerd.Config{Sim: sim.Config{Symbols: 3}})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/market/", http.StripPrefix("/market", srv.Handler()))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "my app") })
	web := httptest.NewServer(mux) // your http.Server

	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- srv.Run(ctx) }()

	for _, path := range []string{"/", "/market/healthz"} {
		resp, err := http.Get(web.URL + path)
		if err != nil {
			log.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Printf("%s: %d %s", path, resp.StatusCode, body)
	}

	cancel()
	fmt.Println("Run:", <-ran)
	web.Close() // after Run: the WebSocket clients have been drained
	// Output:
	// /: 200 my app
	// /market/healthz: 200 ok
	// Run: <nil>
}

// Require a JWT from every client. /api/symbols lists only what the token
// grants. MintToken makes a development token signed with the secret.
func ExampleNewJWTAuth() {
	dir, _ := os.MkdirTemp("", "tickerd-example-")
	defer os.RemoveAll(dir)
	secret := []byte("an-example-secret-of-32-bytes-or-more")
	secretFile := filepath.Join(dir, "secret")
	_ = os.WriteFile(secretFile, secret, 0o600)

	jwt, err := tickerd.NewJWTAuth(tickerd.JWTConfig{HMACSecretFile: secretFile})
	if err != nil {
		log.Fatal(err)
	}
	srv, err := tickerd.New(tickerd.Config{Sim: sim.Config{Symbols: 3, Rate: 100}, Auth: jwt})
	if err != nil {
		log.Fatal(err)
	}
	web := httptest.NewServer(srv.Handler())
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- srv.Run(ctx) }()
	waitFor(web.URL+"/readyz", "")

	token, err := tickerd.MintToken(secret, "alice", []string{"AAPL"}, time.Hour)
	if err != nil {
		log.Fatal(err)
	}
	for _, tok := range []string{"", token} {
		req, _ := http.NewRequest("GET", web.URL+"/api/symbols", nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		var snaps []struct{ Symbol string }
		_ = json.NewDecoder(resp.Body).Decode(&snaps)
		resp.Body.Close()
		fmt.Println(resp.StatusCode, snaps)
	}

	cancel()
	<-ran
	web.Close()
	// Output:
	// 401 []
	// 200 [{AAPL}]
}
