package coinbase

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/shopspring/decimal"
	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/protocol"
)

// message holds the fields tickerd reads from Coinbase Exchange feed
// messages (docs.cdp.coinbase.com/exchange/websocket-feed/channels). The
// ticker message is documented as
//
//	{"type":"ticker","sequence":37475248783,"product_id":"ETH-USD","price":"1285.22",
//	 "open_24h":"1310.79","volume_24h":"245532.79269678","low_24h":"1280.52",
//	 "high_24h":"1313.8","volume_30d":"9788783.60117027","best_bid":"1285.04",
//	 "best_bid_size":"0.46688654","best_ask":"1285.27","best_ask_size":"1.56637040",
//	 "side":"buy","time":"2022-10-19T23:28:22.061769Z","trade_id":370843401,
//	 "last_size":"11.4396987"}
//
// the heartbeat as
//
//	{"type":"heartbeat","sequence":90,"last_trade_id":20,"product_id":"BTC-USD",
//	 "time":"2014-11-07T08:19:28.464459Z"}
//
// a trade on the matches channel as ("last_match" for the latest trade,
// sent first after a subscribe)
//
//	{"type":"match","trade_id":10,"sequence":50,
//	 "maker_order_id":"ac928c66-ca53-498f-9c13-a110027a60e8",
//	 "taker_order_id":"132fb6ae-456b-4654-b4e0-d681ac05cea1",
//	 "time":"2014-11-07T08:19:27.028459Z","product_id":"BTC-USD",
//	 "size":"5.23512","price":"400.23","side":"sell"}
//
// and the level2 book, first the whole book, then changes to it, each
// [side, price, new size] where size "0" removes the level:
//
//	{"type":"snapshot","product_id":"BTC-USD","bids":[["10101.10","0.45054140"]],
//	 "asks":[["10102.55","0.57753524"]]}
//	{"type":"l2update","product_id":"BTC-USD","time":"2019-08-14T20:42:27.265Z",
//	 "changes":[["buy","10101.80000000","0.162567"]]}
//
// Decimals are JSON strings and are parsed with protocol.ParseDecimal or
// protocol.ParseFixed, which bound the work a hostile number can cause,
// never through float64.
type message struct {
	Type        string `json:"type"`
	ProductID   string `json:"product_id"`
	Sequence    int64  `json:"sequence"`
	TradeID     int64  `json:"trade_id"`
	LastTradeID int64  `json:"last_trade_id"`
	Time        string `json:"time"`

	Price     string `json:"price"`
	BestBid   string `json:"best_bid"`
	BestAsk   string `json:"best_ask"`
	Open24h   string `json:"open_24h"`
	High24h   string `json:"high_24h"`
	Low24h    string `json:"low_24h"`
	Volume24h string `json:"volume_24h"`

	Size string `json:"size"` // match
	Side string `json:"side"` // match: the maker's side; ticker: the taker's

	Bids    [][2]string `json:"bids"`    // snapshot
	Asks    [][2]string `json:"asks"`    // snapshot
	Changes [][3]string `json:"changes"` // l2update

	Message string `json:"message"` // type "error"
	Reason  string `json:"reason"`
}

// state is what the feed remembers of one product across messages and
// sessions.
type state struct {
	// Quotes (ticker).
	seq       uint64 // our seq: +1 per published update
	upSeq     int64  // last upstream sequence published, this session
	lastTrade int64  // highest trade_id seen in a ticker
	claim     int64  // a heartbeat's last_trade_id no ticker has covered yet
	warned    bool   // logged that upstream prices have more decimals than declared
	last      protocol.Tick

	// Trades (matches).
	lastMatch int64 // trade_id of the last published trade; 0 before the first

	book book
}

// buffers are the values the reader publishes, reused message after
// message: the sink only borrows them.
type buffers struct {
	tick  protocol.Tick
	trade protocol.Trade
	book  protocol.BookUpdate
	chg   []change // an l2update's changes, parsed
}

// errUpstream is a decoded "error" message.
var errUpstream = errors.New("coinbase: upstream error")

// handle processes one message. It returns an error for a message it
// could not use; the caller logs it, counts it and goes on reading.
func (f *Feed) handle(data []byte, sink feed.Sink, bufs *buffers) error {
	var m message
	if err := json.Unmarshal(data, &m); err != nil {
		// A value of the wrong type leaves the rest decoded: a book
		// message that lost part of itself leaves its book behind.
		if p := f.byID[m.ProductID]; p != nil && (m.Type == "snapshot" || m.Type == "l2update") && f.follows(chanLevel2) {
			if m.Type == "snapshot" {
				p.st.book.snapshotArrived()
			}
			f.resyncBook(p, "undecodable "+m.Type)
		}
		return fmt.Errorf("coinbase: bad message %.64q: %w", data, err)
	}
	switch m.Type {
	case "ticker":
		if f.follows(chanTicker) {
			return f.ticker(&m, sink, &bufs.tick)
		}
	case "match", "last_match":
		if f.follows(chanMatches) {
			return f.match(&m, sink, &bufs.trade)
		}
	case "snapshot":
		if f.follows(chanLevel2) {
			return f.snapshot(&m, sink, bufs)
		}
	case "l2update":
		if f.follows(chanLevel2) {
			return f.l2update(&m, sink, bufs)
		}
	case "heartbeat":
		f.heartbeat(&m)
	case "subscriptions":
		f.log.Debug("coinbase: subscriptions", "message", string(data))
	case "error":
		return fmt.Errorf("%w: %s (%s)", errUpstream, m.Message, m.Reason)
	}
	return nil // types we do not use, as the protocol asks
}

