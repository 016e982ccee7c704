package protocol

import "github.com/shopspring/decimal"

// Tick is the full state of one instrument after an update. The same fields
// travel as a "tick" (an update) and as a "snapshot" (the state a new
// subscriber receives first).
//
// Prices are decimals, never floats. PricePrec and VolumePrec say how many
// decimal places the wire form carries ("187.20", not "187.2"); they are not
// sent as fields of their own.
type Tick struct {
	Symbol string
	Seq    uint64 // per symbol, +1 per update at the feed
	Price  decimal.Decimal
	Bid    decimal.Decimal
	Ask    decimal.Decimal
	Open   decimal.Decimal // session open
	High   decimal.Decimal // session high
	Low    decimal.Decimal // session low
	Volume decimal.Decimal // cumulative session volume
	TS     int64           // feed event time, Unix nanoseconds
	// Epoch names the seq space of the symbol. A source whose seq starts
	// over (a feed node restarted without its stored state) publishes a
	// higher epoch, and the server accepts the lower seq and tells every
	// subscriber (a "reset", then a snapshot). Feeds whose seq never
	// restarts leave it 0.
	Epoch uint64

	PricePrec  int32 // decimal places of Price, Bid, Ask, Open, High, Low
	VolumePrec int32 // decimal places of Volume
}
