package hub_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/hub"
	"github.com/tickerd/tickerd/internal/testutil"
)

// searchReply is a "search" reply as a client decodes it.
type searchReply struct {
	Type    string   `json:"type"`
	Prefix  string   `json:"prefix"`
	Symbols []string `json:"symbols"`
	More    bool     `json:"more"`
}

func search(t testing.TB, c *testutil.Client, prefix string, limit int, id int) searchReply {
	t.Helper()
	req := fmt.Sprintf(`{"op":"search","prefix":%q,"id":%d}`, prefix, id)
	if limit > 0 {
		req = fmt.Sprintf(`{"op":"search","prefix":%q,"limit":%d,"id":%d}`, prefix, limit, id)
	}
	m, err := c.Request(req, fmt.Sprint(id), wait)
	if err != nil {
		t.Fatal(err)
	}
	var r searchReply
	if err := json.Unmarshal(m.Raw, &r); err != nil || r.Type != "search" {
		t.Fatalf("%s: reply %s (%v), want a search reply", req, m.Raw, err)
	}
	return r
}

func list(t testing.TB, c *testutil.Client, id int) []string {
	t.Helper()
	m, err := c.Request(fmt.Sprintf(`{"op":"list","id":%d}`, id), fmt.Sprint(id), wait)
	if err != nil {
		t.Fatal(err)
	}
	if m.Type != "symbols" {
		t.Fatalf("list: reply %s, want symbols", m.Raw)
	}
	return m.Symbols
}

func snapshotSymbols(h *hub.Hub) []string {
	var snaps []struct{ Symbol string }
	if err := json.Unmarshal(h.AppendSnapshots(nil), &snaps); err != nil {
		panic(err)
	}
	var out []string
	for _, s := range snaps {
		out = append(out, s.Symbol)
	}
	return out
}

