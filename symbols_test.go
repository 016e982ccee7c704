package tickerd_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/tickerd/tickerd"
	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/feed/sim"
	"github.com/tickerd/tickerd/internal/apptest"
	"github.com/tickerd/tickerd/internal/testutil"
)

// scripted is a feed that runs its script once at the start of each run,
// then publishes nothing until the server stops it.
type scripted struct {
	syms   []feed.Symbol
	script func(feed.Sink)
}

func (f scripted) Symbols() []feed.Symbol { return f.syms }

func (f scripted) Run(ctx context.Context, sink feed.Sink) error {
	f.script(sink)
	<-ctx.Done()
	return nil
}

// listed are symbols named for the prefix and name filters; ZZZ never
// ticks, so no answer lists it.
var listed = func() []feed.Symbol {
	var syms []feed.Symbol
	for _, n := range []string{"AAPL", "MSFT", "AAL", "BTC-USD", "EUR/USD", "BTC-EUR", "ZZZ"} {
		syms = append(syms, feed.Symbol{Name: n, Class: "equity", PricePrec: 2, TickSize: decimal.New(1, -2)})
	}
	return syms
}()

// quoted is listed with one tick for each symbol but the last.
func quoted() scripted {
	return scripted{syms: listed, script: func(sink feed.Sink) {
		for i, s := range listed[:len(listed)-1] {
			sink.Publish(testutil.Tick(s.Name, 1, decimal.New(int64(100_00+i), -2).StringFixed(2)))
		}
	}}
}

// symbolsOf GETs url (an /api/symbols request) with token, if any, and
// returns the status, the symbols of the snapshots answered (nil unless
// 200) and the body.
func symbolsOf(t *testing.T, url, token string) (int, []string, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	c := http.Client{Timeout: wait}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, nil, string(b)
	}
	var snaps []struct{ Type, Symbol string }
	if err := json.Unmarshal(b, &snaps); err != nil {
		t.Fatalf("GET %s: not a JSON array: %v: %.200s", url, err, b)
	}
	names := []string{}
	for _, s := range snaps {
		if s.Type != "snapshot" {
			t.Errorf("GET %s: element of type %q, want snapshot", url, s.Type)
		}
		names = append(names, s.Symbol)
	}
	return resp.StatusCode, names, string(b)
}

// waitSymbols polls url until it answers 200 with the snapshots of want.
func waitSymbols(t *testing.T, url, token string, want []string) string {
	t.Helper()
	var status int
	var got []string
	var body string
	if !testutil.Eventually(wait, func() bool {
		status, got, body = symbolsOf(t, url, token)
		return status == http.StatusOK && slices.Equal(got, want)
	}) {
		t.Fatalf("GET %s = %d %v %q, want 200 %v", url, status, got, body, want)
	}
	return body
}

// TestAPISymbolsParts: ?prefix= and ?symbols= pick part of the list, in
// listing order, the token's entitlements still apply, and an answer over
// HTTP.MaxSnapshots is refused with a hint, never cut.
func TestAPISymbolsParts(t *testing.T) {
	r := apptest.Start(t, tickerd.Config{Feed: quoted(), HTTP: tickerd.HTTPConfig{MaxSnapshots: 4},
		ReadyMaxFeedAge: -1, DrainWindow: -1})
	base := "http://" + r.Addr + "/api/symbols"
	waitSymbols(t, base+"?prefix=A", "", []string{"AAPL", "AAL"})
	for _, tt := range []struct {
		query  string
		status int
		want   []string // with status 200
		says   string   // in the body of a refusal
	}{
		{"", http.StatusBadRequest, nil, "ask for part with ?prefix= or ?symbols="},
		{"?prefix=", http.StatusBadRequest, nil, "ask for part"},
		{"?prefix=BTC-", 200, []string{"BTC-USD", "BTC-EUR"}, ""},
		{"?prefix=" + url.QueryEscape("EUR/"), 200, []string{"EUR/USD"}, ""},
		{"?prefix=aapl", 200, []string{}, ""}, // names are case-sensitive
		{"?symbols=" + url.QueryEscape("EUR/USD,AAPL,ZZZ,AAPL"), 200, []string{"AAPL", "EUR/USD"}, ""},
		{"?symbols=AAPL,MSFT,AAL,BTC-USD", 200, []string{"AAPL", "MSFT", "AAL", "BTC-USD"}, ""},
		{"?symbols=AAPL,MSFT,AAL,BTC-USD,EUR/USD", http.StatusBadRequest, nil, "more than an answer holds"},
		{"?symbols=" + strings.Repeat("X,", 5), http.StatusBadRequest, nil, "names 6 symbols"},
		{"?symbols=", 200, []string{}, ""},
		{"?prefix=A&symbols=AAPL,MSFT", 200, []string{"AAPL"}, ""},
	} {
		status, got, body := symbolsOf(t, base+tt.query, "")
		if status != tt.status || status == 200 && !slices.Equal(got, tt.want) || !strings.Contains(body, tt.says) {
			t.Errorf("GET /api/symbols%s = %d %v %q, want %d %v %q", tt.query, status, got, body, tt.status, tt.want, tt.says)
		}
	}

	// Entitlements first: the token allows few enough for the whole list.
	sr := apptest.Start(t, tickerd.Config{Feed: quoted(), Auth: verifier(t), HTTP: tickerd.HTTPConfig{MaxSnapshots: 2},
		ReadyMaxFeedAge: -1, DrainWindow: -1})
	base = "http://" + sr.Addr + "/api/symbols"
	tok := mint(t, secret, []string{"BTC-*"}, time.Hour)
	waitSymbols(t, base, tok, []string{"BTC-USD", "BTC-EUR"})
	if status, got, _ := symbolsOf(t, base+"?prefix=A", tok); status != 200 || len(got) != 0 {
		t.Errorf("?prefix=A with a BTC-* token = %d %v, want 200 and none", status, got)
	}
	if status, _, _ := symbolsOf(t, base+"?prefix=BTC", ""); status != http.StatusUnauthorized {
		t.Errorf("no token = %d, want 401", status)
	}
}

