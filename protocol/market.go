package protocol

import (
	"strconv"
	"time"

	"github.com/shopspring/decimal"
)

// Channel is a kind of market data a client subscribes to. Each has its own
// delivery rule (see the package doc): quotes merge, trades never do,
// candles merge per candle, books fall back to a fresh snapshot.
type Channel uint8

// Channels of protocol v1. A subscribe without "channel" is ChannelQuotes,
// so clients written before channels existed keep working unchanged.
const (
	ChannelQuotes  Channel = iota // "quotes": the full state of a symbol; the latest value wins
	ChannelTrades                 // "trades": every trade, in order, resumable with "since"
	ChannelCandles                // "candles": OHLCV per interval, built from trades
	ChannelBook                   // "book": the L2 book as a snapshot, deltas and a checksum
	numChannels
)

var channelNames = [numChannels]string{"quotes", "trades", "candles", "book"}

// String returns the channel's wire name.
func (c Channel) String() string {
	if c < numChannels {
		return channelNames[c]
	}
	return "Channel(" + strconv.Itoa(int(c)) + ")"
}

// ParseChannel returns the channel named s.
func ParseChannel(s string) (Channel, bool) {
	for i, n := range channelNames {
		if n == s {
			return Channel(i), true
		}
	}
	return 0, false
}

// Stream is what a subscription is to, besides its symbols: a channel and,
// for candles, an interval or, for books, a depth. The zero Stream is the
// quote channel. A connection holds one candles subscription per (symbol,
// interval) and one book subscription per symbol, whatever its depth.
type Stream struct {
	Channel  Channel
	Interval Interval // ChannelCandles only
	Depth    int      // ChannelBook only: 10, 50 or 200; 0 in an unsubscribe
}

// Side is the aggressor side of a trade: the side of the order that took
// liquidity.
type Side uint8

// Sides of a trade. SideUnknown is for venues that do not say; it travels
// as "side":"" .
const (
	SideUnknown Side = iota
	SideBuy
	SideSell
)

var sideNames = [...]string{"", "buy", "sell"}

// String returns the side's wire name ("buy", "sell", or "").
func (s Side) String() string {
	if int(s) < len(sideNames) {
		return sideNames[s]
	}
	return ""
}

// ParseSide returns the side named s ("buy", "sell", or "" for unknown).
func ParseSide(s string) (Side, bool) {
	for i, n := range sideNames {
		if n == s {
			return Side(i), true
		}
	}
	return 0, false
}

// Trade is one print on a symbol's tape. Trades are never merged: a client
// gets every one, in seq order, or a "gap" message naming what it missed.
type Trade struct {
	Symbol string
	// Seq is per symbol and contiguous: +1 per trade at the feed. A feed
	// that knows it missed trades upstream skips the seqs it missed, and
	// the server tells subscribers with a "gap" message.
	Seq   uint64
	Epoch uint64 // seq space; see Tick.Epoch
	Price decimal.Decimal
	Size  decimal.Decimal
	Side  Side  // aggressor side
	TS    int64 // event time, Unix nanoseconds

	PricePrec int32 // decimal places of Price on the wire
	SizePrec  int32 // decimal places of Size on the wire (the symbol's VolumePrec)
}

// Interval is the length of a candle.
type Interval uint8

// Candle intervals.
const (
	Interval1s Interval = iota
	Interval1m
	Interval5m
	Interval1h
	NumIntervals
)

var intervalNames = [NumIntervals]string{"1s", "1m", "5m", "1h"}
var intervalDurations = [NumIntervals]time.Duration{time.Second, time.Minute, 5 * time.Minute, time.Hour}

// String returns the interval's wire name ("1s", "1m", "5m", "1h").
func (i Interval) String() string {
	if i < NumIntervals {
		return intervalNames[i]
	}
	return "Interval(" + strconv.Itoa(int(i)) + ")"
}

// Duration returns the interval's length.
func (i Interval) Duration() time.Duration {
	if i < NumIntervals {
		return intervalDurations[i]
	}
	return 0
}

// ParseInterval returns the interval named s.
func ParseInterval(s string) (Interval, bool) {
	for i, n := range intervalNames {
		if n == s {
			return Interval(i), true
		}
	}
	return 0, false
}

// Candle is the open-high-low-close-volume summary of a symbol's trades
// whose ts falls in [Start, Start+Interval). Open is the first trade's
// price, Close the last one's, Volume the sum of their sizes and Trades
// their count. A candle is sent when it changes and once more with Closed
// set when its interval has ended.
type Candle struct {
	Symbol   string
	Interval Interval
	Start    int64 // Unix nanoseconds, a multiple of the interval
	Open     decimal.Decimal
	High     decimal.Decimal
	Low      decimal.Decimal
	Close    decimal.Decimal
	Volume   decimal.Decimal
	Trades   uint64
	Closed   bool
	Epoch    uint64 // seq space of the trades it was built from

	PricePrec  int32 // decimal places of Open, High, Low, Close
	VolumePrec int32 // decimal places of Volume
}

// Level is one price level of an order book, in fixed point at the symbol's
// precision: Price counts units of 10^-PricePrec and Size units of
// 10^-SizePrec, so 91549.30 at PricePrec 2 is 9154930. Fixed point keeps a
// book update free of allocations; ParseFixed and AppendFixed convert.
type Level struct {
	Price int64
	Size  int64
}

// BookUpdate is what a feed publishes for an order book: the whole book
// (Snapshot) or changed levels. In a change a level with Size 0 is removed;
// any other size replaces the level's size, adding the level if it is new.
type BookUpdate struct {
	Symbol string
	// Seq is per symbol, +1 per update at the feed. A seq that skips one
	// means the feed lost updates: the server discards its book and waits
	// for a snapshot.
	Seq      uint64
	Epoch    uint64 // seq space; see Tick.Epoch
	TS       int64  // event time, Unix nanoseconds
	Snapshot bool   // Bids and Asks are the whole book
	Bids     []Level
	Asks     []Level

	PricePrec int32 // decimal places of prices
	SizePrec  int32 // decimal places of sizes (the symbol's VolumePrec)

	// Views, in a snapshot, may say where each depth's view (10, 50 and
	// 200 levels, in that order) stood when the snapshot was taken: the
	// seq and ts of the last update that changed it, as the node that
	// kept the book saw them. A zero entry means Seq and TS. Feeds leave
	// it zero; a node that stores a book and hands it to another (a
	// cluster edge) sets it, so that the other node's views keep the
	// same seqs and its clients get the same messages.
	Views [3]BookView
}

// BookView is the version of one depth's view of a book: the seq and ts
// of the update that last changed it.
type BookView struct {
	Seq uint64
	TS  int64
}
