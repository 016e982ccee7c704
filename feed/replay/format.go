package replay

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/protocol"
)

// maxLine is the longest input line accepted.
const maxLine = 1 << 20

// A record is one playable line of the input: an update of one of the
// channels or a listing, with its line number. The fields of its kind are
// set; precisions are those of the line's own strings.
type record struct {
	line  int
	kind  kind
	tick  protocol.Tick
	trade protocol.Trade
	book  bookLine
	sym   feed.Symbol // listed; delisted: only Name
}

// kind is what a record carries.
type kind uint8

const (
	kindTick kind = iota
	kindTrade
	kindBook
	kindListed
	kindDelisted
	kindSkip // a line that does not play
)

// seqKey returns the record's symbol and channel and its seq there, if it
// has one.
func (r *record) seqKey() (seqKey, uint64, bool) {
	switch r.kind {
	case kindTick:
		return seqKey{r.tick.Symbol, kindTick}, r.tick.Seq, true
	case kindTrade:
		return seqKey{r.trade.Symbol, kindTrade}, r.trade.Seq, true
	case kindBook:
		return seqKey{r.book.Symbol, kindBook}, r.book.Seq, true
	}
	return seqKey{}, 0, false
}

// symbol returns the name of the record's symbol.
func (r *record) symbol() string {
	switch r.kind {
	case kindTick:
		return r.tick.Symbol
	case kindTrade:
		return r.trade.Symbol
	case kindBook:
		return r.book.Symbol
	}
	return r.sym.Name
}

// ts returns the record's event time; listings have none.
func (r *record) ts() (int64, bool) {
	switch r.kind {
	case kindTick:
		return r.tick.TS, true
	case kindTrade:
		return r.trade.TS, true
	case kindBook:
		return r.book.TS, true
	}
	return 0, false
}

// prec returns the decimals of the record's prices and sizes.
func (r *record) prec() (price, size int32) {
	switch r.kind {
	case kindTick:
		return r.tick.PricePrec, r.tick.VolumePrec
	case kindTrade:
		return r.trade.PricePrec, r.trade.SizePrec
	case kindBook:
		return r.book.pricePrec, r.book.sizePrec
	}
	return r.sym.PricePrec, r.sym.VolumePrec
}

// reader yields the playable records of one pass over the input, in order.
// next returns io.EOF at the end.
type reader interface {
	next() (record, error)
}

// newReader sniffs the format: NDJSON when the first non-blank byte is '{',
// CSV with a header row otherwise.
func newReader(r io.Reader) (reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		b, err := br.Peek(1)
		if err == io.EOF {
			return nil, errors.New("the input is empty")
		}
		if err != nil {
			return nil, err
		}
		switch b[0] {
		case ' ', '\t', '\r', '\n':
			br.ReadByte()
			continue
		case '{':
			sc := bufio.NewScanner(br)
			sc.Buffer(make([]byte, 0, 64<<10), maxLine)
			return &ndjsonReader{sc: sc, seq: map[seqKey]uint64{}}, nil
		}
		return newCSVReader(br)
	}
}

// CSV columns, named as the protocol's fields. symbol, price and ts are
// required; the rest are optional.
const (
	colSymbol = iota
	colSeq
	colPrice
	colBid
	colAsk
	colOpen
	colHigh
	colLow
	colVolume
	colTS
	numCols
)

var colNames = [numCols]string{"symbol", "seq", "price", "bid", "ask", "open", "high", "low", "volume", "ts"}

// csvReader reads CSV with a header row naming the columns (any order,
// case-insensitive; unknown columns are ignored). Missing optional columns
// are derived per symbol: seq counts from 1, bid and ask equal the price,
// open is the first price, high and low track the prices seen, volume is 0.
// ts is an integer Unix time in s, ms, µs or ns (told apart by size, see
// parseTS), decimal Unix seconds ("1763718000.25"), or RFC 3339.
type csvReader struct {
	r     *csv.Reader
	col   [numCols]int // index of each column, -1 if absent
	state map[string]*csvState
}

type csvState struct {
	seq             uint64
	open, high, low decimal.Decimal
}

func newCSVReader(r io.Reader) (*csvReader, error) {
	cr := csv.NewReader(r)
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true
	cr.Comment = '#'
	header, err := cr.Read()
	if err != nil {
		return nil, lineError(1, fmt.Errorf("reading the CSV header: %w", err))
	}
	c := &csvReader{r: cr, state: map[string]*csvState{}}
	for i := range c.col {
		c.col[i] = -1
	}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		for j, name := range colNames {
			if h == name {
				if c.col[j] >= 0 {
					return nil, lineError(1, fmt.Errorf("column %q appears twice", name))
				}
				c.col[j] = i
			}
		}
	}
	for _, j := range []int{colSymbol, colPrice, colTS} {
		if c.col[j] < 0 {
			return nil, lineError(1, fmt.Errorf("the CSV header %q has no %q column (want at least symbol, price, ts)", strings.Join(header, ","), colNames[j]))
		}
	}
	return c, nil
}