// TestListDelist lists and delists symbols while a client is subscribed:
// the delisted symbol's subscriber is told and unsubscribed, the symbol
// leaves list, search, Symbols and AppendSnapshots at once and cannot be
// subscribed to; a listed one can, at once; a symbol listed again under
// the same name starts afresh.
func TestListDelist(t *testing.T) {
	srv := startHub(t, hub.Config{MessageRate: -1, Shards: 2}, nil)
	h := srv.h
	c, m := srv.dialReply(t, "?symbols=AAPL,MSFT")
	if m.Type != "subscribed" {
		t.Fatalf("reply %s, want subscribed", m.Raw)
	}
	publish(h, "AAPL", 10, "1.00")
	publish(h, "MSFT", 10, "2.00")
	seen := map[string]bool{}
	for len(seen) < 2 {
		m, err := c.Next(time.Now().Add(wait))
		if err != nil {
			t.Fatal(err)
		}
		seen[m.Symbol] = true
	}

	h.Delist([]string{"AAPL", "NOPE"})
	if slices.Contains(h.Symbols(), "AAPL") {
		t.Errorf("Symbols() still has AAPL after Delist")
	}
	if slices.Contains(snapshotSymbols(h), "AAPL") {
		t.Errorf("AppendSnapshots still has AAPL after Delist")
	}
	m, err := c.Next(time.Now().Add(wait))
	if err != nil {
		t.Fatal(err)
	}
	if m.Type != "delisted" || m.Symbol != "AAPL" || m.TS == 0 {
		t.Fatalf("after Delist: %s, want {\"type\":\"delisted\",\"symbol\":\"AAPL\",\"ts\":...}", m.Raw)
	}
	if got := h.Stats().Subscriptions; got != 1 {
		t.Errorf("Stats().Subscriptions = %d after AAPL was delisted, want 1 (MSFT)", got)
	}
	publish(h, "AAPL", 11, "1.10") // dropped: not listed
	publish(h, "MSFT", 11, "2.10")
	if m, err := c.Next(time.Now().Add(wait)); err != nil || m.Symbol != "MSFT" || m.Seq != 11 {
		t.Errorf("after the delisting: %s %v, want MSFT's tick 11 and nothing of AAPL", m.Raw, err)
	}
	if got := list(t, c, 1); slices.Contains(got, "AAPL") || !slices.Contains(got, "MSFT") {
		t.Errorf("list = %v, want MSFT and no AAPL", got)
	}
	if r := search(t, c, "AAP", 0, 2); len(r.Symbols) != 0 {
		t.Errorf("search AAP = %v, want nothing", r.Symbols)
	}
	m, err = c.Request(`{"op":"subscribe","symbols":["AAPL"],"id":3}`, "3", wait)
	if err != nil || m.Type != "error" || m.Code != "unknown_symbol" {
		t.Errorf("subscribe AAPL after the delisting: %s %v, want unknown_symbol", m.Raw, err)
	}

	h.List([]feed.Symbol{{Name: "NEW-1", PricePrec: 2}, {Name: "AAPL", PricePrec: 2}, {Name: "MSFT"}})
	if got := h.Symbols(); !slices.Contains(got, "NEW-1") || !slices.Contains(got, "AAPL") {
		t.Errorf("Symbols() after List lacks NEW-1 or AAPL")
	}
	if r := search(t, c, "NEW", 0, 4); !slices.Equal(r.Symbols, []string{"NEW-1"}) {
		t.Errorf("search NEW = %v, want [NEW-1]", r.Symbols)
	}
	m, err = c.Request(`{"op":"subscribe","symbols":["NEW-1","AAPL"],"id":5}`, "5", wait)
	if err != nil || m.Type != "subscribed" || strings.Join(m.Symbols, ",") != "NEW-1,AAPL" {
		t.Fatalf("subscribe NEW-1, AAPL after List: %s %v", m.Raw, err)
	}
	// AAPL listed again is a new symbol: its seqs start over.
	publish(h, "AAPL", 1, "3.00")
	publish(h, "NEW-1", 1, "4.00")
	got := map[string]string{}
	for len(got) < 2 {
		m, err := c.Next(time.Now().Add(wait))
		if err != nil {
			t.Fatal(err)
		}
		got[m.Symbol] = fmt.Sprintf("%s %d %s", m.Type, m.Seq, m.Price)
	}
	if got["AAPL"] != "snapshot 1 3.00" || got["NEW-1"] != "snapshot 1 4.00" {
		t.Errorf("after listing: %v, want a snapshot of seq 1 of each", got)
	}
	st := h.Stats()
	if st.Listed != 2 || st.Delisted != 1 || st.Symbols != int64(len(srv.syms)+1) {
		t.Errorf("Stats() Listed %d Delisted %d Symbols %d, want 2, 1, %d", st.Listed, st.Delisted, st.Symbols, len(srv.syms)+1)
	}
}

// TestSearch checks prefix search: byte order, the limit and the "more"
// flag, the default limit of 50.
func TestSearch(t *testing.T) {
	var syms []feed.Symbol
	for i := range 120 {
		syms = append(syms, feed.Symbol{Name: fmt.Sprintf("Q%03d", 119-i)})
	}
	syms = append(syms, feed.Symbol{Name: "QA"}, feed.Symbol{Name: "R"})
	srv := startHubWith(t, plainTCP, hub.Config{MessageRate: -1}, syms, nil)
	c := srv.dial(t, "")
	for _, tc := range []struct {
		prefix string
		limit  int
		want   []string
		more   bool
	}{
		{"Q00", 3, []string{"Q000", "Q001", "Q002"}, true},
		{"Q00", 10, []string{"Q000", "Q001", "Q002", "Q003", "Q004", "Q005", "Q006", "Q007", "Q008", "Q009"}, false},
		{"Q11", 0, []string{"Q110", "Q111", "Q112", "Q113", "Q114", "Q115", "Q116", "Q117", "Q118", "Q119"}, false},
		{"QA", 0, []string{"QA"}, false},
		{"R", 5, []string{"R"}, false},
		{"S", 5, nil, false},
	} {
		r := search(t, c, tc.prefix, tc.limit, 1)
		if !slices.Equal(r.Symbols, tc.want) || r.More != tc.more || r.Prefix != tc.prefix {
			t.Errorf("search %q limit %d = %v more %v, want %v more %v", tc.prefix, tc.limit, r.Symbols, r.More, tc.want, tc.more)
		}
	}
	r := search(t, c, "", 0, 2)
	if len(r.Symbols) != 50 || !r.More || r.Symbols[0] != "Q000" {
		t.Errorf("search \"\" = %d symbols from %v, more %v; want the first 50 and more", len(r.Symbols), r.Symbols[:min(3, len(r.Symbols))], r.More)
	}
}

