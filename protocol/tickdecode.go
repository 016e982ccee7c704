package protocol

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/shopspring/decimal"
)

// Fields of a tick or snapshot message, in wire order.
var tickFields = [...]string{"type", "symbol", "seq", "price", "bid", "ask", "open", "high", "low", "volume", "ts"}

const (
	tfType = iota
	tfSymbol
	tfSeq
	tfPrice // price … low: tfPrice to tfLow
	tfBid
	tfAsk
	tfOpen
	tfHigh
	tfLow
	tfVolume
	tfTS
)

// DecodeTick parses a "tick" or "snapshot" message strictly: one JSON object,
// every field present once, seq an unsigned and ts a signed integer, prices
// and volume decimal strings in the canonical form AppendTick writes
// ("187.20", "-0.5", "1203344"; no exponent, no leading zeros, no "-0"), and
// price, bid, ask, open, high and low with the same number of decimals.
// Fields it does not know are skipped, since later protocol versions may add
// some. It sets PricePrec and VolumePrec from the decimals of "price" and
// "volume", so AppendTick of the result gives back canonical input byte for
// byte. typ is "tick" or "snapshot".
func DecodeTick(data []byte) (t Tick, typ string, err error) {
	var vals [len(tickFields)]token
	seen, err := readObject(data, tickFields[:], vals[:])
	if err == nil {
		err = missingField(seen, 1<<len(tickFields)-1, tickFields[:])
	}
	if err != nil {
		return t, "", tickError(err)
	}

	switch v := vals[tfType]; {
	case v.kind == kindString && stringIs(data, v, "tick"):
		typ = "tick"
	case v.kind == kindString && stringIs(data, v, "snapshot"):
		typ = "snapshot"
	default:
		return t, "", fmt.Errorf(`protocol: tick: type %s is not "tick" or "snapshot"`, snippet(data[v.start:v.end]))
	}
	var ok bool
	if t.Symbol, ok = symbolValue(data, vals[tfSymbol]); !ok {
		return t, "", errors.New("protocol: tick: symbol must be a non-empty string")
	}
	if t.Seq, ok = parseUint(data, vals[tfSeq]); !ok {
		return t, "", fmt.Errorf("protocol: tick: seq %s is not an unsigned 64-bit integer", snippet(data[vals[tfSeq].start:vals[tfSeq].end]))
	}
	if t.TS, ok = parseInt(data, vals[tfTS]); !ok {
		return t, "", fmt.Errorf("protocol: tick: ts %s is not a 64-bit integer", snippet(data[vals[tfTS].start:vals[tfTS].end]))
	}
	prices := [...]*decimal.Decimal{&t.Price, &t.Bid, &t.Ask, &t.Open, &t.High, &t.Low, &t.Volume}
	for i, p := range prices {
		f := tfPrice + i
		v := vals[f]
		var prec int32
		if *p, prec, ok = decimalValue(data, v); !ok {
			return t, "", fmt.Errorf("protocol: tick: %s %s is not a decimal string", tickFields[f], snippet(data[v.start:v.end]))
		}
		switch {
		case f == tfPrice:
			t.PricePrec = prec
		case f == tfVolume:
			t.VolumePrec = prec
		case prec != t.PricePrec:
			return t, "", fmt.Errorf("protocol: tick: %s has %d decimals, price has %d", tickFields[f], prec, t.PricePrec)
		}
	}
	return t, typ, nil
}

// readObject reads data, which must be exactly one JSON object, into vals
// as scanner.fields does.
func readObject(data []byte, names []string, vals []token) (seen uint64, err error) {
	s := scanner{data: data}
	s.ws()
	if seen, err = s.fields(names, vals, 1); err != nil {
		return 0, err
	}
	return seen, s.end()
}

// fields reads the object whose '{' is at s.pos, its values nesting at
// most depth deep: the value of the member named names[i] goes to vals[i],
// and bit i of seen is set. Members with other names are skipped, since
// later protocol versions may add some. A name twice or a string with a
// problem anywhere is an error.
func (s *scanner) fields(names []string, vals []token, depth int) (seen uint64, err error) {
	if s.pos >= len(s.data) || s.data[s.pos] != '{' {
		return 0, s.unexpected("'{'")
	}
	for more := !s.enter('}'); more; {
		var k, v token
		if more, err = s.member(depth, &k, &v); err != nil {
			return 0, err
		}
		switch {
		case k.problem != "":
			return 0, errors.New("bad field name: " + k.problem)
		case v.problem != "":
			return 0, errors.New(v.problem)
		}
		if i, ok := matchName(s.data, k, names); ok {
			if seen&(1<<i) != 0 {
				return 0, fmt.Errorf("duplicate field %q", names[i])
			}
			seen |= 1 << i
			vals[i] = v
		}
	}
	return seen, nil
}