func (c *csvReader) next() (record, error) {
	row, err := c.r.Read()
	if err == io.EOF {
		return record{}, io.EOF
	}
	line, _ := c.r.FieldPos(0)
	if err != nil {
		return record{}, lineError(line, err)
	}
	t, err := c.parse(row)
	if err != nil {
		return record{}, lineError(line, err)
	}
	return record{line: line, kind: kindTick, tick: t}, nil
}

func (c *csvReader) field(row []string, col int) string {
	if i := c.col[col]; i >= 0 && i < len(row) {
		return strings.TrimSpace(row[i])
	}
	return ""
}

func (c *csvReader) parse(row []string) (protocol.Tick, error) {
	var t protocol.Tick
	t.Symbol = c.field(row, colSymbol)
	if t.Symbol == "" {
		return t, errors.New("empty symbol")
	}
	st := c.state[t.Symbol]
	if st == nil {
		st = &csvState{}
		c.state[t.Symbol] = st
	}

	var err error
	if t.Price, err = parseDecimal("price", c.field(row, colPrice)); err != nil {
		return t, err
	}
	t.PricePrec = decimals(t.Price)
	optional := func(col int, def decimal.Decimal) (decimal.Decimal, error) {
		s := c.field(row, col)
		if s == "" {
			return def, nil
		}
		d, err := parseDecimal(colNames[col], s)
		t.PricePrec = max(t.PricePrec, decimals(d))
		return d, err
	}
	if t.Bid, err = optional(colBid, t.Price); err != nil {
		return t, err
	}
	if t.Ask, err = optional(colAsk, t.Price); err != nil {
		return t, err
	}
	if st.seq == 0 { // first row of this symbol
		st.open, st.high, st.low = t.Price, t.Price, t.Price
	}
	st.high, st.low = decimal.Max(st.high, t.Price), decimal.Min(st.low, t.Price)
	if t.Open, err = optional(colOpen, st.open); err != nil {
		return t, err
	}
	if t.High, err = optional(colHigh, st.high); err != nil {
		return t, err
	}
	if t.Low, err = optional(colLow, st.low); err != nil {
		return t, err
	}
	if s := c.field(row, colVolume); s != "" {
		if t.Volume, err = parseDecimal("volume", s); err != nil {
			return t, err
		}
		t.VolumePrec = decimals(t.Volume)
	}

	if s := c.field(row, colSeq); s != "" {
		if t.Seq, err = strconv.ParseUint(s, 10, 64); err != nil {
			return t, fmt.Errorf("seq %q is not an unsigned integer", s)
		}
	} else {
		t.Seq = st.seq + 1
	}
	st.seq = t.Seq
	if t.TS, err = parseTS(c.field(row, colTS)); err != nil {
		return t, err
	}
	return t, nil
}

// parseDecimal parses the decimal named name through protocol.ParseDecimal:
// bounded in digits and exponent, so that a hostile "1e100000000" is a
// quick error.
func parseDecimal(name, s string) (decimal.Decimal, error) {
	if s == "" {
		return decimal.Decimal{}, fmt.Errorf("empty %s", name)
	}
	d, err := protocol.ParseDecimal(s)
	if err != nil {
		return d, fmt.Errorf("%s: %w", name, err)
	}
	if d.IsNegative() && name == "volume" {
		return d, fmt.Errorf("volume %q is negative", s)
	}
	return d, nil
}

// decimals is the number of decimal places d was written with ("187.20" has 2).
func decimals(d decimal.Decimal) int32 { return max(0, -d.Exponent()) }

// parseTS reads an integer Unix time, decimal Unix seconds, or RFC 3339.
// An integer's unit follows from its size, as exporters write seconds,
// milliseconds, microseconds or nanoseconds: below 1e11 it is seconds (up to
// the year 5138), below 1e14 milliseconds, below 1e17 microseconds, else
// nanoseconds.
func parseTS(s string) (int64, error) {
	if s == "" {
		return 0, errors.New("empty ts")
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		switch {
		case n < 0:
			return 0, fmt.Errorf("ts %q is negative", s)
		case n < 1e11:
			return n * 1e9, nil
		case n < 1e14:
			return n * 1e6, nil
		case n < 1e17:
			return n * 1e3, nil
		}
		return n, nil
	}
	if d, err := decimal.NewFromString(s); err == nil && !strings.ContainsAny(s, "eE") {
		ns := d.Shift(9)
		if !ns.IsInteger() || ns.GreaterThan(decimal.NewFromInt(1<<62)) || ns.IsNegative() {
			return 0, fmt.Errorf("ts %q is out of range or finer than a nanosecond", s)
		}
		return ns.IntPart(), nil
	}
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0, fmt.Errorf("ts %q is neither Unix nanoseconds, Unix seconds nor RFC 3339", s)
	}
	return tm.UnixNano(), nil
}

// lineError locates err at a line of the input; Open adds the file name.
func lineError(line int, err error) error { return &posError{line: line, err: err} }

type posError struct {
	line int
	err  error
}

func (e *posError) Error() string { return fmt.Sprintf("line %d: %v", e.line, e.err) }
func (e *posError) Unwrap() error { return e.err }
