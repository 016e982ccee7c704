package hub_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/hub"
	"github.com/tickerd/tickerd/internal/testutil"
)

// publisher publishes ticks of syms round-robin from its own goroutine
// until stop is called, and remembers the last seq of each symbol.
type publisher struct {
	h    *hub.Hub
	syms []string
	stop chan struct{}
	wg   sync.WaitGroup
	mu   sync.Mutex
	last map[string]uint64 // guarded by mu
	n    int               // guarded by mu
}

// startPublisher publishes max updates (0: no limit), pausing every batch
// updates for pause.
func startPublisher(h *hub.Hub, syms []string, max, batch int, pause time.Duration) *publisher {
	p := &publisher{h: h, syms: syms, stop: make(chan struct{}), last: map[string]uint64{}}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		seq := uint64(0)
		for i := 0; max == 0 || i < max; i++ {
			if i%batch == 0 {
				select {
				case <-p.stop:
					return
				case <-time.After(pause):
				}
			}
			sym := syms[i%len(syms)]
			if i%len(syms) == 0 {
				seq++
			}
			publish(h, sym, seq, fmt.Sprintf("%d.%02d", 100+seq%50, seq%100))
			p.mu.Lock()
			p.last[sym] = seq
			p.n++
			p.mu.Unlock()
		}
	}()
	return p
}

func (p *publisher) halt() {
	select {
	case <-p.stop:
	default:
		close(p.stop)
	}
	p.wg.Wait()
}

func (p *publisher) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}

// reader reads a client until told to stop, checking that seq only grows
// per symbol, and records the last seq and the largest tick age seen
// after warm-up.
type reader struct {
	c      *testutil.Client
	done   chan struct{}
	mu     sync.Mutex
	last   map[string]uint64 // guarded by mu
	msgs   int               // guarded by mu
	maxAge time.Duration     // guarded by mu: after the first 200 messages
	err    error             // guarded by mu
}

// startReader reads c in a goroutine, sleeping pause after every tenth
// message.
func startReader(c *testutil.Client, pause time.Duration) *reader {
	r := &reader{c: c, done: make(chan struct{}), last: map[string]uint64{}}
	go func() {
		defer close(r.done)
		for {
			m, err := c.Next(time.Now().Add(wait))
			if err != nil {
				r.mu.Lock()
				r.err = err
				r.mu.Unlock()
				return
			}
			if !m.IsData() {
				continue
			}
			age := time.Duration(time.Now().UnixNano() - m.TS)
			r.mu.Lock()
			if prev := r.last[m.Symbol]; m.Seq <= prev {
				r.err = fmt.Errorf("%s: seq %d after %d", m.Symbol, m.Seq, prev)
				r.mu.Unlock()
				return
			}
			r.last[m.Symbol] = m.Seq
			r.msgs++
			if r.msgs > 200 {
				r.maxAge = max(r.maxAge, age)
			}
			n := r.msgs
			r.mu.Unlock()
			if pause > 0 && n%10 == 0 {
				time.Sleep(pause)
			}
		}
	}()
	return r
}

// caughtUp reports whether r has seen the last seq of every symbol.
func (r *reader) caughtUp(want map[string]uint64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for s, q := range want {
		if r.last[s] != q {
			return false
		}
	}
	return true
}

func (r *reader) state() (msgs int, maxAge time.Duration, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.msgs, r.maxAge, r.err
}

