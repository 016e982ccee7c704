package hub_test

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tickerd/tickerd/hub"
	"github.com/tickerd/tickerd/internal/testutil"
)

// TestMaxSymbolsPerConn: past the per-connection cap the rest of a
// subscribe is refused with too_many_symbols, the ones that fit are
// subscribed.
func TestMaxSymbolsPerConn(t *testing.T) {
	srv := startHub(t, hub.Config{MaxSymbolsPerConn: 3, MessageRate: -1}, nil)
	c := srv.dial(t, "")
	if err := c.Send(`{"op":"subscribe","symbols":["AAPL","MSFT","NVDA","TSLA","AMZN"],"id":1}`); err != nil {
		t.Fatal(err)
	}
	m, err := c.Await("1", wait)
	if err != nil {
		t.Fatal(err)
	}
	if m.Type != "subscribed" || strings.Join(m.Symbols, ",") != "AAPL,MSFT,NVDA" {
		t.Errorf("reply %s, want subscribed [AAPL MSFT NVDA]", m.Raw)
	}
	m, err = c.Await("1", wait)
	if err != nil {
		t.Fatal(err)
	}
	if m.Type != "error" || m.Code != "too_many_symbols" || strings.Join(m.Symbols, ",") != "TSLA,AMZN" {
		t.Errorf("reply %s, want error too_many_symbols [TSLA AMZN]", m.Raw)
	}
	// Already subscribed symbols still fit; a new one does not.
	m, err = c.Request(`{"op":"subscribe","symbols":["AAPL"],"id":2}`, "2", wait)
	if err != nil || m.Type != "subscribed" {
		t.Errorf("re-subscribing AAPL: %s %v, want subscribed", m.Raw, err)
	}
	if got := srv.h.Stats().Subscriptions; got != 3 {
		t.Errorf("Stats().Subscriptions = %d, want 3", got)
	}
}

// TestQueryDuplicates: a symbol named twice in ?symbols= is subscribed
// and reported once.
func TestQueryDuplicates(t *testing.T) {
	srv := startHub(t, hub.Config{MessageRate: -1}, nil)
	_, m := srv.dialReply(t, "?symbols=AAPL,AAPL,MSFT,AAPL")
	if m.Type != "subscribed" || strings.Join(m.Symbols, ",") != "AAPL,MSFT" {
		t.Errorf("reply %s, want subscribed [AAPL MSFT]", m.Raw)
	}
	if got := srv.h.Stats().Subscriptions; got != 2 {
		t.Errorf("Stats().Subscriptions = %d, want 2", got)
	}
}

// TestPublishFilters checks what Publish drops: a seq not above the last
// one (counted as stale) and an unknown symbol; a client sees neither.
func TestPublishFilters(t *testing.T) {
	srv := startHub(t, hub.Config{MessageRate: -1}, nil)
	c := srv.dial(t, "?symbols=AAPL")
	next := func(want string) { t.Helper(); nextIs(t, c, want) }
	publish(srv.h, "AAPL", 5, "1.00")
	next("snapshot 5 1.00")
	publish(srv.h, "AAPL", 5, "2.00") // duplicate
	publish(srv.h, "AAPL", 4, "3.00") // step back
	publish(srv.h, "NOPE", 1, "4.00")
	publish(srv.h, "AAPL", 7, "5.00")
	next("tick 7 5.00")
	st := srv.h.Stats()
	if st.Stale != 2 || st.Unknown != 1 || st.Published != 2 {
		t.Errorf("Stats() Stale %d Unknown %d Published %d, want 2, 1, 2", st.Stale, st.Unknown, st.Published)
	}
	if err := srv.h.PublishEncoded("AAPL", 0, 8, time.Now().UnixNano(), []byte(`{"type":"snapshot","symbol":"AAPL"}`)); err == nil {
		t.Errorf("PublishEncoded of a non-tick message: nil error, want one")
	}
	if err := srv.h.PublishEncoded("NOPE", 0, 8, time.Now().UnixNano(), []byte(`{"type":"tick","symbol":"NOPE"}`)); err == nil {
		t.Errorf("PublishEncoded of an unknown symbol: nil error, want one")
	}
}

