package cluster

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/shopspring/decimal"
	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/protocol"
)

// wireSymbol is a symbol's definition as the feed node publishes it on
// PREFIX.sym.TOKEN.def, as JSON: {"name":"EUR/USD","class":"fx",
// "price_prec":5,"volume_prec":0,"tick_size":"0.00001"}. An empty message
// there means the symbol is delisted.
type wireSymbol struct {
	Name       string          `json:"name"`
	Class      string          `json:"class,omitempty"`
	PricePrec  int32           `json:"price_prec"`
	VolumePrec int32           `json:"volume_prec"`
	TickSize   decimal.Decimal `json:"tick_size"`
}

func encodeSymbol(s feed.Symbol) ([]byte, error) {
	b, err := json.Marshal(wireSymbol(s))
	if err != nil {
		return nil, fmt.Errorf("cluster: symbol %q: %w", s.Name, err)
	}
	return b, nil
}

// decodeSymbol reads the definition on the def subject of token. The tick
// size is read by protocol.ParseDecimal, within its bounds, and the
// precisions must be within 0 to protocol.MaxDecimalExponent.
func decodeSymbol(token string, data []byte) (feed.Symbol, error) {
	var w struct {
		wireSymbol
		TickSize string `json:"tick_size"`
	}
	if err := json.Unmarshal(data, &w); err != nil {
		return feed.Symbol{}, fmt.Errorf("cluster: symbol definition on token %q: %w", token, err)
	}
	if w.Name == "" || SubjectToken(w.Name) != token {
		return feed.Symbol{}, fmt.Errorf("cluster: symbol definition %q on token %q", w.Name, token)
	}
	for _, p := range []int32{w.PricePrec, w.VolumePrec} {
		if p < 0 || p > protocol.MaxDecimalExponent {
			return feed.Symbol{}, fmt.Errorf("cluster: symbol definition %q: precision %d", w.Name, p)
		}
	}
	tick, err := protocol.ParseDecimal(w.TickSize)
	if err != nil {
		return feed.Symbol{}, fmt.Errorf("cluster: symbol definition %q: tick size: %w", w.Name, err)
	}
	w.wireSymbol.TickSize = tick
	return feed.Symbol(w.wireSymbol), nil
}

// sameSymbol reports whether two definitions are equal.
func sameSymbol(a, b feed.Symbol) bool {
	return a.Name == b.Name && a.Class == b.Class && a.PricePrec == b.PricePrec &&
		a.VolumePrec == b.VolumePrec && a.TickSize.Equal(b.TickSize)
}

// checkSymbols checks that syms have names, each once.
func checkSymbols(syms []feed.Symbol) error {
	seen := make(map[string]bool, len(syms))
	for i, s := range syms {
		if s.Name == "" {
			return fmt.Errorf("cluster: symbol %d has no name", i)
		}
		if seen[s.Name] {
			return fmt.Errorf("cluster: duplicate symbol %q", s.Name)
		}
		seen[s.Name] = true
	}
	return nil
}

var errNoSymbols = errors.New("cluster: the feed has no symbols")
