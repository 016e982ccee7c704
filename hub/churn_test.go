package hub_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tickerd/tickerd/feed/sim"
	"github.com/tickerd/tickerd/hub"
	"github.com/tickerd/tickerd/internal/testutil"
)

// quoteView is a client's own view of its quote subscriptions, updated
// from the replies it gets, against which it checks every data message:
// only subscribed symbols, a snapshot first after each new subscription,
// then ticks with rising seq.
type quoteView struct {
	subs     map[string]bool   // what the client believes it has
	needSnap map[string]bool   // newly subscribed: the next message must be a snapshot
	seq      map[string]uint64 // last seq seen per symbol
	err      error             // the first message that broke a rule
}

func newQuoteView() quoteView {
	return quoteView{subs: map[string]bool{}, needSnap: map[string]bool{}, seq: map[string]uint64{}}
}

// replied takes the symbols of the reply to a request of op (subscribe or
// unsubscribe).
func (v *quoteView) replied(op string, symbols []string) {
	for _, s := range symbols {
		if op == "subscribe" && !v.subs[s] {
			v.subs[s], v.needSnap[s] = true, true
		}
		if op == "unsubscribe" {
			delete(v.subs, s)
			delete(v.needSnap, s)
		}
	}
}

// data checks a tick or snapshot; the first that breaks a rule is kept
// in err.
func (v *quoteView) data(m testutil.Msg) {
	if v.err != nil {
		return
	}
	switch {
	case !v.subs[m.Symbol]:
		v.err = fmt.Errorf("%s for %s, which is not subscribed", m.Type, m.Symbol)
	case m.Type == "snapshot" && !v.needSnap[m.Symbol]:
		v.err = fmt.Errorf("snapshot for %s without a new subscription", m.Symbol)
	case m.Type == "tick" && v.needSnap[m.Symbol]:
		v.err = fmt.Errorf("tick for %s before its snapshot", m.Symbol)
	case m.Type == "tick" && m.Seq <= v.seq[m.Symbol]:
		v.err = fmt.Errorf("tick for %s with seq %d after %d", m.Symbol, m.Seq, v.seq[m.Symbol])
	case m.Type == "snapshot" && m.Seq < v.seq[m.Symbol]:
		v.err = fmt.Errorf("snapshot for %s with seq %d after %d", m.Symbol, m.Seq, v.seq[m.Symbol])
	}
	delete(v.needSnap, m.Symbol)
	v.seq[m.Symbol] = m.Seq
}

// churner is one client subscribing and unsubscribing random sets,
// checking what it gets with its quoteView.
type churner struct {
	c *testutil.Client
	quoteView
	reqs int
}

func (ch *churner) run(r *rand.Rand, names []string, until time.Time) error {
	ch.c.OnData = ch.data
	for id := 1; time.Now().Before(until) && ch.err == nil; id++ {
		op, req, _ := randomRequest(r, names, 12, 2, id)
		ch.reqs++
		m, err := ch.c.Request(req, fmt.Sprint(id), wait)
		if err != nil {
			return fmt.Errorf("%s: %w", req, err)
		}
		if m.Type != op+"d" {
			return fmt.Errorf("%s: reply %s", req, m.Raw)
		}
		ch.replied(op, m.Symbols)
	}
	return ch.err
}

// randomRequest returns a subscribe or (one time in unsubOdds) an
// unsubscribe of 1 to most names drawn from names (possibly the same one
// more than once), with id, and the set it names.
func randomRequest(r *rand.Rand, names []string, most, unsubOdds, id int) (op, req string, set []string) {
	set = make([]string, 1+r.IntN(most))
	for i := range set {
		set[i] = names[r.IntN(len(names))]
	}
	op = "subscribe"
	if r.IntN(unsubOdds) == 0 {
		op = "unsubscribe"
	}
	return op, fmt.Sprintf(`{"op":%q,"symbols":["%s"],"id":%d}`, op, strings.Join(set, `","`), id), set
}

