package coinbase

import (
	"fmt"
	"math"
	"math/big"
	"strings"

	"github.com/shopspring/decimal"
	"github.com/tickerd/tickerd/protocol"
)

// Product is one Coinbase product the feed follows.
type Product struct {
	ID     string // upstream product_id, e.g. "BTC-USD"
	Symbol string // our symbol name; "" means ID

	// The product's quote_increment and base_increment (GET /products/ID):
	// they give the tick size and the decimals of prices and volume. Zero
	// values are filled from a built-in table of common products.
	QuoteIncrement decimal.Decimal
	BaseIncrement  decimal.Decimal
}

// DefaultProducts are followed when Config.Products is empty.
var DefaultProducts = []string{"BTC-USD", "ETH-USD", "SOL-USD"}

// increments of common products, as Coinbase Exchange lists them
// (quote_increment, base_increment). Products missing here need explicit
// increments; a wrong entry only changes how many decimals are sent.
var increments = map[string][2]string{
	"BTC-USD":  {"0.01", "0.00000001"},
	"ETH-USD":  {"0.01", "0.00000001"},
	"SOL-USD":  {"0.01", "0.00000001"},
	"XRP-USD":  {"0.0001", "0.000001"},
	"DOGE-USD": {"0.00001", "0.1"},
	"ADA-USD":  {"0.0001", "0.00000001"},
	"AVAX-USD": {"0.01", "0.00000001"},
	"LINK-USD": {"0.001", "0.01"},
	"LTC-USD":  {"0.01", "0.00000001"},
	"BCH-USD":  {"0.01", "0.00000001"},
	"DOT-USD":  {"0.001", "0.00000001"},
	"SHIB-USD": {"0.00000001", "1"},
	"XLM-USD":  {"0.000001", "1"},
	"USDT-USD": {"0.00001", "0.01"},
	"ETH-BTC":  {"0.00001", "0.00000001"},
	"BTC-EUR":  {"0.01", "0.00000001"},
	"ETH-EUR":  {"0.01", "0.00000001"},
}

// ParseProducts parses a comma-separated product list, as a -coinbase-products
// flag gives it. Each item is
//
//	ID[=SYMBOL][:QUOTE_INCREMENT:BASE_INCREMENT]
//
// for example "BTC-USD", "BTC-USD=XBT/USD" or "PEPE-USD:0.000000001:1".
func ParseProducts(s string) ([]Product, error) {
	var out []Product
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		var p Product
		head, incs, hasIncs := strings.Cut(item, ":")
		p.ID, p.Symbol, _ = strings.Cut(head, "=")
		if hasIncs {
			q, b, ok := strings.Cut(incs, ":")
			if !ok {
				return nil, fmt.Errorf("coinbase: product %q: want ID:QUOTE_INCREMENT:BASE_INCREMENT", item)
			}
			var err error
			if p.QuoteIncrement, err = protocol.ParseDecimal(q); err != nil {
				return nil, fmt.Errorf("coinbase: product %q: quote increment %q is not a decimal", item, q)
			}
			if p.BaseIncrement, err = protocol.ParseDecimal(b); err != nil {
				return nil, fmt.Errorf("coinbase: product %q: base increment %q is not a decimal", item, b)
			}
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("coinbase: no products in %q", s)
	}
	return out, nil
}

// resolve fills in the defaults of p and checks it.
func (p Product) resolve() (Product, error) {
	if p.ID == "" || strings.ContainsAny(p.ID, " \t\",") {
		return p, fmt.Errorf("coinbase: bad product id %q", p.ID)
	}
	if p.Symbol == "" {
		p.Symbol = p.ID
	}
	if p.QuoteIncrement.IsZero() && p.BaseIncrement.IsZero() {
		inc, ok := increments[p.ID]
		if !ok {
			return p, fmt.Errorf("coinbase: product %s is not in the built-in table: give its increments, as %s:QUOTE_INCREMENT:BASE_INCREMENT", p.ID, p.ID)
		}
		p.QuoteIncrement = decimal.RequireFromString(inc[0])
		p.BaseIncrement = decimal.RequireFromString(inc[1])
	}
	for _, inc := range []decimal.Decimal{p.QuoteIncrement, p.BaseIncrement} {
		if !inc.IsPositive() || inc.Exponent() > protocol.MaxDecimalExponent || decimals(inc) > maxDecimals {
			return p, fmt.Errorf("coinbase: product %s: increments must be positive, with at most %d decimals and an exponent of at most %d",
				p.ID, maxDecimals, protocol.MaxDecimalExponent)
		}
	}
	return p, nil
}

// maxDecimals is the most decimal places an increment may have: prices and
// sizes travel in int64 fixed point at that precision.
const maxDecimals = 18

// decimals is the number of decimal places of an increment: 0.01 and
// 0.0100 have 2, 5 has 0. The work is bounded by the digits of d's
// coefficient, whatever its exponent.
func decimals(d decimal.Decimal) int32 {
	n := -int64(d.Exponent())
	if n <= 0 {
		return 0
	}
	c, ten, r := d.Coefficient(), big.NewInt(10), new(big.Int)
	for n > 0 {
		q, rem := new(big.Int).QuoRem(c, ten, r)
		if rem.Sign() != 0 {
			break
		}
		c, n = q, n-1
	}
	return int32(min(n, math.MaxInt32))
}