// TestDrainRefusesNew: while the hub drains, existing clients get 1001
// and a new upgrade gets 503.
func TestDrainRefusesNew(t *testing.T) {
	srv := startHub(t, hub.Config{MessageRate: -1}, nil)
	c := srv.dial(t, "")
	done := make(chan error, 1)
	go func() { done <- srv.h.Drain(t.Context(), 2*time.Second) }()
	if !testutil.Eventually(wait, srv.h.Draining) {
		t.Fatal("Draining() stays false")
	}
	if _, err := testutil.Dial(srv.url, wait); err == nil || !strings.Contains(err.Error(), "status 503") {
		t.Errorf("dial while draining: %v, want status 503", err)
	}
	code, err := c.CloseCode(wait)
	if err != nil || code != 1001 {
		t.Errorf("client: close %d, %v; want 1001", code, err)
	}
	c.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Drain = %v, want nil", err)
		}
	case <-time.After(wait):
		t.Fatal("Drain did not return")
	}
	if got := srv.h.Stats().Rejected["draining"]; got != 1 {
		t.Errorf(`Stats().Rejected["draining"] = %d, want 1`, got)
	}
}

// TestMaxConnsPerIP: past the per-address cap upgrades get 429; another
// source address is not affected.
func TestMaxConnsPerIP(t *testing.T) {
	srv := startHub(t, hub.Config{MaxConnsPerIP: 2, MessageRate: -1}, nil)
	from := func(ip byte) *net.Dialer {
		return &net.Dialer{Timeout: wait, LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, ip)}}
	}
	var open []*testutil.RawConn
	for range 2 {
		rc, err := testutil.DialRawWith(from(2), srv.addr, "/ws", nil, wait)
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		open = append(open, rc)
	}
	if _, err := testutil.DialRawWith(from(2), srv.addr, "/ws", nil, wait); err == nil || !strings.Contains(err.Error(), "status 429") {
		t.Errorf("third connection from 127.0.0.2: %v, want status 429", err)
	}
	rc, err := testutil.DialRawWith(from(3), srv.addr, "/ws", nil, wait)
	if err != nil {
		t.Errorf("from 127.0.0.3: %v", err)
	} else {
		rc.Close()
	}
	open[0].Close()
	if !testutil.Eventually(wait, func() bool { return srv.h.Conns() == 1 }) {
		t.Fatalf("Conns() = %d, want 1", srv.h.Conns())
	}
	rc, err = testutil.DialRawWith(from(2), srv.addr, "/ws", nil, wait)
	if err != nil {
		t.Errorf("from 127.0.0.2 after one left: %v", err)
	} else {
		rc.Close()
	}
}

// TestDataAfterClose: once the client has sent its close frame, what
// follows is ignored; the server answers only the close.
func TestDataAfterClose(t *testing.T) { forTransports(t, testDataAfterClose) }

func testDataAfterClose(t *testing.T, tr transport) {
	srv := startHubOn(t, tr, hub.Config{MessageRate: -1}, nil)
	rc := srv.dialRaw(t, "")
	if _, err := rc.Write(frames(closeWith(1000, ""), text(true, pingReq),
		testutil.Frame{Fin: true, Op: testutil.OpPing, Payload: []byte("x")})); err != nil {
		t.Fatal(err)
	}
	for {
		f, err := rc.ReadFrame(time.Now().Add(wait))
		if err != nil {
			t.Fatalf("before the close echo: %v", err)
		}
		if f.Op == testutil.OpClose {
			break
		}
		t.Errorf("frame op %#x %q after the client's close, want only the close echo", f.Op, f.Payload)
	}
	if err := rc.ReadEOF(wait); err != nil {
		t.Error(err)
	}
}

