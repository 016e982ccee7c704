package protocol

import (
	"errors"
	"fmt"
	"math"
)

// Fields of a book message, in wire order.
var bookFields = [...]string{"type", "symbol", "depth", "seq", "prev_seq", "snapshot", "bids", "asks", "checksum", "ts"}

const (
	bfType = iota
	bfSymbol
	bfDepth
	bfSeq
	bfPrevSeq
	bfSnapshot
	bfBids
	bfAsks
	bfChecksum
	bfTS
)

// bookRequired are the fields every book message has; a delta also has
// prev_seq and a snapshot has "snapshot":true instead.
const bookRequired = 1<<bfType | 1<<bfSymbol | 1<<bfDepth | 1<<bfSeq | 1<<bfBids | 1<<bfAsks | 1<<bfChecksum | 1<<bfTS

// DecodeBook parses a "book" message into m strictly: one JSON object with
// each field at most once; type "book"; a non-empty symbol; depth a
// positive integer; seq and, in a delta, prev_seq unsigned integers;
// "snapshot":true in a snapshot and no prev_seq; checksum an unsigned
// 32-bit integer; ts a signed integer. Levels are two-element arrays of
// decimal strings in the canonical form AppendBook writes (no exponent, no
// leading zeros, no "-0"), bids strictly descending and asks strictly
// ascending by price, every price with the same number of decimals and
// every size too, except a delta's removals, which are exactly "0". A
// snapshot has no removals. Fields it does not know are skipped. It sets
// PricePrec and SizePrec from the decimals (-1 when no value shows them),
// so AppendBook of the result gives back canonical input byte for byte.
//
// DecodeBook reuses the capacity of m.Bids and m.Asks, and keeps m.Symbol
// when the message names the same symbol, so decoding a stream of one
// symbol's messages into the same m does not allocate once the slices have
// grown.
func DecodeBook(data []byte, m *BookMessage) error {
	var vals [len(bookFields)]token
	seen, err := readObject(data, bookFields[:], vals[:])
	if err != nil {
		return bookError(err)
	}
	for i, name := range bookFields {
		if bookRequired&(1<<i) != 0 && seen&(1<<i) == 0 {
			return fmt.Errorf("protocol: book: missing field %q", name)
		}
	}
	if v := vals[bfType]; v.kind != kindString || !stringIs(data, v, "book") {
		return fmt.Errorf(`protocol: book: type %s is not "book"`, snippet(data[v.start:v.end]))
	}
	v := vals[bfSymbol]
	if v.kind != kindString || v.end-v.start == 2 {
		return errors.New("protocol: book: symbol must be a non-empty string")
	}
	switch {
	case v.esc:
		m.Symbol = string(appendUnquoted(nil, data[v.start:v.end]))
	case m.Symbol != string(data[v.start+1:v.end-1]):
		m.Symbol = string(data[v.start+1 : v.end-1])
	}
	depth, ok := parseUint(data, vals[bfDepth])
	if !ok || depth == 0 || depth > math.MaxInt32 {
		return fmt.Errorf("protocol: book: depth %s is not a positive integer", snippet(data[vals[bfDepth].start:vals[bfDepth].end]))
	}
	m.Depth = int(depth)
	if m.Seq, ok = parseUint(data, vals[bfSeq]); !ok {
		return fmt.Errorf("protocol: book: seq %s is not an unsigned 64-bit integer", snippet(data[vals[bfSeq].start:vals[bfSeq].end]))
	}
	m.Snapshot = false
	if seen&(1<<bfSnapshot) != 0 {
		v := vals[bfSnapshot]
		if v.kind != kindBool {
			return fmt.Errorf("protocol: book: snapshot %s is not a boolean", snippet(data[v.start:v.end]))
		}
		m.Snapshot = data[v.start] == 't'
	}
	m.PrevSeq = 0
	switch hasPrev := seen&(1<<bfPrevSeq) != 0; {
	case m.Snapshot && hasPrev:
		return errors.New("protocol: book: a snapshot has no prev_seq")
	case !m.Snapshot && !hasPrev:
		return fmt.Errorf("protocol: book: missing field %q in a delta", "prev_seq")
	case hasPrev:
		if m.PrevSeq, ok = parseUint(data, vals[bfPrevSeq]); !ok {
			return fmt.Errorf("protocol: book: prev_seq %s is not an unsigned 64-bit integer", snippet(data[vals[bfPrevSeq].start:vals[bfPrevSeq].end]))
		}
	}
	sum, ok := parseUint(data, vals[bfChecksum])
	if !ok || sum > math.MaxUint32 {
		return fmt.Errorf("protocol: book: checksum %s is not an unsigned 32-bit integer", snippet(data[vals[bfChecksum].start:vals[bfChecksum].end]))
	}
	m.Checksum = uint32(sum)
	if m.TS, ok = parseInt(data, vals[bfTS]); !ok {
		return fmt.Errorf("protocol: book: ts %s is not a 64-bit integer", snippet(data[vals[bfTS].start:vals[bfTS].end]))
	}
	lr := levelReader{snapshot: m.Snapshot, pricePrec: -1, sizePrec: -1}
	if m.Bids, err = lr.levels(data, vals[bfBids], m.Bids[:0], true); err != nil {
		return fmt.Errorf("protocol: book: bids: %w", err)
	}
	if m.Asks, err = lr.levels(data, vals[bfAsks], m.Asks[:0], false); err != nil {
		return fmt.Errorf("protocol: book: asks: %w", err)
	}
	m.PricePrec, m.SizePrec = lr.pricePrec, lr.sizePrec
	return nil
}

