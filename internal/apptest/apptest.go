// Package apptest runs a real tickerd server in-process for tests:
//
//	addr := apptest.Serve(t, app.Config{Sim: sim.Config{Rate: 100, Symbols: 3}})
//	c, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/ws?symbols=AAPL", nil)
package apptest

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/tickerd/tickerd/internal/app"
)

// Serve builds an app from cfg and serves it on a fresh 127.0.0.1 port
// until the test ends; it returns the address (host:port). At the end it
// stops the app and waits for Serve to return, failing the test if Serve
// reports an error or does not return within 20 s.
func Serve(t testing.TB, cfg app.Config) string {
	t.Helper()
	a, err := app.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = a.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Errorf("Serve did not return within 20 s of the end of the test")
		}
	})
	return ln.Addr().String()
}
