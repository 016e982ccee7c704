package sim

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tickerd/tickerd/protocol"
)

// decimals returns the number of digits after the point in s, or -1 when s
// is not a plain non-negative decimal.
func decimals(s string) int {
	whole, frac, dot := strings.Cut(s, ".")
	if whole == "" || strings.Trim(whole, "0123456789") != "" || strings.Trim(frac, "0123456789") != "" || (dot && frac == "") {
		return -1
	}
	return len(frac)
}

// TestPrecision: on the wire (protocol.AppendTick) every price of a symbol
// carries exactly its PricePrec decimals and volume its VolumePrec, with
// trailing zeros kept ("268.50", not "268.5").
func TestPrecision(t *testing.T) {
	m := mustNew(t, Config{Seed: 2, Steady: true})
	syms := m.Symbols()
	q := &quotes{}
	var buf []byte
	for n := range 20 * len(syms) {
		m.next(q)
		tk := q.last
		s := syms[n%len(syms)]
		buf = protocol.AppendTick(buf[:0], &tk)
		var msg map[string]any
		if err := json.Unmarshal(buf, &msg); err != nil {
			t.Fatalf("AppendTick gave invalid JSON %s: %v", buf, err)
		}
		if msg["symbol"] != s.Name {
			t.Fatalf("tick %d is %v, want %s", n, msg["symbol"], s.Name)
		}
		for _, f := range []string{"price", "bid", "ask", "open", "high", "low"} {
			v, _ := msg[f].(string)
			if got := decimals(v); got != int(s.PricePrec) {
				t.Errorf("%s %s = %q: %d decimals, want %d", s.Name, f, v, got, s.PricePrec)
			}
		}
		if v, _ := msg["volume"].(string); decimals(v) != int(s.VolumePrec) {
			t.Errorf("%s volume = %q, want %d decimals", s.Name, v, s.VolumePrec)
		}
	}

	// The open of the first symbol is written with its trailing zero.
	m = mustNew(t, Config{Symbols: 1})
	m.next(q)
	if got := string(protocol.AppendTick(nil, &q.last)); !strings.Contains(got, `"open":"268.50"`) {
		t.Errorf("AppendTick(first AAPL tick) = %s, want \"open\":\"268.50\"", got)
	}
}