func bookError(err error) error {
	return errors.New("protocol: book: " + err.Error())
}

// levelReader reads the level arrays of one book message, checking that
// their precisions agree.
type levelReader struct {
	snapshot  bool
	pricePrec int32 // -1 until a price is read
	sizePrec  int32 // -1 until a nonzero size is read
}

// levels appends the levels of the array token v to dst. bids selects the
// order: strictly descending prices for bids, ascending for asks.
func (lr *levelReader) levels(data []byte, v token, dst []Level, bids bool) ([]Level, error) {
	if v.kind != kindArray {
		return dst, fmt.Errorf("%s is not an array", snippet(data[v.start:v.end]))
	}
	s := scanner{data: data[:v.end], pos: v.start}
	if s.enter(']') {
		return dst, nil
	}
	for more := true; more; {
		if s.pos >= len(s.data) || s.data[s.pos] != '[' {
			return dst, errors.New("a level is not a [price, size] array")
		}
		start := s.pos
		if s.enter(']') {
			return dst, errors.New("a level is not a [price, size] array")
		}
		var l Level
		var err error
		if l.Price, err = lr.value(&s, &lr.pricePrec, "price", false); err != nil {
			return dst, err
		}
		if more, err = s.next(']'); err != nil || !more {
			return dst, fmt.Errorf("level %s is not a [price, size] array", snippet(data[start:s.pos]))
		}
		if l.Size, err = lr.value(&s, &lr.sizePrec, "size", true); err != nil {
			return dst, err
		}
		if more, err = s.next(']'); err != nil || more {
			return dst, fmt.Errorf("level %s is not a [price, size] array", snippet(data[start:min(s.pos, v.end)]))
		}
		switch {
		case l.Size < 0:
			return dst, fmt.Errorf("level %s has a negative size", snippet(data[start:s.pos]))
		case l.Size == 0 && lr.snapshot:
			return dst, fmt.Errorf("level %s: a snapshot has no removals", snippet(data[start:s.pos]))
		case len(dst) > 0 && bids && l.Price >= dst[len(dst)-1].Price:
			return dst, fmt.Errorf("level %s: bids must be in strictly descending price order", snippet(data[start:s.pos]))
		case len(dst) > 0 && !bids && l.Price <= dst[len(dst)-1].Price:
			return dst, fmt.Errorf("level %s: asks must be in strictly ascending price order", snippet(data[start:s.pos]))
		}
		dst = append(dst, l)
		if more, err = s.next(']'); err != nil {
			return dst, err
		}
	}
	return dst, nil
}

// value reads one price or size string at s.pos into fixed point and
// checks its decimals against *prec, setting *prec on first use. A size of
// exactly "0" (zero) is a removal and has no precision of its own.
func (lr *levelReader) value(s *scanner, prec *int32, what string, size bool) (int64, error) {
	t, err := s.value(3)
	if err != nil {
		return 0, err
	}
	raw := s.data[t.start:t.end]
	if t.kind != kindString || t.esc {
		return 0, fmt.Errorf("%s %s is not a decimal string", what, snippet(raw))
	}
	text := raw[1 : len(raw)-1]
	if size && string(text) == "0" {
		return 0, nil
	}
	v, p, fits, ok := parseFixedText(text)
	switch {
	case !ok || !fits:
		return 0, fmt.Errorf("%s %s is not a canonical decimal string that fits 64 bits", what, snippet(raw))
	case size && v == 0:
		return 0, fmt.Errorf("size %s: a zero size is written \"0\"", snippet(raw))
	case *prec >= 0 && p != *prec:
		return 0, fmt.Errorf("%s %s has %d decimals, others have %d", what, snippet(raw), p, *prec)
	}
	*prec = p
	return v, nil
}
