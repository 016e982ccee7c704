package protocol

import (
	"bytes"
	"fmt"
)

// Event is a server message other than market data and "limits", as a
// client reads it with DecodeEvent: a reply ("subscribed", "unsubscribed",
// "symbols", "search", "pong", "error") or a notice about a subscription
// ("gap", "reset", "delisted"). Each type uses the fields its encoder
// writes and leaves the others zero.
type Event struct {
	Type    string   // the message type
	ID      []byte   // raw JSON of "id" of a reply, nil if absent; a copy
	Stream  Stream   // subscribed, unsubscribed: what about; gap, reset: the channel
	Symbol  string   // gap, reset, delisted
	Symbols []string // subscribed, unsubscribed, symbols, search, error; nil if empty
	From    uint64   // gap: the first seq missed
	To      uint64   // gap: the last seq missed
	Epoch   uint64   // reset: the new seq space
	TS      int64    // pong: the server's clock; delisted: when
	Prefix  string   // search
	More    bool     // search: more symbols matched than were sent
	Code    Code     // error
	Message string   // error
}

// Fields of the event messages.
var eventFields = [...]string{"type", "id", "channel", "interval", "symbols", "depth", "symbol",
	"from", "to", "epoch", "ts", "prefix", "more", "code", "message"}

const (
	efType = iota
	efID
	efChannel
	efInterval
	efSymbols
	efDepth
	efSymbol
	efFrom
	efTo
	efEpoch
	efTS
	efPrefix
	efMore
	efCode
	efMessage
)

// eventTypes lists the types DecodeEvent reads, with the fields each must
// have and those it may have, as bit masks of eventFields.
var eventTypes = [...]struct {
	name               string
	required, optional uint64
}{
	{"subscribed", 1<<efSymbols | 1<<efType, 1<<efID | 1<<efChannel | 1<<efInterval | 1<<efDepth},
	{"unsubscribed", 1<<efSymbols | 1<<efType, 1<<efID | 1<<efChannel | 1<<efInterval | 1<<efDepth},
	{"symbols", 1<<efSymbols | 1<<efType, 1 << efID},
	{"search", 1<<efPrefix | 1<<efSymbols | 1<<efMore | 1<<efType, 1 << efID},
	{"pong", 1<<efTS | 1<<efType, 1 << efID},
	{"error", 1<<efCode | 1<<efMessage | 1<<efType, 1<<efID | 1<<efSymbols},
	{"gap", 1<<efChannel | 1<<efSymbol | 1<<efFrom | 1<<efTo | 1<<efType, 0},
	{"reset", 1<<efChannel | 1<<efSymbol | 1<<efEpoch | 1<<efType, 0},
	{"delisted", 1<<efSymbol | 1<<efTS | 1<<efType, 0},
}

// DecodeEvent parses one of the messages of Event strictly: one JSON
// object, each field at most once, the fields its type needs present and
// of the right kind (symbols as DecodeRequest reads them, seqs unsigned
// integers, a gap's from at most its to, a candles reply's interval and a
// book reply's depth valid). Fields the type does not use are skipped, so
// later protocol versions may add some. Re-encoding the Event with the
// type's encoder (AppendSubscribed, AppendGap, …) gives canonical input
// back byte for byte.
func DecodeEvent(data []byte) (e Event, err error) {
	var vals [len(eventFields)]token
	seen, err := readObject(data, eventFields[:], vals[:])
	if err == nil {
		err = missingField(seen, 1<<efType, eventFields[:])
	}
	if err != nil {
		return e, fmt.Errorf("protocol: event: %w", err)
	}
	v := vals[efType]
	typ := -1
	for i, t := range eventTypes {
		if v.kind == kindString && stringIs(data, v, t.name) {
			typ = i
		}
	}
	if typ < 0 {
		return e, fmt.Errorf("protocol: event: type %s is not one DecodeEvent reads", snippet(data[v.start:v.end]))
	}
	e.Type = eventTypes[typ].name
	if err := e.decode(data, &vals, seen, eventTypes[typ].required, eventTypes[typ].optional); err != nil {
		return Event{}, fmt.Errorf("protocol: %s: %w", e.Type, err)
	}
	return e, nil
}

