package coinbase

import (
	"fmt"

	"github.com/shopspring/decimal"
	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/protocol"
)

// match publishes one trade of the matches channel: a "match", or the
// "last_match" the upstream sends first after a subscribe (the product's
// latest trade, which may already have been published).
//
// The trade's seq is its trade_id: Coinbase numbers each product's trades
// +1 per trade, so the seqs are contiguous, and they stay the same across
// reconnects and restarts of tickerd. A trade_id at or below the last one
// published is a duplicate (a last_match after a reconnect) and is
// dropped. A trade_id beyond the next one means trades were missed: the
// seq skips them, so the server tells subscribers exactly which ones with
// a "gap", and the gap is counted in Health.Gaps and logged — unless the
// product's trades were unsubscribed on purpose in between (OnDemand), in
// which case the skip is by choice and only the seq shows it.
func (f *Feed) match(m *message, sink feed.Sink, t *protocol.Trade) error {
	p := f.byID[m.ProductID]
	if p == nil {
		return nil // not ours
	}
	if m.TradeID <= 0 {
		return fmt.Errorf("coinbase: %s %s without a trade_id", p.ID, m.Type)
	}
	price, err := parsePositive("price", m.Price)
	if err != nil {
		return fmt.Errorf("coinbase: %s %s %d: %w", p.ID, m.Type, m.TradeID, err)
	}
	size, err := parsePositive("size", m.Size)
	if err != nil {
		return fmt.Errorf("coinbase: %s %s %d: %w", p.ID, m.Type, m.TradeID, err)
	}
	side, err := aggressor(m.Side)
	if err != nil {
		return fmt.Errorf("coinbase: %s %s %d: %w", p.ID, m.Type, m.TradeID, err)
	}
	ts, err := parseTime(m.Time)
	if err != nil {
		return fmt.Errorf("coinbase: %s %s %d: %w", p.ID, m.Type, m.TradeID, err)
	}

	st := &p.st
	lapsed := m.Type == "last_match" && p.tradesLapsed.Swap(false)
	last := st.lastMatch
	if m.TradeID <= last {
		f.log.Debug("coinbase: trade already published", "product", p.ID, "trade_id", m.TradeID, "last", last)
		return nil
	}
	if last != 0 && m.TradeID > last+1 && !lapsed {
		f.log.Warn("coinbase: gap: trades missed", "product", p.ID, "from_trade_id", last+1, "to_trade_id", m.TradeID-1)
		f.updateHealth(func(h *feed.Health) { h.Gaps++ })
	}
	st.lastMatch = m.TradeID
	*t = protocol.Trade{
		Symbol: p.Symbol, Seq: uint64(m.TradeID),
		Price: price, Size: size, Side: side, TS: ts,
		PricePrec: p.sym.PricePrec, SizePrec: p.sym.VolumePrec,
	}
	if finer(price, t.PricePrec) || finer(size, t.SizePrec) {
		f.warnFiner(p, m.Type, m.Price, m.Size)
	}
	sink.PublishTrade(t)
	f.published()
	return nil
}

// aggressor returns the aggressor side of a match from its "side", which
// on Coinbase is the MAKER's side: "The side field indicates the maker
// order side. If the side is sell this indicates the maker was a sell
// order and the match is considered an up-tick. A buy side match is a
// down-tick." (Exchange WebSocket Channels, the match message,
// docs.cdp.coinbase.com/exchange/websocket-feed/channels). The aggressor,
// the taker, is on the other side: a "sell" match was a buy. (The ticker's
// "side" is the taker's; the two disagree on purpose for the same trade.)
func aggressor(makerSide string) (protocol.Side, error) {
	switch makerSide {
	case "sell":
		return protocol.SideBuy, nil
	case "buy":
		return protocol.SideSell, nil
	case "":
		return protocol.SideUnknown, nil
	}
	return 0, fmt.Errorf("side %q is neither buy nor sell", makerSide)
}

// parsePositive parses a decimal that must be present and above zero.
func parsePositive(name, s string) (d decimal.Decimal, err error) {
	if s == "" {
		return d, fmt.Errorf("no %s", name)
	}
	if d, err = parseDecimal(name, s, d); err != nil {
		return d, err
	}
	if !d.IsPositive() {
		return d, fmt.Errorf("%s %q is not positive", name, s)
	}
	return d, nil
}