// TestAPISymbolsOnEdge: an edge answers /api/symbols with the same bytes
// as the feed node whatever its own clients watch (none here), keeps the
// token's entitlements and the parts, and answers 503 with the reason,
// never part of the list, while it cannot read NATS.
func TestAPISymbolsOnEdge(t *testing.T) {
	ns := apptest.StartNATS(t)
	natsURL := []string{ns.ClientURL()}
	authn := verifier(t)
	feedNode := apptest.Start(t, tickerd.Config{Feed: quoted(), Auth: authn,
		Cluster: tickerd.ClusterConfig{NATS: natsURL}, ReadyMaxFeedAge: -1, DrainWindow: -1})
	edge := apptest.Start(t, tickerd.Config{Auth: authn,
		Cluster: tickerd.ClusterConfig{Role: tickerd.RoleEdge, NATS: natsURL}, ReadyMaxFeedAge: -1, DrainWindow: -1})
	all := mint(t, secret, []string{"*"}, time.Hour)
	want := []string{"AAPL", "MSFT", "AAL", "BTC-USD", "EUR/USD", "BTC-EUR"}
	onFeed := waitSymbols(t, "http://"+feedNode.Addr+"/api/symbols", all, want)
	onEdge := waitSymbols(t, "http://"+edge.Addr+"/api/symbols", all, want)
	if onEdge != onFeed {
		t.Errorf("the edge answers\n%s\nthe feed node\n%s", onEdge, onFeed)
	}
	if v, ok := metricValue(t, edge.Server, "tickerd_edge_watching"); !ok || v != 0 {
		t.Errorf("tickerd_edge_watching = %v (%v), want 0: the answer needs no watching", v, ok)
	}
	for _, tt := range []struct {
		token, query string
		want         []string
	}{
		{mint(t, secret, []string{"AAPL", "BTC-*"}, time.Hour), "", []string{"AAPL", "BTC-USD", "BTC-EUR"}},
		{all, "?prefix=BTC", []string{"BTC-USD", "BTC-EUR"}},
		{all, "?symbols=MSFT,ZZZ", []string{"MSFT"}},
	} {
		for _, node := range []*apptest.Server{feedNode, edge} {
			if status, got, body := symbolsOf(t, "http://"+node.Addr+"/api/symbols"+tt.query, tt.token); status != 200 || !slices.Equal(got, tt.want) {
				t.Errorf("%s/api/symbols%s = %d %v %q, want 200 %v", node.Addr, tt.query, status, got, body, tt.want)
			}
		}
	}
	if status, _, _ := symbolsOf(t, "http://"+edge.Addr+"/api/symbols", ""); status != http.StatusUnauthorized {
		t.Errorf("edge without a token = %d, want 401", status)
	}

	ns.Shutdown()
	ns.WaitForShutdown()
	var body string
	if !testutil.Eventually(wait, func() bool {
		var status int
		var got []string
		status, got, body = symbolsOf(t, "http://"+edge.Addr+"/api/symbols", all)
		if status == 200 && !slices.Equal(got, want) {
			t.Fatalf("with NATS gone the edge answers part of the list: %v", got)
		}
		return status == http.StatusServiceUnavailable
	}) {
		t.Fatalf("with NATS gone the edge still answers %q, want 503", body)
	}
	if !strings.Contains(body, "nats") {
		t.Errorf("the 503 says %q, want the reason (the NATS connection)", body)
	}
}

// TestAPISymbolsLargeUniverse: with 100,000 symbols (most of them quiet)
// the whole list, once more than HTTP.MaxSnapshots have a snapshot, is
// refused with the hint, and a prefix still answers.
func TestAPISymbolsLargeUniverse(t *testing.T) {
	if testing.Short() {
		t.Skip("a 100,000-symbol universe")
	}
	const most = 1000
	r := apptest.Start(t, tickerd.Config{Sim: sim.Config{Universe: 100_000, Rate: 20_000},
		HTTP: tickerd.HTTPConfig{MaxSnapshots: most}, ReadyMaxFeedAge: -1, DrainWindow: -1})
	base := "http://" + r.Addr + "/api/symbols"
	waitSymbols(t, base+"?symbols=AAPL", "", []string{"AAPL"})
	var status int
	var body string
	if !testutil.Eventually(wait, func() bool {
		status, _, body = symbolsOf(t, base, "")
		return status == http.StatusBadRequest
	}) {
		t.Fatalf("GET /api/symbols = %d %.200q, want 400 once more than %d symbols have a snapshot", status, body, most)
	}
	if !strings.Contains(body, "ask for part") {
		t.Errorf("the refusal says %q, want the hint", body)
	}
	// FX pairs have no options: few symbols.
	waitSymbols(t, base+"?prefix="+url.QueryEscape("EUR/USD"), "", []string{"EUR/USD"})
}