// decode reads the fields of e's type from vals.
func (e *Event) decode(data []byte, vals *[len(eventFields)]token, seen, required, optional uint64) error {
	if err := missingField(seen, required, eventFields[:]); err != nil {
		return err
	}
	use := seen & (required | optional)
	bad := func(f int, want string) error {
		v := vals[f]
		return fmt.Errorf("%s %s is not %s", eventFields[f], snippet(data[v.start:v.end]), want)
	}
	seqField := func(f int, dst *uint64) error {
		var ok bool
		if *dst, ok = parseUint(data, vals[f]); !ok {
			return bad(f, "an unsigned 64-bit integer")
		}
		return nil
	}
	for f := range eventFields {
		if use&(1<<f) == 0 {
			continue
		}
		v := vals[f]
		var err error
		var ok bool
		switch f {
		case efID:
			if v.kind != kindNumber && v.kind != kindString {
				return bad(f, "a number or a string")
			}
			e.ID = bytes.Clone(data[v.start:v.end])
		case efChannel:
			var c int
			if v.kind == kindString {
				c, ok = matchName(data, v, channelNames[:])
			}
			if !ok {
				return bad(f, "a channel")
			}
			e.Stream.Channel = Channel(c)
		case efSymbols:
			if v.kind != kindArray {
				return bad(f, "an array of strings")
			}
			n := len(data) // no symbol list in data can exceed these
			syms, perr := decodeSymbols(data, v, Limits{MaxBytes: n, MaxSymbols: n, MaxSymbolLen: n})
			if perr != nil {
				return fmt.Errorf("%s", perr.Message)
			}
			e.Symbols = syms
		case efSymbol:
			if e.Symbol, ok = symbolValue(data, v); !ok {
				return bad(f, "a non-empty string")
			}
		case efFrom:
			err = seqField(f, &e.From)
		case efTo:
			err = seqField(f, &e.To)
		case efEpoch:
			err = seqField(f, &e.Epoch)
		case efTS:
			if e.TS, ok = parseInt(data, v); !ok {
				return bad(f, "a 64-bit integer")
			}
		case efPrefix, efCode, efMessage:
			if v.kind != kindString {
				return bad(f, "a string")
			}
			s := string(decodeString(nil, data, v))
			switch f {
			case efPrefix:
				e.Prefix = s
			case efCode:
				e.Code = Code(s)
			default:
				e.Message = s
			}
		case efMore:
			if v.kind != kindBool {
				return bad(f, "true or false")
			}
			e.More = data[v.start] == 't'
		}
		if err != nil {
			return err
		}
	}
	// Interval and depth depend on the channel, read above.
	switch v := vals[efInterval]; {
	case use&(1<<efInterval) != 0 && e.Stream.Channel != ChannelCandles:
		return fmt.Errorf("interval without channel \"candles\"")
	case use&(1<<efInterval) != 0:
		i, ok := 0, v.kind == kindString
		if ok {
			i, ok = matchName(data, v, intervalNames[:])
		}
		if !ok {
			return bad(efInterval, "an interval")
		}
		e.Stream.Interval = Interval(i)
	case e.Stream.Channel == ChannelCandles && (required|optional)&(1<<efInterval) != 0:
		return fmt.Errorf("channel \"candles\" without an interval")
	}
	if v := vals[efDepth]; use&(1<<efDepth) != 0 {
		d, ok := parseUint(data, v)
		if !ok || e.Stream.Channel != ChannelBook || d > MaxBookDepth || !IsBookDepth(int(d)) {
			return bad(efDepth, "10, 50 or 200 of channel \"book\"")
		}
		e.Stream.Depth = int(d)
	}
	if e.Type == "gap" && e.From > e.To {
		return fmt.Errorf("from %d is after to %d", e.From, e.To)
	}
	return nil
}