// TestServerCloseAnswered: after a protocol error, a client that answers
// the server's close frame is finished at once and counted as "protocol",
// not after the close timeout.
func TestServerCloseAnswered(t *testing.T) { forTransports(t, testServerCloseAnswered) }

func testServerCloseAnswered(t *testing.T, tr transport) {
	srv := startHubOn(t, tr, hub.Config{MessageRate: -1, CloseTimeout: time.Minute}, nil)
	rc := srv.dialRaw(t, "")
	if err := rc.WriteFrame(testutil.Frame{Fin: true, Op: 3}); err != nil {
		t.Fatal(err)
	}
	code, _, err := rc.ReadClose(wait)
	if err != nil || code != 1002 {
		t.Fatalf("close %d, %v; want 1002", code, err)
	}
	if err := rc.WriteFrame(closeWith(1002, "")); err != nil {
		t.Fatal(err)
	}
	if !testutil.Eventually(wait, func() bool { return srv.h.Conns() == 0 }) {
		t.Fatalf("Conns() = %d after the client answered the close, want 0 (long before the 1-minute CloseTimeout)", srv.h.Conns())
	}
	if got := srv.h.Stats().Closed; got["protocol"] != 1 {
		t.Errorf("Stats().Closed = %v, want protocol: 1", got)
	}
}

// TestCloseRightAfterUpgrade sends a close frame in the same write as the
// upgrade request: the server must still send the limits message and
// then echo the close, for a few hundred connections.
func TestCloseRightAfterUpgrade(t *testing.T) { forTransports(t, testCloseRightAfterUpgrade) }

func testCloseRightAfterUpgrade(t *testing.T, tr transport) {
	srv := startHubOn(t, tr, hub.Config{MessageRate: -1}, nil)
	lost := 0
	for i := range 200 {
		rc, err := srv.rawConn("/ws", frames(closeWith(1000, "")))
		if err != nil {
			t.Fatal(err)
		}
		code, _, err := rc.ReadClose(wait)
		rc.Close()
		if err != nil || code != 1000 {
			if lost == 0 {
				t.Errorf("connection %d: close %d, %v; want the close echoed (1000)", i, code, err)
			}
			lost++
		}
	}
	if lost > 0 {
		t.Errorf("%d of 200 connections got no close echo", lost)
	}
}

// TestDrainRacesUpgrades drains while clients keep connecting: every
// client whose upgrade succeeded must get the 1001 close, and Drain must
// finish without running into its deadline.
func TestDrainRacesUpgrades(t *testing.T) {
	srv := startHub(t, hub.Config{MessageRate: -1}, nil)
	type outcome struct {
		code uint16
		err  error
	}
	results := make(chan outcome, 100_000)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				rc, err := srv.rawConn("/ws", nil)
				if err != nil {
					continue // refused (503) once draining
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer rc.Close()
					code, _, err := rc.ReadClose(3 * wait)
					results <- outcome{code, err}
				}()
			}
		}()
	}
	time.Sleep(200 * time.Millisecond) // let connections flow
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	err := srv.h.Drain(ctx, 0)
	took := time.Since(start)
	close(stop)
	wg.Wait()
	close(results)
	if err != nil {
		t.Errorf("Drain = %v after %v, want nil: a connection upgraded during the drain was not closed", err, took)
	}
	n, bad := 0, 0
	for r := range results {
		n++
		if r.err != nil || r.code != 1001 {
			if bad == 0 {
				t.Errorf("a client got close %d, %v; want 1001", r.code, r.err)
			}
			bad++
		}
	}
	t.Logf("%d clients upgraded, %d without a 1001; Drain took %v", n, bad, took)
	if bad > 0 {
		t.Errorf("%d of %d upgraded clients did not get 1001", bad, n)
	}
}
