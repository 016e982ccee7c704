package tickerd_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/shopspring/decimal"
	"github.com/tickerd/tickerd"
	"github.com/tickerd/tickerd/feed/sim"
	"github.com/tickerd/tickerd/hub"
	"github.com/tickerd/tickerd/internal/apptest"
	"github.com/tickerd/tickerd/internal/testutil"
)

// wait bounds every wait: generous for a loaded 2-core machine under -race.
const wait = 10 * time.Second

// precision of every simulated symbol: price and volume decimals.
var precision = func() map[string][2]int32 {
	m := map[string][2]int32{}
	for _, s := range sim.Universe() {
		m[s.Name] = [2]int32{s.PricePrec, s.VolumePrec}
	}
	return m
}()

// dataRE is a tick or snapshot, field by field in protocol order.
var dataRE = regexp.MustCompile(`^\{"type":"(tick|snapshot)","symbol":"([^"\\]+)","seq":([1-9][0-9]*),` +
	`"price":"([^"]*)","bid":"([^"]*)","ask":"([^"]*)","open":"([^"]*)","high":"([^"]*)","low":"([^"]*)",` +
	`"volume":"([^"]*)","ts":([1-9][0-9]*)\}$`)

func decimalRE(prec int32) *regexp.Regexp {
	if prec == 0 {
		return regexp.MustCompile(`^-?[0-9]+$`)
	}
	return regexp.MustCompile(fmt.Sprintf(`^-?[0-9]+\.[0-9]{%d}$`, prec))
}

// checkData checks one tick or snapshot: field order, every price with the
// symbol's precision, volume with its volume precision, and the prices
// consistent (bid <= price <= ask, low <= price <= high).
func checkData(raw []byte) error {
	m := dataRE.FindStringSubmatch(string(raw))
	if m == nil {
		return fmt.Errorf("not a tick or snapshot in protocol order: %s", raw)
	}
	sym := m[2]
	p, ok := precision[sym]
	if !ok {
		return fmt.Errorf("unknown symbol %q in %s", sym, raw)
	}
	pre, vre := decimalRE(p[0]), decimalRE(p[1])
	names := []string{"price", "bid", "ask", "open", "high", "low"}
	d := map[string]decimal.Decimal{}
	for i, name := range names {
		v := m[4+i]
		if !pre.MatchString(v) {
			return fmt.Errorf("%s %s %q: want %d decimals: %s", sym, name, v, p[0], raw)
		}
		d[name] = decimal.RequireFromString(v)
	}
	if !vre.MatchString(m[10]) {
		return fmt.Errorf("%s volume %q: want %d decimals: %s", sym, m[10], p[1], raw)
	}
	if d["bid"].GreaterThan(d["price"]) || d["price"].GreaterThan(d["ask"]) ||
		d["low"].GreaterThan(d["price"]) || d["price"].GreaterThan(d["high"]) {
		return fmt.Errorf("%s prices out of order (want bid <= price <= ask, low <= price <= high): %s", sym, raw)
	}
	return nil
}

func allNames() []string {
	var names []string
	for _, s := range sim.Universe() {
		names = append(names, s.Name)
	}
	return names
}

func subscribeReq(id string, syms ...string) string {
	b, _ := json.Marshal(syms)
	return fmt.Sprintf(`{"op":"subscribe","symbols":%s,"id":%s}`, b, id)
}

// TestSnapshotThenTicks subscribes to every symbol: each one's first
// message is a snapshot, then ticks with rising seq, every price with the
// symbol's exact precision.
func TestSnapshotThenTicks(t *testing.T) {
	r := apptest.Start(t, tickerd.Config{Sim: sim.Config{Seed: 1, Rate: 3000}, DrainWindow: -1})
	c := r.Dial(t, "")
	names := allNames()
	m, err := c.Request(subscribeReq("1", names...), "1", wait)
	if err != nil {
		t.Fatal(err)
	}
	if m.Type != "subscribed" || len(m.Symbols) != len(names) {
		t.Fatalf("reply %s, want subscribed with all %d symbols", m.Raw, len(names))
	}
	last := map[string]uint64{}
	ticks := map[string]int{}
	watch := []string{"AAPL", "EUR/USD", "BTC-USD"} // 2, 5 price decimals; 8 volume decimals
	deadline := time.Now().Add(wait)
	for n := 0; ; n++ {
		done := true
		for _, s := range watch {
			done = done && ticks[s] >= 3
		}
		if done && n > 1000 {
			break
		}
		m, err := c.Next(deadline)
		if err != nil {
			t.Fatalf("after %d messages (ticks %v): %v", n, ticks, err)
		}
		if !m.IsData() {
			t.Fatalf("unexpected message %s", m.Raw)
		}
		if err := checkData(m.Raw); err != nil {
			t.Error(err)
		}
		prev, seen := last[m.Symbol]
		switch {
		case !seen && m.Type != "snapshot":
			t.Errorf("first message for %s is a %s, want a snapshot", m.Symbol, m.Type)
		case seen && m.Type != "tick":
			t.Errorf("second snapshot for %s: %s", m.Symbol, m.Raw)
		case seen && m.Seq <= prev:
			t.Errorf("%s seq %d after %d, want increasing", m.Symbol, m.Seq, prev)
		}
		if seen {
			ticks[m.Symbol]++
		}
		last[m.Symbol] = m.Seq
	}
}

