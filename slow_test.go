package tickerd_test

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tickerd/tickerd"
	"github.com/tickerd/tickerd/feed/sim"
	"github.com/tickerd/tickerd/internal/apptest"
	"github.com/tickerd/tickerd/internal/testutil"
)

// field returns the number after "name": in a tick.
func field(p []byte, name string) (int64, bool) {
	i := bytes.Index(p, []byte(`"`+name+`":`))
	if i < 0 {
		return 0, false
	}
	p = p[i+len(name)+3:]
	j := bytes.IndexAny(p, ",}")
	if j < 0 {
		return 0, false
	}
	v, err := strconv.ParseInt(string(p[:j]), 10, 64)
	return v, err == nil
}

// TestStoppedReaderDoesNotDelayOthers runs the market at 20,000 updates a
// second on one symbol. One client subscribes and never reads (with a
// small receive buffer); the others must keep getting fresh ticks with
// rising seq, as many as the market makes: how many that is depends on
// the machine (about 8,800 in 3 s under the race detector beside other
// test binaries, 60,000 alone), so they are held to the market's count
// over the same window, not to a rate.
func TestStoppedReaderDoesNotDelayOthers(t *testing.T) {
	r := apptest.Start(t, tickerd.Config{Sim: sim.Config{Seed: 1, Rate: 20000, Symbols: 1, Steady: true}, DrainWindow: -1})
	stopped, err := testutil.DialWith(testutil.SmallRecvBuf(4096, wait), r.WS+"?symbols=AAPL")
	if err != nil {
		t.Fatal(err)
	}
	defer stopped.Close()

	const readers = 3
	const runFor = 3 * time.Second
	type result struct {
		msgs        int
		first, last int64         // seq
		worst       time.Duration // largest tick age after warm-up
		err         error
	}
	results := make([]result, readers)
	var wg sync.WaitGroup
	var conns []*testutil.Client
	for range readers {
		conns = append(conns, r.Dial(t, "?symbols=AAPL"))
	}
	made := r.Hub().Stats().Published
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := &results[i]
			start := time.Now()
			for time.Since(start) < runFor {
				_ = c.C.SetReadDeadline(time.Now().Add(wait))
				_, p, err := c.C.ReadMessage()
				if err != nil {
					res.err = err
					return
				}
				if !bytes.HasPrefix(p, []byte(`{"type":"tick",`)) && !bytes.HasPrefix(p, []byte(`{"type":"snapshot",`)) {
					continue
				}
				seq, ok1 := field(p, "seq")
				ts, ok2 := field(p, "ts")
				if !ok1 || !ok2 {
					res.err = fmt.Errorf("cannot read seq and ts of %s", p)
					return
				}
				if seq <= res.last {
					res.err = fmt.Errorf("seq %d after %d", seq, res.last)
					return
				}
				if res.first == 0 {
					res.first = seq
				}
				res.last = seq
				res.msgs++
				if time.Since(start) > runFor/3 { // after warm-up
					res.worst = max(res.worst, time.Duration(time.Now().UnixNano()-ts))
				}
			}
		}()
	}
	wg.Wait()
	st := r.Hub().Stats()
	made = st.Published - made
	for i, res := range results {
		t.Logf("reader %d: %d messages, seq %d..%d, worst age after warm-up %v", i, res.msgs, res.first, res.last, res.worst)
		if res.err != nil {
			t.Errorf("reader %d: %v", i, res.err)
		}
		if got := uint64(res.last - res.first); made < 1000 || got < made*9/10 {
			t.Errorf("reader %d: seq advanced by %d in %v, want at least 90%% of the %d updates the market made meanwhile (and those at least 1,000)", i, got, runFor, made)
		}
		if res.worst > time.Second {
			t.Errorf("reader %d: a tick %v old after warm-up, want under 1s", i, res.worst)
		}
	}
	if st.Conns != readers+1 {
		t.Errorf("Conns = %d, want %d (the stopped client stays until BacklogTimeout)", st.Conns, readers+1)
	}
}