// TestSlowClientBoundedMemory publishes 100,000+ updates while one client
// has stopped reading and another reads slowly: the hub keeps at most the
// latest update per symbol for them (merging the rest), so the heap does
// not grow, a client reading at full speed sees fresh ticks, and every
// client that reads ends with the last seq of every symbol.
func TestSlowClientBoundedMemory(t *testing.T) {
	srv := startHub(t, hub.Config{MessageRate: -1}, nil)
	syms := []string{"AAPL", "MSFT", "NVDA", "TSLA", "AMZN", "GOOGL", "META", "BTC-USD", "ETH-USD", "EUR/USD"}
	q := "?symbols=AAPL,MSFT,NVDA,TSLA,AMZN,GOOGL,META,BTC-USD,ETH-USD,EUR/USD"
	stopped, err := testutil.DialWith(testutil.SmallRecvBuf(4096, wait), srv.url+q)
	if err != nil {
		t.Fatal(err)
	}
	defer stopped.Close()
	slowC, err := testutil.DialWith(testutil.SmallRecvBuf(4096, wait), srv.url+q)
	if err != nil {
		t.Fatal(err)
	}
	defer slowC.Close()
	fast := startReader(srv.dial(t, q), 0)
	slow := startReader(slowC, time.Millisecond)

	before := hub.MemAfterGC().HeapInuse
	mergedBefore := srv.h.Stats().Merged
	start := time.Now()
	pub := startPublisher(srv.h, syms, 120_000, 200, time.Millisecond)
	pub.wg.Wait()
	t.Logf("published in %v", time.Since(start))
	grew := int64(hub.MemAfterGC().HeapInuse) - int64(before)
	st := srv.h.Stats()
	t.Logf("published %d, merged %d, heap in use %+d KiB", pub.count(), st.Merged-mergedBefore, grew>>10)
	if grew > 4<<20 {
		t.Errorf("heap in use grew by %d KiB while a client was stopped, want under 4 MiB", grew>>10)
	}
	if st.Merged-mergedBefore < 10_000 {
		t.Errorf("Stats().Merged grew by %d, want at least 10,000 (the slow reader cannot take 120,000 updates)", st.Merged-mergedBefore)
	}

	if !testutil.Eventually(wait, func() bool { return fast.caughtUp(pub.last) }) {
		t.Errorf("fast client did not reach the last seq of every symbol")
	}
	t.Logf("fast caught up at %v", time.Since(start))
	if !testutil.Eventually(wait, func() bool { return slow.caughtUp(pub.last) }) {
		t.Errorf("slow client did not reach the last seq of every symbol")
	}
	t.Logf("slow caught up at %v", time.Since(start))
	// The stopped client now reads: it, too, ends with the latest.
	resumed := startReader(stopped, 0)
	if !testutil.Eventually(wait, func() bool { return resumed.caughtUp(pub.last) }) {
		t.Errorf("stopped client, once reading again, did not reach the last seq of every symbol")
	}
	for name, r := range map[string]*reader{"fast": fast, "slow": slow, "stopped": resumed} {
		n, age, err := r.state()
		if err != nil {
			t.Errorf("%s client: %v", name, err)
		}
		if name == "fast" && age > time.Second {
			t.Errorf("fast client saw a tick %v old (of %d), want under 1s", age, n)
		}
		r.c.Close()
		<-r.done
	}
}

// TestSlowConsumerClosed checks that a client backlogged past
// BacklogTimeout is closed with 1008 and counted as "slow", while a
// client that reads is not.
func TestSlowConsumerClosed(t *testing.T) { forTransports(t, testSlowConsumerClosed) }