// TestUnsubscribeStopsFlow: after the "unsubscribed" reply no tick of the
// symbol arrives, while the symbol keeps ticking fast.
func TestUnsubscribeStopsFlow(t *testing.T) {
	r := apptest.Start(t, tickerd.Config{Sim: sim.Config{Seed: 1, Rate: 2000, Symbols: 2, Steady: true}, Hub: hub.Config{MessageRate: -1}, DrainWindow: -1})
	c := r.Dial(t, "?symbols=AAPL,MSFT")
	if _, err := c.Await("", wait); err != nil { // the reply to ?symbols=
		t.Fatal(err)
	}
	var after []string
	unsubscribed := false
	got := map[string]int{}
	c.OnData = func(m testutil.Msg) {
		got[m.Symbol]++
		if unsubscribed && m.Symbol == "AAPL" {
			after = append(after, string(m.Raw))
		}
	}
	for got["AAPL"] < 20 {
		if err := c.Ping(fmt.Sprint(got["AAPL"]), wait); err != nil {
			t.Fatal(err)
		}
	}
	m, err := c.Request(`{"op":"unsubscribe","symbols":["AAPL"],"id":"u"}`, `"u"`, wait)
	if err != nil {
		t.Fatal(err)
	}
	if m.Type != "unsubscribed" || len(m.Symbols) != 1 || m.Symbols[0] != "AAPL" {
		t.Fatalf("reply %s, want unsubscribed [AAPL]", m.Raw)
	}
	unsubscribed = true
	msft := got["MSFT"]
	time.Sleep(300 * time.Millisecond) // ~300 AAPL ticks would come meanwhile
	if err := c.Ping(`"end"`, wait); err != nil {
		t.Fatal(err)
	}
	if len(after) > 0 {
		t.Errorf("%d AAPL ticks after unsubscribed, first: %s", len(after), after[0])
	}
	if got["MSFT"] <= msft {
		t.Errorf("MSFT stopped too: %d ticks before, %d after", msft, got["MSFT"])
	}
}

// TestQuerySymbols subscribes with ?symbols=: the reply lists the known
// ones, an error lists the unknown ones, and a snapshot of each follows.
func TestQuerySymbols(t *testing.T) {
	r := apptest.Start(t, tickerd.Config{Sim: sim.Config{Seed: 1, Rate: 1000, Symbols: 10}, DrainWindow: -1})
	c := r.Dial(t, "?symbols=AAPL,NOPE,EUR/USD")
	expectPartial(t, c, "", []string{"AAPL", "EUR/USD"}, []string{"NOPE"})
}

// expectPartial checks what a subscription of some known and some unknown
// symbols gets, its replies carrying id ("" for ?symbols=): subscribed with
// the known ones, then error unknown_symbol with the unknown ones, then a
// snapshot of each known symbol and no data of any other, all well formed.
func expectPartial(t *testing.T, c *testutil.Client, id string, known, unknown []string) {
	t.Helper()
	m, err := c.Await(id, wait)
	if err != nil {
		t.Fatal(err)
	}
	if m.Type != "subscribed" || strings.Join(m.Symbols, ",") != strings.Join(known, ",") {
		t.Errorf("first reply %s, want subscribed %v", m.Raw, known)
	}
	m, err = c.Await(id, wait)
	if err != nil {
		t.Fatal(err)
	}
	if m.Type != "error" || m.Code != "unknown_symbol" || strings.Join(m.Symbols, ",") != strings.Join(unknown, ",") {
		t.Errorf("second reply %s, want error unknown_symbol %v", m.Raw, unknown)
	}
	snaps := map[string]bool{}
	for deadline := time.Now().Add(wait); len(snaps) < len(known); {
		m, err := c.Next(deadline)
		if err != nil {
			t.Fatalf("snapshots so far %v: %v", snaps, err)
		}
		if m.Type == "snapshot" {
			snaps[m.Symbol] = true
		}
		if !slices.Contains(known, m.Symbol) {
			t.Errorf("message for a symbol not asked for: %s", m.Raw)
		}
		if err := checkData(m.Raw); err != nil {
			t.Error(err)
		}
	}
}

