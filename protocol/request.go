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
	OpSearch                    // {"op":"search","prefix":"AA","limit":50}: symbols by prefix
)

var opNames = [...]string{
	OpSubscribe:   "subscribe",
	OpUnsubscribe: "unsubscribe",
	OpList:        "list",
	OpPing:        "ping",
	OpAuth:        "auth",
	OpSearch:      "search",
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
	// last trade seq the client has; it gets every later trade first. In
	// the order sent; each symbol is one of Symbols, at most once.
	Since []SinceSeq
	// Interval is the candle interval of a candles subscribe or
	// unsubscribe, which must name one.
	Interval Interval
	// Depth is the book depth of a book subscribe: 10, 50 or 200, and
	// DefaultBookDepth when "depth" is absent; 0 for any other request.
	Depth int
	// MaxRate caps updates per second per symbol of a subscribe, from
	// MinMaxRate to MaxMaxRate; 0 when absent: as fast as they come.
	MaxRate float64
	// Prefix and Limit are a search's symbol prefix (possibly empty) and
	// result cap: 1 to MaxSearchLimit, DefaultSearchLimit when "limit" is
	// absent; 0 for any other request.
	Prefix string
	Limit  int
}

// Stream returns what a subscribe or unsubscribe request is about: its
// channel, interval and depth.
func (r *Request) Stream() Stream {
	return Stream{Channel: r.Channel, Interval: r.Interval, Depth: r.Depth}
}

// SinceSeq is one entry of a subscribe's "since" object.
type SinceSeq struct {
	Symbol string
	Seq    uint64
}

// Bounds and defaults of the channel and search fields of a request.
const (
	DefaultBookDepth   = 10   // depth of a book subscribe without "depth"
	MaxBookDepth       = 200  // the deepest book a client may ask for
	MinMaxRate         = 0.1  // the lowest "max_rate", updates per second
	MaxMaxRate         = 1000 // the highest "max_rate"
	DefaultSearchLimit = 50   // symbols a search without "limit" returns at most
	MaxSearchLimit     = 500  // the highest "limit"
)

// IsBookDepth reports whether d is a depth a book subscribe may ask for:
// 10, 50 or 200.
func IsBookDepth(d int) bool {
	return d == 10 || d == 50 || d == MaxBookDepth
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
	iChannel
	iSince
	iInterval
	iDepth
	iMaxRate
	iPrefix
	iLimit
	numFields
)

var fieldNames = [numFields]struct {
	name string
	want kind   // the only kind the value may have; 0 for id (number or string)
	what string // the kind, for error messages
}{
	iOp:       {"op", kindString, "a string"},
	iID:       {"id", 0, "a number or a string"},
	iSymbols:  {"symbols", kindArray, "an array of strings"},
	iToken:    {"token", kindString, "a string"},
	iChannel:  {"channel", kindString, "a string"},
	iSince:    {"since", kindObject, "an object"},
	iInterval: {"interval", kindString, "a string"},
	iDepth:    {"depth", kindNumber, "a number"},
	iMaxRate:  {"max_rate", kindNumber, "a number"},
	iPrefix:   {"prefix", kindString, "a string"},
	iLimit:    {"limit", kindNumber, "a number"},
}

// DecodeRequest decodes one client request. data must be exactly one JSON
// object (whitespace around tokens allowed) in valid UTF-8, with only the
// fields of protocol v1 (op, id, symbols, token, channel, since, interval,
// depth, max_rate, prefix, limit), each at most once, and each only with the
// ops and channels it belongs to (see the package doc). On error the *Error
// carries the code to send and, whenever the id could be read (anywhere in
// the object), the id to echo. It never panics, and its work is linear in
// len(data), which it checks against lim first.
//
// Symbols must be non-empty printable ASCII without spaces, quotes (double
// or single), backslashes or commas, at most lim.MaxSymbolLen bytes each;
// subscribe and unsubscribe need at least one. Duplicates are removed,
// keeping the first. A search's prefix is made of the same bytes, at most
// lim.MaxSymbolLen of them. The returned ID may alias data; the rest does
// not.
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
				case v.kind != fn.want:
					badf("field %q must be %s", fn.name, fn.what)
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
	if o, ok := matchName(data, op, opNames[OpSubscribe:]); ok {
		req.Op = OpSubscribe + Op(o)
	}
	if req.Op == 0 {
		return req, e(CodeUnknownOp, "unknown op %s", quoteString(data, op))
	}
	if seen&(1<<iSymbols) != 0 && req.Op == OpSearch {
		return req, e(CodeBadRequest, "search takes a \"prefix\", not \"symbols\"")
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
	if seen&(1<<iToken) != 0 {
		req.Token = string(decodeString(nil, data, vals[iToken]))
	}
	if req.Op == OpAuth && req.Token == "" {
		return req, e(CodeBadRequest, "auth needs a token")
	}
	if err := decodeOptions(data, &req, &vals, seen, lim); err != nil {
		err.ID = req.ID
		return req, err
	}
	return req, nil
}

