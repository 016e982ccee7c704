package protocol

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Op is the operation of a client request.
type Op uint8

// Operations of protocol v1.
const (
	OpSubscribe   Op = iota + 1 // {"op":"subscribe","symbols":[…]}
	OpUnsubscribe               // {"op":"unsubscribe","symbols":[…]}
	OpList                      // {"op":"list"}
	OpPing                      // {"op":"ping"}
	OpAuth                      // {"op":"auth","token":"…"}, for browsers that cannot set headers
)

var opNames = [...]string{
	OpSubscribe:   "subscribe",
	OpUnsubscribe: "unsubscribe",
	OpList:        "list",
	OpPing:        "ping",
	OpAuth:        "auth",
}

// String returns the op's wire name, or "Op(n)" for an invalid op.
func (o Op) String() string {
	if o > 0 && int(o) < len(opNames) {
		return opNames[o]
	}
	return "Op(" + strconv.Itoa(int(o)) + ")"
}

// Request is a decoded client request.
type Request struct {
	Op      Op
	ID      []byte   // raw JSON of "id" exactly as sent (`1`, `"abc"`), nil if absent; may alias the input
	Symbols []string // without duplicates, in the order first sent; nil if absent or empty
	Token   string   // "token", for OpAuth

	// Channel is what a subscribe or unsubscribe is about; ChannelQuotes
	// when "channel" is absent.
	Channel Channel
	// Since asks a trades subscribe to resume: for each symbol named, the
	// last trade seq the client has; it gets every later trade first.
	Since []SinceSeq
	// Interval is the candle interval of a candles subscribe.
	Interval Interval
	// Depth is the book depth of a book subscribe: 10, 50 or 200; 0 when
	// absent (the server's default, 10).
	Depth int
	// MaxRate caps updates per second per symbol of a subscribe (0.1 to
	// 1000); 0 when absent: as fast as they come.
	MaxRate float64
	// Prefix and Limit are a search's symbol prefix and result cap.
	Prefix string
	Limit  int
}

// SinceSeq is one entry of a subscribe's "since" object.
type SinceSeq struct {
	Symbol string
	Seq    uint64
}

// Defaults for the zero fields of Limits.
const (
	DefaultMaxBytes     = 64 << 10
	DefaultMaxSymbols   = 1000
	DefaultMaxSymbolLen = 32
)

// Limits bound what DecodeRequest accepts. The zero value means the defaults.
type Limits struct {
	MaxBytes     int // max request size in bytes; 0 = DefaultMaxBytes
	MaxSymbols   int // max symbols in one request, duplicates counted; 0 = DefaultMaxSymbols
	MaxSymbolLen int // max length of one symbol name in bytes; 0 = DefaultMaxSymbolLen
}

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxSymbols <= 0 {
		l.MaxSymbols = DefaultMaxSymbols
	}
	if l.MaxSymbolLen <= 0 {
		l.MaxSymbolLen = DefaultMaxSymbolLen
	}
	return l
}

// Request fields, by index.
const (
	iOp = iota
	iID
	iSymbols
	iToken
)

var fieldNames = [...]struct {
	name string
	want kind // the only kind the value may have; 0 for id (number or string)
}{
	iOp:      {"op", kindString},
	iID:      {"id", 0},
	iSymbols: {"symbols", kindArray},
	iToken:   {"token", kindString},
}

// DecodeRequest decodes one client request. data must be exactly one JSON
// object (whitespace around tokens allowed) in valid UTF-8, with only the
// fields op (required), id, symbols and token, each at most once. On error
// the *Error carries the code to send and, whenever the id could be read
// (anywhere in the object), the id to echo. It never panics.
//
// Symbols must be non-empty printable ASCII without spaces, quotes (double
// or single), backslashes or commas, at most lim.MaxSymbolLen bytes each;
// subscribe and unsubscribe need at least one. Duplicates are removed,
// keeping the first. The returned ID may alias data; the rest does not.
func DecodeRequest(data []byte, lim Limits) (Request, *Error) {
	req, err := decodeRequest(data, lim.withDefaults())
	if err != nil {
		return Request{}, err
	}
	return req, nil
}