// TestListAndSearchLarge: list and search over a universe of 100,000
// symbols, with 1,000 more listed and 1,000 delisted while a client asks.
func TestListAndSearchLarge(t *testing.T) {
	const n = 100_000
	syms := make([]feed.Symbol, n)
	for i := range syms {
		syms[i] = feed.Symbol{Name: fmt.Sprintf("OPT%06d", i)}
	}
	srv := startHubWith(t, plainTCP, hub.Config{MessageRate: -1}, syms, nil)
	c := srv.dial(t, "")
	if got := list(t, c, 1); len(got) != n || got[0] != "OPT000000" || got[n-1] != "OPT099999" {
		t.Fatalf("list: %d names, want %d in listing order", len(got), n)
	}
	var more []feed.Symbol
	var gone []string
	for i := range 1000 {
		more = append(more, feed.Symbol{Name: fmt.Sprintf("NEW%04d", i)})
		gone = append(gone, fmt.Sprintf("OPT%06d", 2*i))
	}
	start := time.Now()
	srv.h.List(more)
	srv.h.Delist(gone)
	t.Logf("listing and delisting 1,000 symbols each at %d: %v", n, time.Since(start))
	got := list(t, c, 2)
	if len(got) != n || slices.Contains(got, "OPT000000") || got[len(got)-1] != "NEW0999" {
		t.Errorf("list after the changes: %d names, last %q, want %d ending with NEW0999 and no OPT000000", len(got), got[len(got)-1], n)
	}
	if r := search(t, c, "OPT00001", 0, 3); !slices.Equal(r.Symbols, []string{"OPT000011", "OPT000013", "OPT000015", "OPT000017", "OPT000019"}) {
		t.Errorf("search OPT00001 = %v, want the odd ones 11..19", r.Symbols)
	}
	if r := search(t, c, "NEW", 500, 4); len(r.Symbols) != 500 || !r.More || r.Symbols[499] != "NEW0499" {
		t.Errorf("search NEW limit 500 = %d names (more %v), want 500 and more", len(r.Symbols), r.More)
	}
}

// delistClient is a client that subscribes to random symbols of a
// universe that changes under it, and checks what it gets with its
// quoteView, and that a delisting is only of what it holds.
type delistClient struct {
	c *testutil.Client
	quoteView
	delisted int
}

func (dc *delistClient) onMsg(m testutil.Msg) {
	switch {
	case dc.err != nil:
	case m.Type == "delisted":
		if !dc.subs[m.Symbol] {
			dc.err = fmt.Errorf("delisted %s, which is not subscribed", m.Symbol)
		}
		delete(dc.subs, m.Symbol)
		delete(dc.needSnap, m.Symbol)
		delete(dc.seq, m.Symbol) // a symbol listed again starts afresh
		dc.delisted++
	case m.IsData():
		dc.data(m)
	}
}