// TestBadRequests sends every kind of bad input: each gets its error code
// with the id echoed exactly as sent (number or string), and the
// connection keeps working.
func TestBadRequests(t *testing.T) {
	r := apptest.Start(t, tickerd.Config{Sim: sim.Config{Seed: 1, Rate: 100, Symbols: 5}, Hub: hub.Config{MessageRate: -1}, DrainWindow: -1})
	tooMany := make([]string, 1001)
	for i := range tooMany {
		tooMany[i] = fmt.Sprintf("S%d", i)
	}
	cases := []struct {
		name  string
		req   string // %s: the id
		code  string
		noID  bool // the id cannot be read back (not valid JSON, or not a number/string)
		binry bool
	}{
		{"bad JSON", `{"op":"subscribe","id":%s,`, "bad_request", false, false}, // the id came before the error
		{"not JSON", `hello %s`, "bad_request", true, false},
		{"not an object", `["ping",%s]`, "bad_request", true, false},
		{"unknown op", `{"op":"fly","id":%s}`, "unknown_op", false, false},
		{"missing op", `{"id":%s}`, "bad_request", false, false},
		{"unknown symbol", `{"op":"subscribe","symbols":["NOPE"],"id":%s}`, "unknown_symbol", false, false},
		{"unknown symbol in unsubscribe", `{"op":"unsubscribe","symbols":["NOPE"],"id":%s}`, "unknown_symbol", false, false},
		{"too many symbols", `{"op":"subscribe","symbols":["` + strings.Join(tooMany, `","`) + `"],"id":%s}`, "too_many_symbols", false, false},
		{"empty symbols", `{"op":"subscribe","symbols":[],"id":%s}`, "bad_request", false, false},
		{"no symbols", `{"op":"subscribe","id":%s}`, "bad_request", false, false},
		{"op not a string", `{"op":1,"id":%s}`, "bad_request", false, false},
		{"symbols not an array", `{"op":"subscribe","symbols":"AAPL","id":%s}`, "bad_request", false, false},
		{"symbol not a string", `{"op":"subscribe","symbols":[1],"id":%s}`, "bad_request", false, false},
		{"empty symbol", `{"op":"subscribe","symbols":[""],"id":%s}`, "bad_request", false, false},
		{"unknown field", `{"op":"ping","id":%s,"extra":1}`, "bad_request", false, false},
		{"duplicate field", `{"op":"ping","op":"list","id":%s}`, "bad_request", false, false},
		{"trailing data", `{"op":"ping","id":%s} x`, "bad_request", false, false},
		{"binary frame", `{"op":"ping","id":%s}`, "bad_request", true, true},
	}
	ids := []string{`7`, `"req-7"`, `-1.5e3`}
	c := r.Dial(t, "")
	for _, tc := range cases {
		for _, id := range ids {
			t.Run(tc.name+" id "+id, func(t *testing.T) {
				req := fmt.Sprintf(tc.req, id)
				var err error
				if tc.binry {
					err = c.C.WriteMessage(websocket.BinaryMessage, []byte(req))
				} else {
					err = c.Send(req)
				}
				if err != nil {
					t.Fatal(err)
				}
				want := id
				if tc.noID {
					want = ""
				}
				m, err := c.Await(want, wait)
				if err != nil {
					t.Fatalf("%s: %v", req[:min(len(req), 80)], err)
				}
				if m.Type != "error" || m.Code != tc.code {
					t.Errorf("%.80s: reply %s, want error %s", req, m.Raw, tc.code)
				}
				if m.Message == "" {
					t.Errorf("%.80s: error without a message: %s", req, m.Raw)
				}
				if tc.code == "unknown_symbol" && strings.Join(m.Symbols, ",") != "NOPE" {
					t.Errorf("unknown_symbol error lists %v, want [NOPE]", m.Symbols)
				}
				// The connection still works.
				if err := c.Ping(`"after"`, wait); err != nil {
					t.Errorf("after %.80s: %v", req, err)
				}
			})
		}
	}
}