// decodeOptions decodes and checks the fields that say what a subscribe,
// unsubscribe or search is about, in req, whose Op and Symbols are set.
// vals and seen are the fields' tokens and presence.
func decodeOptions(data []byte, req *Request, vals *[numFields]token, seen int, lim Limits) *Error {
	has := func(f int) bool { return seen&(1<<f) != 0 }
	bad := func(format string, args ...any) *Error {
		return &Error{Code: CodeBadRequest, Message: fmt.Sprintf(format, args...)}
	}
	sub := req.Op == OpSubscribe

	if v := vals[iChannel]; has(iChannel) {
		if !sub && req.Op != OpUnsubscribe {
			return bad("\"channel\" only goes with subscribe and unsubscribe")
		}
		c, ok := matchName(data, v, channelNames[:])
		if !ok {
			return bad("unknown channel %s: want quotes, trades, candles or book", quoteString(data, v))
		}
		req.Channel = Channel(c)
	}

	switch v := vals[iInterval]; {
	case has(iInterval) && req.Channel != ChannelCandles:
		return bad("\"interval\" only goes with channel \"candles\"")
	case has(iInterval):
		i, ok := matchName(data, v, intervalNames[:])
		if !ok {
			return bad("unknown interval %s: want 1s, 1m, 5m or 1h", quoteString(data, v))
		}
		req.Interval = Interval(i)
	case req.Channel == ChannelCandles:
		return bad("channel \"candles\" needs an \"interval\"")
	}

	switch v := vals[iDepth]; {
	case has(iDepth) && (!sub || req.Channel != ChannelBook):
		return bad("\"depth\" only goes with a book subscribe")
	case has(iDepth):
		d, ok := parseUint(data, v)
		if !ok || d > MaxBookDepth || !IsBookDepth(int(d)) {
			return bad("depth %s: want 10, 50 or 200", snippet(data[v.start:v.end]))
		}
		req.Depth = int(d)
	case sub && req.Channel == ChannelBook:
		req.Depth = DefaultBookDepth
	}

	if v := vals[iMaxRate]; has(iMaxRate) {
		switch {
		case !sub:
			return bad("\"max_rate\" only goes with subscribe")
		case req.Channel == ChannelTrades:
			return bad("\"max_rate\" does not go with channel \"trades\": trades are never merged")
		}
		raw := data[v.start:v.end]
		r, err := 0.0, error(nil)
		if len(raw) <= 32 { // longer is out of range or needlessly precise
			r, err = strconv.ParseFloat(string(raw), 64)
		}
		if len(raw) > 32 || err != nil || r < MinMaxRate || r > MaxMaxRate {
			return bad("max_rate %s: want %g to %g updates per second", snippet(raw), MinMaxRate, float64(MaxMaxRate))
		}
		req.MaxRate = r
	}

	if has(iSince) {
		if !sub || req.Channel != ChannelTrades {
			return bad("\"since\" only goes with a trades subscribe")
		}
		since, err := decodeSince(data, vals[iSince], req.Symbols, lim)
		if err != nil {
			return err
		}
		req.Since = since
	}

	if v := vals[iPrefix]; has(iPrefix) {
		if req.Op != OpSearch {
			return bad("\"prefix\" only goes with search")
		}
		if v.end-v.start-2 > 6*lim.MaxSymbolLen { // even all-\u escapes decode too long
			return bad("prefix too long: more than %d bytes", lim.MaxSymbolLen)
		}
		var buf [64]byte
		p := decodeString(buf[:0], data, v)
		if err := checkName("prefix", p, lim.MaxSymbolLen); err != nil {
			return err
		}
		req.Prefix = string(p)
	}

	switch v := vals[iLimit]; {
	case has(iLimit) && req.Op != OpSearch:
		return bad("\"limit\" only goes with search")
	case has(iLimit):
		n, ok := parseUint(data, v)
		if !ok || n < 1 || n > MaxSearchLimit {
			return bad("limit %s: want 1 to %d", snippet(data[v.start:v.end]), MaxSearchLimit)
		}
		req.Limit = int(n)
	case req.Op == OpSearch:
		req.Limit = DefaultSearchLimit
	}
	return nil
}