func testSlowConsumerClosed(t *testing.T, tr transport) {
	srv := startHubOn(t, tr, hub.Config{BacklogTimeout: time.Second, CloseTimeout: 500 * time.Millisecond, MessageRate: -1}, nil)
	stopped, err := testutil.DialWith(srv.dialer(4096), srv.url+"?symbols=AAPL,MSFT")
	if err != nil {
		t.Fatal(err)
	}
	defer stopped.Close()
	fast := startReader(srv.dial(t, "?symbols=AAPL,MSFT"), 0)
	pub := startPublisher(srv.h, []string{"AAPL", "MSFT"}, 0, 20, time.Millisecond)
	defer pub.halt()

	// The kernel takes a few MB before the hub sees backpressure, then
	// BacklogTimeout and CloseTimeout pass: allow for all of it.
	if !testutil.Eventually(2*wait, func() bool { return srv.h.Conns() == 1 }) {
		t.Fatalf("Conns() = %d, want 1: the stopped client was not closed (Stats().Closed = %v)", srv.h.Conns(), srv.h.Stats().Closed)
	}
	if got := srv.h.Stats().Closed; got["slow"] != 1 {
		t.Errorf(`Stats().Closed["slow"] = %d, want 1 (Closed = %v)`, got["slow"], got)
	}
	// The stopped client finds its connection ended: with a 1008 close
	// frame if the server could still write it, or without one (gorilla
	// reports 1006) since the client was not reading.
	code, err := stopped.CloseCode(wait)
	if err == nil && code != 1008 && code != 1006 {
		t.Errorf("stopped client closed with %d, want 1008 (or none: 1006)", code)
	}
	if err != nil && testutil.IsTimeout(err) {
		t.Errorf("stopped client: connection still open: %v", err)
	}
	pub.halt()
	n, age, err := fast.state()
	if err != nil {
		t.Errorf("reading client: %v", err)
	}
	if n < 1000 {
		t.Errorf("reading client got %d ticks, want at least 1000", n)
	}
	if age > time.Second {
		t.Errorf("reading client saw a tick %v old, want under 1s", age)
	}
	fast.c.Close()
	<-fast.done
}

// TestBlockedConnKeepsNoOldUpdates stops reading on connections
// subscribed to 1,000 symbols each, one after each round of updates, so
// that each socket fills in the middle of a write of a different round;
// then it publishes every symbol 20 times more (past the rings of 8). The
// heap must not keep the updates each stopped connection was about to be
// sent when it blocked, which newer ones have replaced: a stopped
// connection costs its subscriptions and at most one frame's rest. It
// runs alone in a process of its own: a few connections' growth is
// measured, which the leftovers of tests before it would hide.
func TestBlockedConnKeepsNoOldUpdates(t *testing.T) {
	if !alone(t) {
		return
	}
	const nsym, rounds, nstopped = 1000, 20, 4
	var syms []feed.Symbol
	var names []string
	for i := range nsym {
		syms = append(syms, feed.Symbol{Name: fmt.Sprintf("B%03d", i), PricePrec: 2})
		names = append(names, syms[i].Name)
	}
	const shards = 2
	srv := startHubWith(t, plainTCP, hub.Config{MessageRate: -1, MaxSymbolsPerRequest: nsym, Shards: shards}, syms, nil)
	subscribeAll := func(c *testutil.Client) {
		t.Helper()
		req := `{"op":"subscribe","symbols":["` + strings.Join(names, `","`) + `"],"id":1}`
		if err := c.Send(req); err != nil {
			t.Fatal(err)
		}
	}
	fast := srv.dial(t, "")
	subscribeAll(fast)
	r := startReader(fast, 0)
	defer func() {
		r.c.Close()
		<-r.done
	}()
	seq := uint64(0)
	publishRounds := func(n int) {
		t.Helper()
		last := map[string]uint64{}
		for range n {
			seq++
			for _, n := range names {
				publish(srv.h, n, seq, "187.25")
				last[n] = seq
			}
			time.Sleep(5 * time.Millisecond)
		}
		if !testutil.Eventually(wait, func() bool { return r.caughtUp(last) }) {
			t.Fatalf("the reading client did not catch up")
		}
	}
	stop := func() {
		t.Helper()
		stopped, err := testutil.DialWith(testutil.SmallRecvBuf(4096, wait), srv.url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { stopped.Close() })
		subscribeAll(stopped) // 1,000 snapshots: more than the socket takes
		publishRounds(1)
	}
	publishRounds(rounds)
	// A shard's write scratch grows to a 1,000-frame write once, with
	// the first such connection it serves (connections go to the shards
	// in turn): one stopped connection per shard before measuring, so
	// that the figure is what each further one holds.
	for range shards {
		stop()
	}
	publishRounds(rounds)
	before, _ := liveMem()

	for range nstopped {
		stop()
	}
	publishRounds(rounds)
	after, _ := liveMem()
	per := (after - before) / nstopped
	t.Logf("stopped connections with %d subscriptions each, %d rounds later: the heap grew by %d KiB each", nsym, rounds, per>>10)
	// Its subscriptions and pending list, conn and reply: 19-37 KiB
	// measured (the streams' subscriber lists grow in steps, shared by
	// the connections); the old updates one kept alive before they were
	// given back: ~200 KiB more.
	if per > 64<<10 {
		t.Errorf("the heap grew by %d KiB per stopped connection, want under 64 KiB", per>>10)
	}
	if n, _, err := r.state(); err != nil || n == 0 {
		t.Errorf("reading client: %d messages, %v", n, err)
	}
}