// TestPartlyUnknownSubscribe: the known symbols are subscribed (and get
// their snapshot), the unknown ones reported with the same id.
func TestPartlyUnknownSubscribe(t *testing.T) {
	r := apptest.Start(t, tickerd.Config{Sim: sim.Config{Seed: 1, Rate: 500, Symbols: 5}, DrainWindow: -1})
	c := r.Dial(t, "")
	if err := c.Send(`{"op":"subscribe","symbols":["XYZ","AAPL","MSFT","QQQQ"],"id":"s1"}`); err != nil {
		t.Fatal(err)
	}
	expectPartial(t, c, `"s1"`, []string{"AAPL", "MSFT"}, []string{"XYZ", "QQQQ"})
}

// TestListAndPing checks the list and ping replies.
func TestListAndPing(t *testing.T) {
	r := apptest.Start(t, tickerd.Config{Sim: sim.Config{Seed: 1, Rate: 100}, DrainWindow: -1})
	c := r.Dial(t, "")
	m, err := c.Request(`{"op":"list","id":3}`, "3", wait)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(m.Symbols, ","), strings.Join(allNames(), ","); m.Type != "symbols" || got != want {
		t.Errorf("list reply %s, want symbols %s", m.Raw, want)
	}
	before := time.Now().UnixNano()
	m, err = c.Request(`{"op":"ping","id":"p"}`, `"p"`, wait)
	if err != nil {
		t.Fatal(err)
	}
	if m.Type != "pong" || m.TS < before || m.TS > time.Now().UnixNano() {
		t.Errorf("ping reply %s, want pong with ts between %d and now", m.Raw, before)
	}
	if m, err = c.Request(`{"op":"ping"}`, "", wait); err != nil || m.Type != "pong" {
		t.Errorf("ping without id: %s, %v; want a pong without id", m.Raw, err)
	}
}

// TestAPISymbolsAndHealthz checks /api/symbols (a JSON array of snapshot
// objects) and /healthz.
func TestAPISymbolsAndHealthz(t *testing.T) {
	r := apptest.Start(t, tickerd.Config{Sim: sim.Config{Seed: 1, Rate: 2000, Symbols: 20, Steady: true}, DrainWindow: -1})
	base := "http://" + r.Addr
	var snaps []json.RawMessage
	ok := testutil.Eventually(wait, func() bool {
		status, body, hdr, err := testutil.HTTPGet(base+"/api/symbols", wait)
		if err != nil || status != 200 {
			t.Fatalf("/api/symbols: %d, %v", status, err)
		}
		if ct := hdr.Get("Content-Type"); ct != "application/json" {
			t.Errorf("/api/symbols Content-Type %q, want application/json", ct)
		}
		if err := json.Unmarshal(body, &snaps); err != nil {
			t.Fatalf("/api/symbols is not a JSON array: %v: %.200s", err, body)
		}
		return len(snaps) == 20
	})
	if !ok {
		t.Fatalf("/api/symbols has %d snapshots, want 20", len(snaps))
	}
	for _, s := range snaps {
		if !strings.HasPrefix(string(s), `{"type":"snapshot",`) {
			t.Errorf("/api/symbols element %s, want a snapshot", s)
		}
		if err := checkData(s); err != nil {
			t.Error(err)
		}
	}
	status, body, _, err := testutil.HTTPGet(base+"/healthz", wait)
	if err != nil || status != 200 || string(body) != "ok\n" {
		t.Errorf("/healthz = %d %q %v, want 200 \"ok\\n\"", status, body, err)
	}
}

// TestShutdownGoingAway cancels Serve's context: every client gets 1001
// and Serve returns nil.
func TestShutdownGoingAway(t *testing.T) {
	for _, window := range []time.Duration{-1, time.Second} {
		t.Run(fmt.Sprint("drain window ", window), func(t *testing.T) {
			r := apptest.Start(t, tickerd.Config{Sim: sim.Config{Seed: 1, Rate: 1000, Symbols: 5}, DrainWindow: window})
			var cs []*testutil.Client
			for range 5 {
				cs = append(cs, r.Dial(t, "?symbols=AAPL,MSFT"))
			}
			r.Stop()
			testutil.WantClose(t, 1001, wait, cs...)
			err, ok := r.Wait(wait)
			if !ok {
				t.Fatalf("Serve did not return within %v", wait)
			}
			if err != nil {
				t.Errorf("Serve = %v, want nil", err)
			}
			if n := r.Hub().Conns(); n != 0 {
				t.Errorf("Conns() = %d after Serve returned, want 0", n)
			}
		})
	}
}