// decodeSince decodes the since object obj, a token that scanner.value has
// read without error, against the request's symbols syms. It does work
// linear in the object's size: it stops at the first entry beyond
// len(syms), which a valid object cannot have.
func decodeSince(data []byte, obj token, syms []string, lim Limits) ([]SinceSeq, *Error) {
	bad := func(format string, args ...any) ([]SinceSeq, *Error) {
		return nil, &Error{Code: CodeBadRequest, Message: fmt.Sprintf(format, args...)}
	}
	s := scanner{data: data[:obj.end], pos: obj.start}
	if s.enter('}') {
		return nil, nil
	}
	var index map[string]int // for long lists; short ones are searched
	if len(syms) > 16 {
		index = make(map[string]int, len(syms))
		for i, sym := range syms {
			index[sym] = i
		}
	}
	var since []SinceSeq
	var k, v token
	for more := true; more; {
		more, _ = s.member(2, &k, &v) // no error: scanned before
		if k.problem != "" {
			return bad("field \"since\": %s", k.problem)
		}
		if len(since) == len(syms) {
			return bad("\"since\" names more symbols than \"symbols\"")
		}
		var buf [64]byte
		key := data[k.start+1 : k.end-1]
		if k.esc && len(key) <= 6*lim.MaxSymbolLen { // longer cannot be a symbol, nor can raw escapes
			key = appendUnquoted(buf[:0], data[k.start:k.end])
		}
		// i is the symbol's index in syms, -1 if absent, -2 if named before.
		i := -1
		if index != nil {
			if j, ok := index[string(key)]; ok {
				i = j
				if j >= 0 {
					index[syms[j]] = -2
				}
			}
		} else if i = slices.Index(syms, string(key)); i >= 0 && slices.ContainsFunc(since, func(e SinceSeq) bool { return e.Symbol == syms[i] }) {
			i = -2
		}
		switch {
		case i == -1:
			return bad("\"since\" names %s, which \"symbols\" does not", quote(key))
		case i == -2:
			return bad("\"since\" names %s twice", quote(key))
		}
		seq, ok := parseUint(data, v)
		if !ok {
			return bad("\"since\" of %s must be an unsigned integer, not %s", quote(key), snippet(data[v.start:v.end]))
		}
		since = append(since, SinceSeq{Symbol: syms[i], Seq: seq})
	}
	return since, nil
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
	return checkName("symbol", sym, maxLen)
}

// checkName checks that name, a symbol or a prefix of one, is at most
// maxLen bytes of the symbol alphabet.
func checkName(what string, name []byte, maxLen int) *Error {
	if len(name) > maxLen {
		return &Error{Code: CodeBadRequest,
			Message: fmt.Sprintf("%s %s too long: %d > %d bytes", what, quote(name), len(name), maxLen)}
	}
	for _, c := range name {
		if !symbolByte[c] {
			return &Error{Code: CodeBadRequest,
				Message: fmt.Sprintf("invalid %s %s: want printable ASCII without space, quote, backslash or comma", what, quote(name))}
		}
	}
	return nil
}

// matchName returns the index of the name in names that the string token
// v decodes to.
func matchName(data []byte, v token, names []string) (int, bool) {
	for i, n := range names {
		if stringIs(data, v, n) {
			return i, true
		}
	}
	return 0, false
}

// decodeString appends the decoded content of the string token v, which
// has no problem, to dst.
func decodeString(dst, data []byte, v token) []byte {
	if v.esc {
		return appendUnquoted(dst, data[v.start:v.end])
	}
	return append(dst, data[v.start+1:v.end-1]...)
}

// quoteString quotes the string token v for an error message: decoded
// when that is cheap, else as sent.
func quoteString(data []byte, v token) string {
	var buf [64]byte
	name := data[v.start+1 : v.end-1]
	if v.esc && len(name) <= len(buf) {
		name = appendUnquoted(buf[:0], data[v.start:v.end])
	}
	return quote(name)
}

// symbolByte marks the bytes allowed in a symbol name.
var symbolByte = func() (t [256]bool) {
	for c := 0x21; c < 0x7f; c++ {
		t[c] = c != '"' && c != '\'' && c != '\\' && c != ','
	}
	return t
}()