// run subscribes and unsubscribes random sets of names until until.
func (dc *delistClient) run(r *rand.Rand, names []string, until time.Time) error {
	for id := 1; time.Now().Before(until) && dc.err == nil; id++ {
		op, req, set := randomRequest(r, names, 8, 3, id)
		if err := dc.c.Send(req); err != nil {
			return err
		}
		for {
			m, err := dc.c.Next(time.Now().Add(wait))
			if err != nil {
				return fmt.Errorf("%s: %w", req, err)
			}
			if string(m.ID) != fmt.Sprint(id) {
				dc.onMsg(m)
				continue
			}
			switch {
			case m.Type == op+"d":
				dc.replied(op, m.Symbols)
				if len(m.Symbols) < len(slices.Compact(slices.Sorted(slices.Values(set)))) {
					continue // the unknown_symbol error follows
				}
			case m.Type == "error" && m.Code == "unknown_symbol":
				// Delisted (or not listed yet) when the request came.
			default:
				return fmt.Errorf("%s: reply %s", req, m.Raw)
			}
			break
		}
	}
	return dc.err
}

// TestDelistUnderLoad lists and delists symbols over and over while
// clients on four shards subscribe and unsubscribe them and a publisher
// publishes every listed symbol: no client may see data it did not
// subscribe to or a delisting of what it does not hold, and when it is
// over the hub counts exactly the subscriptions the clients believe they
// have, and none once they are gone.
func TestDelistUnderLoad(t *testing.T) {
	var watchMu sync.Mutex
	watched := map[string]bool{}
	cfg := hub.Config{Shards: 4, MessageRate: -1, OnWatch: func(sym string, w bool) {
		watchMu.Lock()
		defer watchMu.Unlock()
		watched[sym] = w
	}}
	srv := startHubWith(t, plainTCP, cfg, nil, nil)
	h := srv.h
	var names []string
	for i := range 40 {
		names = append(names, fmt.Sprintf("D%02d", i))
	}
	all := make([]feed.Symbol, len(names))
	for i, n := range names {
		all[i] = feed.Symbol{Name: n}
	}
	h.List(all)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { // the publisher: every name, listed or not
		seq := uint64(0)
		for {
			select {
			case <-stop:
				return
			default:
			}
			seq++
			for _, n := range names {
				publish(h, n, seq, "1.00")
			}
			time.Sleep(2 * time.Millisecond)
		}
	})
	wg.Go(func() { // the lister: delists a few, lists them again
		r := rand.New(rand.NewPCG(9, 9))
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			var gone []string
			for range 1 + r.IntN(4) {
				gone = append(gone, names[r.IntN(len(names))])
			}
			h.Delist(gone)
			time.Sleep(5 * time.Millisecond)
			h.List(all)
		}
	})

	clients := make([]*delistClient, 8)
	for i := range clients {
		clients[i] = &delistClient{c: srv.dial(t, ""), quoteView: newQuoteView()}
	}
	until := time.Now().Add(3 * time.Second)
	errs := make([]error, len(clients))
	var cwg sync.WaitGroup
	for i, dc := range clients {
		cwg.Go(func() { errs[i] = dc.run(rand.New(rand.NewPCG(uint64(i), 5)), names, until) })
	}
	cwg.Wait()
	close(stop)
	wg.Wait()

	// Read what is still on its way (delistings, data) with a final ping.
	want, delisted := 0, 0
	for i, dc := range clients {
		if errs[i] != nil {
			t.Errorf("client %d: %v", i, errs[i])
			continue
		}
		if err := dc.c.Send(`{"op":"ping","id":"end"}`); err != nil {
			t.Fatal(err)
		}
		for {
			m, err := dc.c.Next(time.Now().Add(wait))
			if err != nil {
				t.Fatal(err)
			}
			if m.Type == "pong" {
				break
			}
			dc.onMsg(m)
		}
		if dc.err != nil {
			t.Errorf("client %d: %v", i, dc.err)
		}
		want += len(dc.subs)
		delisted += dc.delisted
	}
	t.Logf("%d delistings seen by the clients; %d subscriptions at the end", delisted, want)
	if delisted == 0 {
		t.Errorf("no client saw a delisting: the test did not test it")
	}
	if got := h.Stats().Subscriptions; got != int64(want) {
		t.Errorf("Stats().Subscriptions = %d, want %d (the clients' own count)", got, want)
	}
	for _, dc := range clients {
		dc.c.Close()
	}
	if !testutil.Eventually(wait, func() bool { return h.Stats().Subscriptions == 0 }) {
		t.Errorf("Stats().Subscriptions = %d after every client left, want 0", h.Stats().Subscriptions)
	}
	watchMu.Lock()
	defer watchMu.Unlock()
	for s, w := range watched {
		if w {
			t.Errorf("OnWatch last said %s is watched, after every client left", s)
		}
	}
}