// decodeRequest is DecodeRequest, except that it may return a partly
// filled Request with an error.
func decodeRequest(data []byte, lim Limits) (Request, *Error) {
	var req Request
	if len(data) > lim.MaxBytes {
		return req, &Error{Code: CodeMessageTooBig,
			Message: fmt.Sprintf("message too big: %d > %d bytes", len(data), lim.MaxBytes)}
	}
	if len(data) == 0 {
		return req, &Error{Code: CodeBadRequest, Message: "empty message"}
	}

	// Read the whole object first, so that the id is known whatever else
	// is wrong; remember the first problem with a field.
	var vals [len(fieldNames)]token
	seen := 0
	var bad *Error
	badf := func(format string, args ...any) {
		if bad == nil {
			bad = &Error{Code: CodeBadRequest, Message: fmt.Sprintf(format, args...)}
		}
	}
	s := scanner{data: data}
	empty, err := s.topObject()
	if err != nil {
		return req, badRequest(err, nil)
	}
	if !empty {
		var k, v token
		for {
			// A value counts only once the byte after it is right: in
			// {"id":01} the id is not 0.
			more, err := s.member(1, &k, &v)
			if err != nil {
				return req, badRequest(err, req.ID)
			}
			f := -1
			if k.problem == "" {
				for i, fn := range fieldNames {
					if stringIs(data, k, fn.name) {
						f = i
						break
					}
				}
			}
			switch {
			case k.problem != "":
				badf("bad field name: %s", k.problem)
			case f < 0:
				badf("unknown field %s", quote(data[k.start+1:k.end-1]))
			case seen&(1<<f) != 0:
				badf("duplicate field %q", fieldNames[f].name)
			default:
				seen |= 1 << f
				vals[f] = v
				fn := fieldNames[f]
				switch {
				case f == iID && (v.kind == kindNumber || v.kind == kindString && v.problem == ""):
					req.ID = data[v.start:v.end]
				case f == iID && v.kind == kindString:
					badf("field \"id\": %s", v.problem)
				case f == iID:
					badf("field \"id\" must be a number or a string")
				case v.kind != fn.want && f == iSymbols:
					badf("field \"symbols\" must be an array of strings")
				case v.kind != fn.want:
					badf("field %q must be a string", fn.name)
				case v.kind == kindString && v.problem != "":
					badf("field %q: %s", fn.name, v.problem)
				}
			}
			if !more {
				break
			}
		}
	}
	s.ws()
	if s.pos != len(data) {
		return req, badRequest(s.fail("trailing data after the object"), req.ID)
	}
	if bad != nil {
		bad.ID = req.ID
		return req, bad
	}

	// Now the fields, op first.
	e := func(code Code, format string, args ...any) *Error {
		return &Error{Code: code, Message: fmt.Sprintf(format, args...), ID: req.ID}
	}
	if seen&(1<<iOp) == 0 {
		return req, e(CodeBadRequest, "missing field \"op\"")
	}
	op := vals[iOp]
	for o := OpSubscribe; int(o) < len(opNames); o++ {
		if stringIs(data, op, opNames[o]) {
			req.Op = o
			break
		}
	}
	if req.Op == 0 {
		var buf [64]byte
		name := data[op.start+1 : op.end-1]
		if op.esc && len(name) <= len(buf) {
			name = appendUnquoted(buf[:0], data[op.start:op.end])
		}
		return req, e(CodeUnknownOp, "unknown op %s", quote(name))
	}
	if seen&(1<<iSymbols) != 0 {
		syms, err := decodeSymbols(data, vals[iSymbols], lim)
		if err != nil {
			err.ID = req.ID
			return req, err
		}
		req.Symbols = syms
	}
	if (req.Op == OpSubscribe || req.Op == OpUnsubscribe) && len(req.Symbols) == 0 {
		return req, e(CodeBadRequest, "%s needs at least one symbol", req.Op)
	}
	if tok := vals[iToken]; seen&(1<<iToken) != 0 {
		if tok.esc {
			req.Token = string(appendUnquoted(nil, data[tok.start:tok.end]))
		} else {
			req.Token = string(data[tok.start+1 : tok.end-1])
		}
	}
	if req.Op == OpAuth && req.Token == "" {
		return req, e(CodeBadRequest, "auth needs a token")
	}
	return req, nil
}

