package replay

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/shopspring/decimal"
	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/protocol"
)

// ndjsonReader reads one message per line (see the package doc for the
// format). "tick", "trade", "book", "listed" and "delisted" lines are
// played. What a client receives again when it re-subscribes or resumes
// (a "snapshot" line, a book snapshot, a trade with "replay":true) is
// played only when it is newer (higher seq) than what was played for its
// symbol, so a capture replays as one clean sequence. Other message types
// (subscribed, pong, gap, ...) and blank lines are skipped.
type ndjsonReader struct {
	sc   *bufio.Scanner
	line int
	seq  map[seqKey]uint64 // last seq played per symbol and channel
}

type seqKey struct {
	symbol string
	kind   kind
}

func (r *ndjsonReader) next() (record, error) {
	for r.sc.Scan() {
		r.line++
		data := bytes.TrimSpace(r.sc.Bytes())
		if len(data) == 0 {
			continue
		}
		rec, again, err := r.decode(data)
		if err != nil {
			return record{}, lineError(r.line, err)
		}
		if rec.kind == kindSkip {
			continue
		}
		if k, seq, ok := rec.seqKey(); ok {
			if last, seen := r.seq[k]; again && seen && seq <= last {
				continue
			}
			r.seq[k] = seq
		}
		rec.line = r.line
		return rec, nil
	}
	if err := r.sc.Err(); err != nil {
		return record{}, lineError(r.line+1, err)
	}
	return record{}, io.EOF
}

// decode decodes one line; again reports a message sent again to a client
// (a snapshot, a replayed trade), which is skipped when it is not new.
func (r *ndjsonReader) decode(data []byte) (rec record, again bool, err error) {
	t, typ, tickErr := protocol.DecodeTick(data)
	if tickErr == nil {
		return record{kind: kindTick, tick: t}, typ == "snapshot", nil
	}
	var head struct {
		Type *string `json:"type"`
	}
	if json.Unmarshal(data, &head) != nil || head.Type == nil {
		return rec, false, tickErr // not a message at all: say what a tick lacks
	}
	var l jsonLine
	switch typ := *head.Type; typ {
	case "tick", "snapshot":
		return rec, false, tickErr
	case "trade":
		rec.kind = kindTrade
		rec.trade, again, err = protocol.DecodeTrade(data)
		return rec, again, err
	case "delisted":
		e, err := protocol.DecodeEvent(data)
		return record{kind: kindDelisted, sym: feed.Symbol{Name: e.Symbol}}, false, err
	case "book", "listed":
		if err := json.Unmarshal(data, &l); err != nil {
			return rec, false, fmt.Errorf("%s: %w", typ, err)
		}
	default:
		rec.kind = kindSkip // a reply or a notice in a client's capture
		return rec, false, nil
	}
	switch *head.Type {
	case "book":
		rec.kind = kindBook
		rec.book, err = l.book()
		again = rec.book.Snapshot
	case "listed":
		rec.kind = kindListed
		rec.sym, err = l.listed()
	}
	return rec, again, err
}

// jsonLine holds the fields of the messages decoded with encoding/json:
// "book" and "listed". Decimals
// stay strings here; they are parsed by protocol.ParseDecimal and
// protocol.ParseFixed only.
type jsonLine struct {
	Symbol     *string    `json:"symbol"`
	Seq        *uint64    `json:"seq"`
	TS         *int64     `json:"ts"`
	Snapshot   bool       `json:"snapshot"`
	Bids       [][]string `json:"bids"`
	Asks       [][]string `json:"asks"`
	Class      string     `json:"class"`
	PricePrec  *int32     `json:"price_prec"`
	VolumePrec *int32     `json:"volume_prec"`
	TickSize   *string    `json:"tick_size"`
}

// bookLine is a "book" line: a snapshot or changed levels, as the feed
// published them. Its levels stay decimal strings until the book is played,
// when they are converted to fixed point at the symbol's precision.
type bookLine struct {
	Symbol     string
	Seq        uint64
	TS         int64
	Snapshot   bool
	Bids, Asks [][]string // [price, size]

	pricePrec, sizePrec int32 // the most decimals of its prices and sizes
}

