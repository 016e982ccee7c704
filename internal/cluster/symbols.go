package cluster

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/shopspring/decimal"
	"github.com/tickerd/tickerd/feed"
)

// wireSymbol is one symbol of the list the feed node publishes on
// PREFIX.symbols, as JSON: {"name":"EUR/USD","class":"fx","price_prec":5,
// "volume_prec":0,"tick_size":"0.00001"}.
type wireSymbol struct {
	Name       string          `json:"name"`
	Class      string          `json:"class,omitempty"`
	PricePrec  int32           `json:"price_prec"`
	VolumePrec int32           `json:"volume_prec"`
	TickSize   decimal.Decimal `json:"tick_size"`
}

func encodeSymbols(syms []feed.Symbol) ([]byte, error) {
	w := make([]wireSymbol, len(syms))
	for i, s := range syms {
		w[i] = wireSymbol(s)
	}
	return json.Marshal(w)
}

func decodeSymbols(data []byte) ([]feed.Symbol, error) {
	var w []wireSymbol
	if err := json.Unmarshal(data, &w); err != nil {
		return nil, fmt.Errorf("cluster: symbol list: %w", err)
	}
	if len(w) == 0 {
		return nil, errors.New("cluster: symbol list is empty")
	}
	syms := make([]feed.Symbol, len(w))
	seen := make(map[string]bool, len(w))
	for i, s := range w {
		if s.Name == "" || seen[s.Name] {
			return nil, fmt.Errorf("cluster: symbol list: empty or duplicate name %q", s.Name)
		}
		seen[s.Name] = true
		syms[i] = feed.Symbol(s)
	}
	return syms, nil
}
