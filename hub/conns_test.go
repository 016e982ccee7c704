package hub_test

import (
	"fmt"
	"net"
	"sync"
	"testing"

	"github.com/tickerd/tickerd/feed/sim"
	"github.com/tickerd/tickerd/hub"
	"github.com/tickerd/tickerd/internal/testutil"
)

// dialMany opens n WebSocket connections from workers goroutines, each
// read up to its limits message (so the hub has registered it).
func dialMany(t *testing.T, srv *testServer, path string, n, workers int) []*testutil.RawConn {
	t.Helper()
	return testutil.OpenMany(t, n, workers, wait, func(int) (*testutil.RawConn, error) {
		return srv.rawConn(path, nil)
	})
}

// TestManyConnsNoLeak opens 2,000 connections, some subscribed, closes
// them, and checks that the hub's count, the process's fds and its
// goroutines all return to where they were.
func TestManyConnsNoLeak(t *testing.T) { forTransports(t, testManyConnsNoLeak) }

func testManyConnsNoLeak(t *testing.T, tr transport) {
	srv := startHubOn(t, tr, hub.Config{MessageRate: -1}, &sim.Config{Seed: 1, Rate: 200})
	other := srv.dial(t, "?symbols=AAPL")
	base := testutil.TakeBaseline()
	opened := srv.h.Stats().Opened

	n := 2000
	if tr == overTLS {
		n = 300 // TLS handshakes under -race are slow
	}
	conns := dialMany(t, srv, "/ws?symbols=AAPL,MSFT", n, 8)
	if got := srv.h.Conns(); got != n+1 {
		t.Errorf("Conns() = %d, want %d", got, n+1)
	}
	if got := srv.h.Stats().Opened - opened; got != uint64(n) {
		t.Errorf("Stats().Opened grew by %d, want %d", got, n)
	}
	if got, want := srv.h.Stats().Subscriptions, int64(2*n+1); got != want {
		t.Errorf("Stats().Subscriptions = %d, want %d", got, want)
	}
	checkServed(t, other, "1")
	for i, rc := range conns {
		if rc == nil {
			continue
		}
		if i%2 == 0 { // half say goodbye properly, half just hang up
			_ = rc.WriteFrame(closeWith(1000, ""))
		}
		rc.Close()
	}
	if !testutil.Eventually(wait, func() bool { return srv.h.Conns() == 1 }) {
		t.Errorf("Conns() = %d after the clients left, want 1", srv.h.Conns())
	}
	if got := srv.h.Stats().Subscriptions; got != 1 {
		t.Errorf("Stats().Subscriptions = %d after the clients left, want 1", got)
	}
	if err := base.Check(wait, 0); err != nil {
		t.Error(err)
	}
	checkServed(t, other, "2")
}

// TestConnectionFlood opens and drops 1,000 connections in every way a
// client can: TCP only, half a handshake, a handshake and hang up, a
// handshake and a close frame, a close frame and no wait. The server must
// keep serving and free every fd.
func TestConnectionFlood(t *testing.T) { forTransports(t, testConnectionFlood) }

func testConnectionFlood(t *testing.T, tr transport) {
	srv := startHubOn(t, tr, hub.Config{MessageRate: -1}, &sim.Config{Seed: 1, Rate: 500})
	other := srv.dial(t, "?symbols=AAPL")
	base := testutil.TakeBaseline()
	var wg sync.WaitGroup
	errs := make(chan error, 1000)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < 1000; i += 8 {
				if err := flood(srv, i%5); err != nil {
					errs <- fmt.Errorf("connection %d (kind %d): %w", i, i%5, err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	n := 0
	for err := range errs {
		if n < 3 {
			t.Error(err)
		}
		n++
	}
	if n > 0 {
		t.Errorf("%d of 1000 connections failed", n)
	}
	checkServed(t, other, "1")
	if !testutil.Eventually(wait, func() bool { return srv.h.Conns() == 1 }) {
		t.Errorf("Conns() = %d after the flood, want 1", srv.h.Conns())
	}
	if err := base.Check(wait, 0); err != nil {
		t.Error(err)
	}
}

func flood(srv *testServer, kind int) error {
	if kind < 2 {
		nc, err := net.DialTimeout("tcp", srv.addr, wait)
		if err != nil {
			return err
		}
		defer nc.Close()
		if kind == 1 { // half a request line (or a broken TLS hello)
			_, err = nc.Write([]byte("GET /ws HT"))
		}
		return err
	}
	rc, err := srv.rawConn("/ws?symbols=AAPL", nil)
	if err != nil {
		return err
	}
	defer rc.Close()
	switch kind {
	case 2: // upgrade, hang up
	case 3: // upgrade, close frame, wait for the echo
		if err := rc.WriteFrame(closeWith(1000, "")); err != nil {
			return err
		}
		if _, _, err := rc.ReadClose(wait); err != nil {
			return err
		}
	case 4: // upgrade, request, close frame, hang up at once
		_ = rc.WriteText(`{"op":"ping","id":1}`)
		_ = rc.WriteFrame(closeWith(1001, ""))
	}
	return nil
}