// missingField reports the first field of names whose bit is in required
// but not in seen.
func missingField(seen, required uint64, names []string) error {
	for i, name := range names {
		if required&^seen&(1<<i) != 0 {
			return fmt.Errorf("missing field %q", name)
		}
	}
	return nil
}

// symbolValue decodes v, which must be a non-empty string.
func symbolValue(data []byte, v token) (string, bool) {
	if v.kind != kindString || v.end-v.start == 2 {
		return "", false
	}
	return string(decodeString(nil, data, v)), true
}

// decimalValue parses v, which must be a string without escapes holding a
// decimal in canonical form (see parseDecimal).
func decimalValue(data []byte, v token) (decimal.Decimal, int32, bool) {
	if v.kind != kindString || v.esc {
		return decimal.Decimal{}, 0, false
	}
	return parseDecimal(data[v.start+1 : v.end-1])
}

// snippet shows the raw JSON value b in an error message, cut to a
// readable length.
func snippet(b []byte) string {
	const max = 40
	if len(b) > max {
		return strings.ToValidUTF8(string(b[:max]), "") + "…"
	}
	return string(b)
}

func tickError(err error) error {
	return errors.New("protocol: tick: " + err.Error())
}

// parseUint parses a number token that is a non-negative integer in JSON
// syntax (no fraction, no exponent) and fits a uint64.
func parseUint(data []byte, v token) (uint64, bool) {
	if v.kind != kindNumber {
		return 0, false
	}
	return atou(data[v.start:v.end])
}

// parseInt is parseUint for int64, which may be negative.
func parseInt(data []byte, v token) (int64, bool) {
	if v.kind != kindNumber {
		return 0, false
	}
	b := data[v.start:v.end]
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	u, ok := atou(b)
	switch {
	case !ok:
		return 0, false
	case neg && u <= 1<<63:
		return int64(-u), true // also right for math.MinInt64
	case !neg && u <= math.MaxInt64:
		return int64(u), true
	}
	return 0, false
}

// atou parses the digits of a JSON integer: 0 or [1-9][0-9]*, at most
// MaxUint64.
func atou(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 20 || (b[0] == '0' && len(b) > 1) {
		return 0, false
	}
	var u uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if u > (math.MaxUint64-d)/10 {
			return 0, false
		}
		u = u*10 + d
	}
	return u, true
}

// ScanTick is the zero-allocation fast path for load testers: it finds the
// "type", "symbol", "seq" and "ts" fields of a server message without
// decoding the prices. typ and symbol alias data and are the raw string
// contents, which equal the decoded values unless they contain escapes
// (symbols never do). ok is false if data is not a "tick" or "snapshot"
// object or one of the four fields is missing or malformed. It stops reading
// as soon as it has the four, so it does not validate the rest; use
// DecodeTick for that.
func ScanTick(data []byte) (typ, symbol []byte, seq uint64, ts int64, ok bool) {
	var rest []byte
	switch {
	case len(data) > len(TickPrefix) && string(data[:len(TickPrefix)]) == TickPrefix:
		typ, rest = data[len(`{"type":"`):len(TickPrefix)-2], data[len(TickPrefix):]
	case len(data) > len(SnapshotPrefix) && string(data[:len(SnapshotPrefix)]) == SnapshotPrefix:
		typ, rest = data[len(`{"type":"`):len(SnapshotPrefix)-2], data[len(SnapshotPrefix):]
	}
	if rest != nil {
		if symbol, seq, ts, ok = scanLayout(rest, "}"); ok {
			return typ, symbol, seq, ts, true
		}
	}
	typ, symbol, seq, ts, _, ok = scanMembers(data, [2]string{"tick", "snapshot"}, false)
	return typ, symbol, seq, ts, ok
}