// TestKeepingUpNoMerges: a client that reads everything gets every update
// of its symbols in order, with no seq jump, while its shard is busy with
// a thousand other connections: being behind is decided per client, by
// what it is owed, not by how long the shard's passes take. Its symbols
// change in bursts of two, so a client is owed several updates of one
// symbol at a time; a pass may take up to four bursts (80 ms) before the
// ring of 8 overflows.
func TestKeepingUpNoMerges(t *testing.T) {
	srv := startHub(t, hub.Config{Shards: 1, MessageRate: -1}, nil)
	ballast := dialMany(t, srv, "/ws?symbols=JPM", 1000, 8)
	var drain sync.WaitGroup
	for _, rc := range ballast {
		drain.Go(func() {
			buf := make([]byte, 4096)
			for {
				if _, err := rc.Conn.Read(buf); err != nil {
					return
				}
			}
		})
	}
	defer func() {
		for _, rc := range ballast {
			rc.Close()
		}
		drain.Wait()
	}()
	syms := []string{"AAPL", "MSFT", "NVDA", "TSLA", "AMZN", "GOOGL", "META", "BTC-USD", "ETH-USD", "EUR/USD"}
	c := srv.dial(t, "?symbols="+strings.Join(syms, ","))
	for _, s := range syms {
		publish(srv.h, s, 1, "1.00")
	}
	stop := make(chan struct{})
	var pubDone sync.WaitGroup
	pubDone.Go(func() {
		seq := uint64(1)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			publish(srv.h, "JPM", uint64(i+1), "2.00")
			for range 2 {
				seq++
				for _, s := range syms {
					publish(srv.h, s, seq, "1.00")
				}
			}
		}
	})
	seen := map[string]uint64{}
	jumps, excused := 0, 0
	end := time.Now().Add(3 * time.Second)
	var last, stall time.Time // the last data message; when a quiet spell ended
	for time.Now().Before(end) {
		m, err := c.Next(time.Now().Add(wait))
		if err != nil {
			t.Fatal(err)
		}
		if !m.IsData() {
			continue
		}
		now := time.Now()
		if !last.IsZero() && now.Sub(last) > 80*time.Millisecond {
			stall = now
			t.Logf("nothing read for %v (the ring covers 80 ms)", now.Sub(last).Round(time.Millisecond))
		}
		last = now
		if prev, ok := seen[m.Symbol]; ok && m.Seq != prev+1 {
			// A spell of more than 80 ms without a message (this
			// goroutine or the machine stalled) overflows the ring: the
			// jumps right after it are the rule working, not merging.
			if now.Sub(stall) < 20*time.Millisecond {
				excused++
			} else {
				if jumps == 0 {
					t.Errorf("%s: seq %d after %d", m.Symbol, m.Seq, prev)
				}
				jumps++
			}
		}
		seen[m.Symbol] = m.Seq
	}
	close(stop)
	pubDone.Wait()
	n := 0
	for _, q := range seen {
		n += int(q)
	}
	t.Logf("read %d updates of %d symbols, %d seq jumps (%d more right after a stall); hub: %d merged in all", n, len(seen), jumps, excused, srv.h.Stats().Merged)
	if jumps > 0 {
		t.Errorf("a client that keeps up saw %d seq jumps, want 0", jumps)
	}
}