func badRequest(err error, id []byte) *Error {
	return &Error{Code: CodeBadRequest, Message: err.Error(), ID: id}
}

// quote quotes b for an error message, cut to a readable length.
func quote(b []byte) string {
	const max = 40
	if len(b) > max {
		return strconv.Quote(string(b[:max])) + "…"
	}
	return strconv.Quote(string(b))
}

// decodeSymbols decodes and checks the symbols array arr, a token that
// scanner.value has read without error. All names share one allocation.
func decodeSymbols(data []byte, arr token, lim Limits) ([]string, *Error) {
	// First pass: count the strings and add up their raw lengths, which
	// bound the decoded lengths.
	n, size := 0, 0
	s := scanner{data: data[:arr.end], pos: arr.start + 1}
	for s.ws(); s.pos < arr.end-1; {
		v, err := s.value(2)
		if err != nil || v.kind != kindString {
			return nil, &Error{Code: CodeBadRequest, Message: "field \"symbols\" must be an array of strings"}
		}
		if v.problem != "" {
			return nil, &Error{Code: CodeBadRequest, Message: "field \"symbols\": " + v.problem}
		}
		n++
		if n > lim.MaxSymbols {
			return nil, &Error{Code: CodeTooManySymbols,
				Message: fmt.Sprintf("too many symbols: more than %d", lim.MaxSymbols)}
		}
		size += v.end - v.start - 2
		if _, err := s.next(']'); err != nil {
			return nil, badRequest(err, nil) // cannot happen after value
		}
	}
	if n == 0 {
		return nil, nil
	}

	// Second pass: decode into one buffer; each name is a substring of it.
	var b strings.Builder
	b.Grow(size)
	syms := make([]string, 0, n)
	var set map[string]struct{} // for long lists; short ones are searched
	if n > 16 {
		set = make(map[string]struct{}, n)
	}
	s.pos = arr.start + 1
	for s.ws(); s.pos < arr.end-1; {
		v, _ := s.value(2)
		from := b.Len()
		raw := data[v.start+1 : v.end-1]
		if v.esc {
			var buf [64]byte
			raw = appendUnquoted(buf[:0], data[v.start:v.end])
		}
		if err := checkSymbol(raw, lim.MaxSymbolLen); err != nil {
			return nil, err
		}
		b.Write(raw)
		sym := b.String()[from:] // b never grows, so all share one array
		if set != nil {
			if _, dup := set[sym]; !dup {
				set[sym] = struct{}{}
				syms = append(syms, sym)
			}
		} else if !slices.Contains(syms, sym) {
			syms = append(syms, sym)
		}
		s.next(']')
	}
	return syms, nil
}

// checkSymbol checks one decoded symbol name.
func checkSymbol(sym []byte, maxLen int) *Error {
	if len(sym) == 0 {
		return &Error{Code: CodeBadRequest, Message: "empty symbol"}
	}
	if len(sym) > maxLen {
		return &Error{Code: CodeBadRequest,
			Message: fmt.Sprintf("symbol %s too long: %d > %d bytes", quote(sym), len(sym), maxLen)}
	}
	for _, c := range sym {
		if !symbolByte[c] {
			return &Error{Code: CodeBadRequest,
				Message: fmt.Sprintf("invalid symbol %s: want printable ASCII without space, quote, backslash or comma", quote(sym))}
		}
	}
	return nil
}

// symbolByte marks the bytes allowed in a symbol name.
var symbolByte = func() (t [256]bool) {
	for c := 0x21; c < 0x7f; c++ {
		t[c] = c != '"' && c != '\'' && c != '\\' && c != ','
	}
	return t
}()