// scanMembers is the slow path of ScanTick and ScanTrade: it walks the
// object data for the "type", "symbol", "seq" and "ts" members, the type
// one of types, and stops when it has them unless wantReplay asks it to go
// on to the end for a "replay" member.
func scanMembers(data []byte, types [2]string, wantReplay bool) (typ, symbol []byte, seq uint64, ts int64, replay, ok bool) {
	s := scanner{data: data}
	s.ws()
	if s.pos >= len(data) || data[s.pos] != '{' {
		return nil, nil, 0, 0, false, false
	}
	s.pos++
	s.ws()
	const all = 1<<4 - 1
	found := 0
	for {
		if s.pos >= len(data) || data[s.pos] != '"' {
			return nil, nil, 0, 0, false, false
		}
		k, err := s.str()
		if err != nil || s.colon() != nil {
			return nil, nil, 0, 0, false, false
		}
		v, err := s.value(1)
		if err != nil {
			return nil, nil, 0, 0, false, false
		}
		more, err := s.next('}') // in "ts":02 the ts is not 0
		if err != nil {
			return nil, nil, 0, 0, false, false
		}
		var bit int
		switch key := data[k.start+1 : k.end-1]; string(key) {
		case "type":
			bit = 1
			if v.kind != kindString {
				return nil, nil, 0, 0, false, false
			}
			if typ = data[v.start+1 : v.end-1]; string(typ) != types[0] && string(typ) != types[1] {
				return nil, nil, 0, 0, false, false
			}
		case "symbol":
			bit = 2
			if v.kind != kindString || v.problem != "" || v.end-v.start == 2 {
				return nil, nil, 0, 0, false, false
			}
			symbol = data[v.start+1 : v.end-1]
		case "seq":
			bit = 4
			if seq, ok = parseUint(data, v); !ok {
				return nil, nil, 0, 0, false, false
			}
		case "ts":
			bit = 8
			if ts, ok = parseInt(data, v); !ok {
				return nil, nil, 0, 0, false, false
			}
		case "replay":
			if !wantReplay {
				break
			}
			bit = 16
			if v.kind != kindBool {
				return nil, nil, 0, 0, false, false
			}
			replay = data[v.start] == 't'
		}
		if found&bit != 0 {
			return nil, nil, 0, 0, false, false // duplicate
		}
		found |= bit
		switch {
		case found&all == all && (!wantReplay || !more):
			return typ, symbol, seq, ts, replay, true
		case !more:
			return nil, nil, 0, 0, false, false
		}
	}
}

// scanLayout reads "symbol", "seq" and "ts" from rest, a message after its
// type prefix, in the layout the encoders write: "symbol" and "seq" first,
// "ts" last before end. It reads only those bytes, so it is much faster
// than walking the object. ok is false when the layout differs; the
// callers then walk the object.
//
// Reading "ts" from the end is sound: in valid JSON a message that ends in
// `,"ts":123}` has ts as a member of the outermost object, since the last
// '}' closes it and `"ts"` cannot be inside a string; the same holds for
// `,"ts":123,"replay":true}`.
func scanLayout(rest []byte, end string) (symbol []byte, seq uint64, ts int64, ok bool) {
	const symKey, seqKey, tsKey = `"symbol":"`, `","seq":`, `,"ts":`
	if len(rest) < len(symKey) || string(rest[:len(symKey)]) != symKey {
		return nil, 0, 0, false
	}
	rest = rest[len(symKey):]
	i := 0
	for i < len(rest) && plain[rest[i]] {
		i++
	}
	if i == 0 || len(rest)-i < len(seqKey) || string(rest[i:i+len(seqKey)]) != seqKey {
		return nil, 0, 0, false // empty, escaped or non-ASCII symbol, or another layout
	}
	symbol, rest = rest[:i], rest[i+len(seqKey):]
	j := digits(rest, 0)
	if seq, ok = atou(rest[:j]); !ok || j == len(rest) || rest[j] != ',' {
		return nil, 0, 0, false
	}
	rest = rest[j:]
	n := len(rest) - len(end)
	if n < 0 || string(rest[n:]) != end {
		return nil, 0, 0, false
	}
	k := n
	for k > 0 && (rest[k-1] >= '0' && rest[k-1] <= '9' || rest[k-1] == '-') {
		k--
	}
	if k < len(tsKey) || string(rest[k-len(tsKey):k]) != tsKey {
		return nil, 0, 0, false
	}
	v := token{kind: kindNumber, start: k, end: n}
	if ts, ok = parseInt(rest, v); !ok {
		return nil, 0, 0, false
	}
	return symbol, seq, ts, true
}
