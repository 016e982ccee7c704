package testutil

import (
	"time"

	"github.com/shopspring/decimal"

	"github.com/tickerd/tickerd/protocol"
)

// Tick returns an update of sym with seq whose price, bid, ask, open, high
// and low are all price, with price's decimals as the symbol's precision,
// volume seq and event time now. Change the fields a test is about:
//
//	t := testutil.Tick("AAPL", 1, "187.20")
//	t.TS = 1763718000000000000
//	h.Publish(t)
//
// It panics if price is not a decimal.
func Tick(sym string, seq uint64, price string) *protocol.Tick {
	p := decimal.RequireFromString(price)
	return &protocol.Tick{
		Symbol: sym, Seq: seq,
		Price: p, Bid: p, Ask: p, Open: p, High: p, Low: p,
		Volume: decimal.NewFromInt(int64(seq)),
		TS:     time.Now().UnixNano(), PricePrec: places(p),
	}
}

// Trade returns a buy of size at price in sym with seq and event time now;
// the precisions are those of price and size as written ("100.50" has 2).
// It panics if price or size is not a decimal.
func Trade(sym string, seq uint64, price, size string) *protocol.Trade {
	p, s := decimal.RequireFromString(price), decimal.RequireFromString(size)
	return &protocol.Trade{
		Symbol: sym, Seq: seq, Price: p, Size: s, Side: protocol.SideBuy,
		TS: time.Now().UnixNano(), PricePrec: places(p), SizePrec: places(s),
	}
}

// places is the number of decimals d was written with.
func places(d decimal.Decimal) int32 { return max(0, -d.Exponent()) }

// SeqRange returns from, from+1, …, to: the seqs a client should get, in
// order (none if to < from).
//
//	if got := seqsOf(trades); !slices.Equal(got, testutil.SeqRange(1, 10)) {
func SeqRange(from, to uint64) []uint64 {
	var s []uint64
	for q := from; q <= to; q++ {
		s = append(s, q)
	}
	return s
}