// TestSubscriptionChurn runs clients that subscribe and unsubscribe random
// sets for a few seconds while the market ticks, then checks that the hub
// counts exactly the subscriptions the clients believe they have.
func TestSubscriptionChurn(t *testing.T) {
	srv := startHub(t, hub.Config{MessageRate: -1}, &sim.Config{Seed: 3, Rate: 3000})
	var names []string
	for _, s := range srv.syms {
		names = append(names, s.Name)
	}
	chs, errs := churn(t, srv, 8, names, 1)
	want, reqs := 0, 0
	for i, ch := range chs {
		if errs[i] != nil {
			t.Errorf("client %d: %v", i, errs[i])
		}
		want += len(ch.subs)
		reqs += ch.reqs
	}
	t.Logf("%d requests", reqs)
	if got := srv.h.Stats().Subscriptions; got != int64(want) {
		t.Errorf("Stats().Subscriptions = %d, want %d (the clients' own count)", got, want)
	}
	for _, ch := range chs {
		ch.c.Close()
	}
	if !testutil.Eventually(wait, func() bool { return srv.h.Stats().Subscriptions == 0 }) {
		t.Errorf("Stats().Subscriptions = %d after every client left, want 0", srv.h.Stats().Subscriptions)
	}
}

// TestWatchChurn churns subscriptions to a few symbols over many shards
// and checks OnWatch: after the churn, the last call for each symbol must
// say watched exactly when some client is subscribed to it, or a feed
// following only watched symbols would stop one that clients still want.
func TestWatchChurn(t *testing.T) {
	var mu sync.Mutex
	watched := map[string]bool{}
	calls := 0
	var order []string // calls that repeat the previous state
	cfg := hub.Config{Shards: 4, MessageRate: -1, OnWatch: func(sym string, w bool) {
		mu.Lock()
		defer mu.Unlock()
		if watched[sym] == w {
			order = append(order, fmt.Sprintf("call %d: OnWatch(%q, %v) twice in a row", calls, sym, w))
		}
		watched[sym] = w
		calls++
	}}
	srv := startHub(t, cfg, nil)
	names := []string{"AAPL"}               // every request toggles the one symbol's watchers
	chs, errs := churn(t, srv, 4, names, 2) // 4 clients: one per shard
	subscribed := map[string]bool{}
	for i, ch := range chs {
		if errs[i] != nil {
			t.Errorf("client %d: %v", i, errs[i])
		}
		for s := range ch.subs {
			subscribed[s] = true
		}
	}
	mu.Lock()
	defer mu.Unlock()
	t.Logf("%d OnWatch calls", calls)
	for _, o := range order {
		t.Error(o)
	}
	for _, s := range names {
		if watched[s] != subscribed[s] {
			t.Errorf("last OnWatch(%q) said watched=%v, but clients subscribed: %v", s, watched[s], subscribed[s])
		}
	}
}

// churn connects n churners to srv, runs them for 3 s over names (random
// sources seeded with seed) and returns them with each one's error.
func churn(t *testing.T, srv *testServer, n int, names []string, seed uint64) ([]*churner, []error) {
	t.Helper()
	chs := make([]*churner, n)
	for i := range chs {
		chs[i] = &churner{c: srv.dial(t, ""), quoteView: newQuoteView()}
	}
	until := time.Now().Add(3 * time.Second)
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i, ch := range chs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = ch.run(rand.New(rand.NewPCG(uint64(i), seed)), names, until)
		}()
	}
	wg.Wait()
	return chs, errs
}

// TestCloseUnderTraffic: Close while clients upgrade and send frames
// returns with every socket the hub took closed and its goroutines gone,
// including connections queued for a reader and ones upgraded while the
// hub was closing.
func TestCloseUnderTraffic(t *testing.T) { forTransports(t, testCloseUnderTraffic) }

func testCloseUnderTraffic(t *testing.T, tr transport) {
	srv := startHubOn(t, tr, hub.Config{MessageRate: -1}, nil)
	base := testutil.TakeBaseline()
	ping := testutil.AppendFrame(nil, testutil.Frame{Fin: true, Op: testutil.OpPing, Payload: []byte("p")})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ { // bounded; Close ends it sooner
				select {
				case <-stop:
					return
				default:
				}
				rc, err := srv.rawConn("/ws?symbols=AAPL", ping)
				if err != nil {
					continue // refused: the hub is closing
				}
				for range 20 {
					if _, err := rc.Write(ping); err != nil {
						break
					}
				}
				_ = rc.Close()
			}
		}()
	}
	time.Sleep(200 * time.Millisecond)
	if err := srv.h.Close(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // upgrades that were in flight end
	close(stop)
	wg.Wait()
	// The hub's epoll fds are gone too, so the count must come back to
	// the baseline with no slack for sockets.
	if err := base.Check(wait, 0); err != nil {
		t.Error(err)
	}
}