// TestSlowHandshake connects and sends half a request line: the server
// closes the connection after ReadHeaderTimeout and frees its fd, and
// serves others meanwhile.
func TestSlowHandshake(t *testing.T) {
	r := apptest.Start(t, tickerd.Config{Sim: sim.Config{Seed: 1, Rate: 100, Symbols: 2}, HTTP: tickerd.HTTPConfig{ReadHeaderTimeout: 500 * time.Millisecond}, DrainWindow: -1})
	other := r.Dial(t, "")
	base := testutil.TakeBaseline()
	var conns []net.Conn
	for range 20 {
		conns = append(conns, sendHTTP(t, r.Addr, "GET /ws HT"))
	}
	if err := other.Ping("1", wait); err != nil {
		t.Errorf("other client during slow handshakes: %v", err)
	}
	for i, nc := range conns {
		if _, err := testutil.ReadEOF(nc, nc, wait); err != nil {
			t.Errorf("connection %d: %v, want it closed after the 500ms header timeout", i, err)
		}
		nc.Close()
	}
	if err := base.Check(wait, 0); err != nil {
		t.Errorf("after the server closed slow handshakes: %v", err)
	}
}

// TestHeaderTooLarge sends an upgrade request with a 64 KiB header: the
// answer is 431 and the connection is closed.
func TestHeaderTooLarge(t *testing.T) {
	r := apptest.Start(t, tickerd.Config{Sim: sim.Config{Seed: 1, Rate: 100, Symbols: 2}, DrainWindow: -1})
	base := testutil.TakeBaseline()
	nc, err := net.DialTimeout("tcp", r.Addr, wait)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	req := "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
		"X-Big: " + strings.Repeat("a", 64<<10) + "\r\n\r\n"
	_ = nc.SetDeadline(time.Now().Add(wait))
	wrote := make(chan struct{})
	go func() { // the server may stop reading early
		defer close(wrote)
		_, _ = nc.Write([]byte(req))
	}()
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("status %d, want 431", resp.StatusCode)
	}
	if _, err := testutil.ReadEOF(nc, br, wait); err != nil {
		t.Errorf("after the 431: %v", err)
	}
	nc.Close()
	<-wrote
	if err := base.Check(wait, 0); err != nil {
		t.Error(err)
	}
}

// TestShutdownUnresponsiveClients: clients that never read, or read but
// never answer the close frame, do not hold the shutdown: Serve returns
// within the drain window plus the hub's close timeout (and a margin).
func TestShutdownUnresponsiveClients(t *testing.T) {
	r := apptest.Start(t, tickerd.Config{Sim: sim.Config{Seed: 1, Rate: 20000, Symbols: 1, Steady: true}, DrainWindow: 500 * time.Millisecond})
	stopped, err := testutil.DialWith(testutil.SmallRecvBuf(4096, wait), r.WS+"?symbols=AAPL")
	if err != nil {
		t.Fatal(err)
	}
	defer stopped.Close()
	mute, err := testutil.DialRaw(r.Addr, "/ws?symbols=AAPL", wait)
	if err != nil {
		t.Fatal(err)
	}
	defer mute.Close()
	muteClosed := make(chan error, 1)
	go func() { // reads everything, answers nothing
		_, _, err := mute.ReadClose(3 * wait)
		muteClosed <- err
	}()
	time.Sleep(500 * time.Millisecond) // let the stopped client back up
	start := time.Now()
	r.Stop()
	if _, ok := r.Wait(wait); !ok { // its error is checked at cleanup
		t.Fatalf("Serve still running %v after the context ended", wait)
	}
	t.Logf("Serve returned %v after the context ended", time.Since(start))
	if err := <-muteClosed; err != nil {
		t.Errorf("client that does not answer: %v, want a close frame", err)
	}
	if n := r.Hub().Conns(); n != 0 {
		t.Errorf("Conns() = %d after Serve returned, want 0", n)
	}
}
