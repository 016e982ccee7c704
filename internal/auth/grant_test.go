package auth

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestGrantAllows(t *testing.T) {
	tests := []struct {
		patterns []string
		allow    []string
		deny     []string
	}{
		{[]string{"AAPL"}, []string{"AAPL"}, []string{"aapl", "AAPL ", "AAP", "AAPLX", "", "MSFT"}},
		{[]string{"BTC-*"}, []string{"BTC-", "BTC-USD", "BTC-EUR-PERP"}, []string{"BTC", "btc-usd", "XBTC-USD", ""}},
		{[]string{"EUR/*"}, []string{"EUR/USD", "EUR/JPY"}, []string{"USD/EUR", "EUR"}},
		{[]string{"*-USD"}, []string{"BTC-USD", "-USD"}, []string{"BTC-USDT", "USD"}},
		{[]string{"A*B*C"}, []string{"ABC", "AxxBxxC", "ABBC", "ACBC"}, []string{"AC", "ACB", "AB", "BC", "AxC"}},
		{[]string{"A*A"}, []string{"AA", "ABA"}, []string{"A", "AB"}},
		{[]string{"*BTC*"}, []string{"BTC", "WBTC-USD", "BTC-USD"}, []string{"BT", "btc"}},
		{[]string{"*"}, []string{"AAPL", "x", "EUR/USD"}, []string{""}},
		{[]string{"**"}, []string{"AAPL"}, nil},
		{[]string{"BTC-**"}, []string{"BTC-USD"}, []string{"BTC"}},
		{[]string{"?"}, []string{"?"}, []string{"A"}},            // '?' is literal
		{[]string{"[A]*"}, []string{"[A]X"}, []string{"AX"}},     // '[' is literal
		{[]string{`A\*`}, []string{`A\`, `A\x`}, []string{"A*"}}, // '\' escapes nothing
		{[]string{"AAPL", "MSFT", "BTC-*", "EUR/*"}, []string{"MSFT", "EUR/GBP", "BTC-X"}, []string{"GOOG", "ETH-USD"}},
		{[]string{}, nil, []string{"AAPL", ""}},
		{nil, nil, []string{"AAPL"}},
	}
	for _, tc := range tests {
		g, err := newGrant("u", tc.patterns, time.Time{})
		if err != nil {
			t.Fatalf("newGrant(%q) = %v", tc.patterns, err)
		}
		for _, s := range tc.allow {
			if !g.Allows(s) {
				t.Errorf("newGrant(%q).Allows(%q) = false, want true", tc.patterns, s)
			}
		}
		for _, s := range tc.deny {
			if g.Allows(s) {
				t.Errorf("newGrant(%q).Allows(%q) = true, want false", tc.patterns, s)
			}
		}
	}
}

func TestGrantNilAndErrors(t *testing.T) {
	var g *Grant
	if g.Allows("AAPL") {
		t.Error("(*Grant)(nil).Allows = true, want false")
	}
	if _, err := newGrant("u", []string{"AAPL", ""}, time.Time{}); err == nil || err.Error() != "symbols[1]: empty symbol pattern" {
		t.Errorf("newGrant with empty pattern = %v, want symbols[1]: empty symbol pattern", err)
	}
}

func BenchmarkAllows(b *testing.B) {
	// A large entitlement: 1000 exact names and 20 prefix patterns.
	var pats []string
	for i := range 1000 {
		pats = append(pats, fmt.Sprintf("SYM%04d", i))
	}
	for i := range 20 {
		pats = append(pats, fmt.Sprintf("FX%02d/*", i))
	}
	g, err := newGrant("u", pats, time.Time{})
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct{ name, sym string }{
		{"exact", "SYM0500"},
		{"glob-last", "FX19/USD"},
		{"miss", "NOPE-" + strings.Repeat("X", 10)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				g.Allows(bc.sym)
			}
		})
	}
}