// maxPrec bounds the precisions a "listed" line may declare: fixed point at
// more places does not fit an int64 for everyday numbers.
const maxPrec = 18

func (l *jsonLine) book() (bookLine, error) {
	switch {
	case l.Symbol == nil || *l.Symbol == "":
		return bookLine{}, errors.New(`book: no "symbol"`)
	case l.Seq == nil:
		return bookLine{}, errors.New(`book: no "seq"`)
	case l.TS == nil:
		return bookLine{}, errors.New(`book: no "ts"`)
	}
	b := bookLine{Symbol: *l.Symbol, Seq: *l.Seq, TS: *l.TS, Snapshot: l.Snapshot, Bids: l.Bids, Asks: l.Asks}
	sides := [...]struct {
		name string
		lv   [][]string
	}{{"bids", l.Bids}, {"asks", l.Asks}}
	for _, side := range sides {
		for i, lvl := range side.lv {
			if len(lvl) != 2 {
				return b, fmt.Errorf("book: %s level %d has %d strings, want [price, size]", side.name, i, len(lvl))
			}
			p, err := protocol.ParseDecimal(lvl[0])
			if err == nil && !p.IsPositive() {
				err = fmt.Errorf("%s is not positive", lvl[0])
			}
			if err != nil {
				return b, fmt.Errorf("book: %s level %d price: %w", side.name, i, err)
			}
			sz, err := protocol.ParseDecimal(lvl[1])
			if err == nil && (sz.IsNegative() || b.Snapshot && sz.IsZero()) {
				err = fmt.Errorf("%s is not a size", lvl[1])
			}
			if err != nil {
				return b, fmt.Errorf("book: %s level %d size: %w", side.name, i, err)
			}
			b.pricePrec, b.sizePrec = max(b.pricePrec, decimals(p)), max(b.sizePrec, decimals(sz))
		}
	}
	// Every level must fit fixed point (an int64) at the line's own
	// precisions, which play converts to: "1e20" parses as a decimal but
	// does not.
	for _, side := range sides {
		for i, lvl := range side.lv {
			if _, err := protocol.ParseFixed(lvl[0], b.pricePrec); err != nil {
				return b, fmt.Errorf("book: %s level %d price: %w", side.name, i, err)
			}
			if _, err := protocol.ParseFixed(lvl[1], b.sizePrec); err != nil {
				return b, fmt.Errorf("book: %s level %d size: %w", side.name, i, err)
			}
		}
	}
	return b, nil
}

func (l *jsonLine) listed() (feed.Symbol, error) {
	switch {
	case l.Symbol == nil || *l.Symbol == "":
		return feed.Symbol{}, errors.New(`listed: no "symbol"`)
	case l.PricePrec == nil || *l.PricePrec < 0 || *l.PricePrec > maxPrec:
		return feed.Symbol{}, fmt.Errorf(`listed: "price_prec" must be 0 to %d`, maxPrec)
	case l.VolumePrec == nil || *l.VolumePrec < 0 || *l.VolumePrec > maxPrec:
		return feed.Symbol{}, fmt.Errorf(`listed: "volume_prec" must be 0 to %d`, maxPrec)
	}
	s := feed.Symbol{Name: *l.Symbol, Class: l.Class, PricePrec: *l.PricePrec, VolumePrec: *l.VolumePrec}
	if s.Class == "" {
		s.Class = classOf(s.Name)
	}
	s.TickSize = decimal.New(1, -s.PricePrec)
	if l.TickSize != nil {
		tick, err := protocol.ParseDecimal(*l.TickSize)
		if err == nil && (!tick.IsPositive() || decimals(tick) > s.PricePrec) {
			err = fmt.Errorf("%s is not a positive step at %d decimals", *l.TickSize, s.PricePrec)
		}
		if err != nil {
			return s, fmt.Errorf("listed: tick_size: %w", err)
		}
		s.TickSize = tick
	}
	return s, nil
}

// classOf guesses an instrument class from the name, with the conventions of
// feed/sim: "EUR/USD" is fx, "BTC-USD" crypto, anything else equity.
func classOf(name string) string {
	switch {
	case strings.Contains(name, "/"):
		return "fx"
	case strings.Contains(name, "-"):
		return "crypto"
	}
	return "equity"
}