func (f *Feed) ticker(m *message, sink feed.Sink, t *protocol.Tick) error {
	p := f.byID[m.ProductID]
	if p == nil {
		return nil // not ours
	}
	st := &p.st
	if m.Sequence != 0 && m.Sequence <= st.upSeq {
		// Out of order or a duplicate: what we published is newer.
		f.log.Debug("coinbase: stale ticker dropped", "product", p.ID, "sequence", m.Sequence, "last", st.upSeq)
		return nil
	}

	prev := &st.last
	if m.Price == "" {
		return fmt.Errorf("coinbase: %s ticker without a price", p.ID)
	}
	price, err := parseDecimal("price", m.Price, decimal.Zero)
	if err != nil {
		return fmt.Errorf("coinbase: %s ticker: %w", p.ID, err)
	}
	var d [6]decimal.Decimal
	for i, fld := range []struct {
		name, s string
		def     decimal.Decimal
	}{
		{"best_bid", m.BestBid, price},
		{"best_ask", m.BestAsk, price},
		{"open_24h", m.Open24h, orDefault(prev.Open, price)},
		{"high_24h", m.High24h, decimal.Max(orDefault(prev.High, price), price)},
		{"low_24h", m.Low24h, decimal.Min(orDefault(prev.Low, price), price)},
		{"volume_24h", m.Volume24h, orDefault(prev.Volume, decimal.Zero)},
	} {
		if d[i], err = parseDecimal(fld.name, fld.s, fld.def); err != nil {
			return fmt.Errorf("coinbase: %s ticker: %w", p.ID, err)
		}
	}
	ts, err := parseTime(m.Time)
	if err != nil {
		return fmt.Errorf("coinbase: %s ticker: %w", p.ID, err)
	}

	if m.Sequence != 0 {
		st.upSeq = m.Sequence
	}
	if m.TradeID > st.lastTrade {
		st.lastTrade = m.TradeID
	}
	if st.claim != 0 && st.lastTrade >= st.claim {
		st.claim = 0
	}
	st.seq++
	*t = protocol.Tick{
		Symbol: p.Symbol, Seq: st.seq,
		Price: price, Bid: d[0], Ask: d[1], Open: d[2], High: d[3], Low: d[4], Volume: d[5],
		TS:        ts,
		PricePrec: p.sym.PricePrec, VolumePrec: p.sym.VolumePrec,
	}
	if finer(t.Price, t.PricePrec) || finer(t.Bid, t.PricePrec) || finer(t.Ask, t.PricePrec) || finer(t.Volume, t.VolumePrec) {
		f.warnFiner(p, "ticker", m.Price, m.Volume24h)
	}
	st.last = *t
	sink.Publish(t)
	f.published()
	return nil
}

// heartbeat checks the ticker for gaps. Coinbase documents heartbeats as
// the way to verify that no messages were missed: last_trade_id is the
// product's latest trade. The ticker's own sequence is the product's
// order-book sequence and skips by design, and one ticker may cover
// several trades (it batches cascading matches), so a gap is this: a
// heartbeat announced a trade, and by the next heartbeat no ticker covering
// it has arrived. The feed's state for the product was stale; it is
// counted and logged. (Trades have their own check: see match.)
func (f *Feed) heartbeat(m *message) {
	p := f.byID[m.ProductID]
	if p == nil || !p.subscribed.Load() || !f.follows(chanTicker) {
		return
	}
	st := &p.st
	if st.claim != 0 && st.lastTrade < st.claim {
		f.log.Warn("coinbase: gap: ticker updates missed",
			"product", p.ID, "last_trade_id", st.claim, "last_ticker_trade_id", st.lastTrade)
		f.updateHealth(func(h *feed.Health) { h.Gaps++ })
		st.lastTrade = st.claim // counted once
	}
	st.claim = 0
	if m.LastTradeID > st.lastTrade {
		st.claim = m.LastTradeID
	}
}

// follows reports whether the feed subscribes to the upstream channel name.
func (f *Feed) follows(name string) bool { return slices.Contains(f.channels, name) }

// published records in Health that the feed just published.
func (f *Feed) published() {
	now := time.Now()
	f.updateHealth(func(h *feed.Health) { h.LastUpdate = now })
}

// warnFiner logs, once per product, that upstream values have more
// decimals than the product's increments declare: they are rounded on the
// wire.
func (f *Feed) warnFiner(p *product, what, price, size string) {
	if p.st.warned {
		return
	}
	p.st.warned = true
	f.log.Warn("coinbase: upstream sends more decimals than the product's increments; they are rounded",
		"product", p.ID, "in", what, "price", price, "size", size,
		"price_decimals", p.sym.PricePrec, "size_decimals", p.sym.VolumePrec)
}

// parseDecimal parses a non-negative decimal with protocol.ParseDecimal;
// "" gives def.
func parseDecimal(name, s string, def decimal.Decimal) (decimal.Decimal, error) {
	if s == "" {
		return def, nil
	}
	d, err := protocol.ParseDecimal(s)
	if err != nil {
		return d, fmt.Errorf("%s: %w", name, err)
	}
	if d.IsNegative() {
		return d, fmt.Errorf("%s %q is negative", name, s)
	}
	return d, nil
}

// parseTime parses an upstream RFC 3339 time into Unix nanoseconds; ""
// gives the current time.
func parseTime(s string) (int64, error) {
	if s == "" {
		return time.Now().UnixNano(), nil
	}
	ts, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0, fmt.Errorf("time %q is not RFC 3339", s)
	}
	return ts.UnixNano(), nil
}

func orDefault(d, def decimal.Decimal) decimal.Decimal {
	if d.IsZero() {
		return def
	}
	return d
}

// finer reports whether d has non-zero digits beyond prec decimals.
func finer(d decimal.Decimal, prec int32) bool {
	return !d.Equal(d.Truncate(prec))
}