// TestDelistInChunks delists more subscriptions than one shard ends in a
// piece (hub.DelistChunk) while the other symbols keep publishing: every
// subscriber is told of every symbol it held, once, and no data of a
// delisted symbol follows its notice, though the shard writes the live
// symbols between the pieces. The notices (over MaxPendingReplies of
// them, over MaxPendingReplyBytes) do not count against the budget of the
// client's own requests: one sent while they are queued is answered.
func TestDelistInChunks(t *testing.T) {
	srv := startHub(t, hub.Config{MessageRate: -1, Shards: 1}, nil)
	h := srv.h
	const per = 999 // and LIVE: the cap of a connection
	clients := 2*hub.DelistChunk/per + 3
	h.List(hub.SymbolsNamed("A-LONG-CONTRACT-NAME-%04d", per))
	h.List([]feed.Symbol{{Name: "LIVE", PricePrec: 2}})
	names := make([]string, per)
	for i := range names {
		names[i] = fmt.Sprintf("A-LONG-CONTRACT-NAME-%04d", i)
	}
	req, _ := json.Marshal(map[string]any{"op": "subscribe", "symbols": names, "id": 1})
	cs := make([]*testutil.Client, clients)
	for i := range cs {
		cs[i] = srv.dial(t, "?symbols=LIVE")
		subscribe(t, cs[i], string(req), "1")
	}
	if got, want := h.Stats().Subscriptions, int64(clients*(per+1)); got != want {
		t.Fatalf("Stats().Subscriptions = %d, want %d", got, want)
	}
	for i, n := range names {
		publish(h, n, 1, "1.00")
		if i%100 == 0 {
			publish(h, "LIVE", uint64(i+1), "2.00")
		}
	}
	h.Delist(names)
	for _, c := range cs {
		if err := c.Send(`{"op":"ping","id":"early"}`); err != nil {
			t.Fatal(err)
		}
	}
	publish(h, "LIVE", 5000, "2.50")
	for _, n := range names {
		publish(h, n, 2, "1.10") // dropped: not listed
	}
	for i, c := range cs {
		// The notices, then (a ping's round trip) nothing more of them.
		told := map[string]bool{}
		ended := false
		for !ended {
			m, err := c.Next(time.Now().Add(wait))
			if err != nil {
				t.Fatalf("client %d: %v after %d notices", i, err, len(told))
			}
			switch {
			case m.Type == "pong":
				ended = string(m.ID) == `"end"`
			case m.Type == "delisted":
				if told[m.Symbol] {
					t.Fatalf("client %d: %s delisted twice", i, m.Symbol)
				}
				if told[m.Symbol] = true; len(told) == per {
					if err := c.Send(`{"op":"ping","id":"end"}`); err != nil {
						t.Fatal(err)
					}
				}
			case m.Symbol != "LIVE" && told[m.Symbol]:
				t.Fatalf("client %d: %s after its delisted notice", i, m.Raw)
			case m.Symbol != "LIVE" && m.Seq != 1:
				t.Fatalf("client %d: %s, published after the delisting", i, m.Raw)
			}
		}
	}
	if got, want := h.Stats().Subscriptions, int64(clients); got != want {
		t.Errorf("Stats().Subscriptions = %d after the delisting, want %d (LIVE)", got, want)
	}
}
