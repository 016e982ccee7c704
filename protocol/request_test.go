package protocol

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
)

func sameRequest(a, b Request) bool {
	return a.Op == b.Op && string(a.ID) == string(b.ID) && (a.ID == nil) == (b.ID == nil) &&
		slices.Equal(a.Symbols, b.Symbols) && a.Token == b.Token &&
		a.Channel == b.Channel && slices.Equal(a.Since, b.Since) && a.Interval == b.Interval &&
		a.Depth == b.Depth && a.MaxRate == b.MaxRate && a.Prefix == b.Prefix && a.Limit == b.Limit
}

func TestDecodeRequest(t *testing.T) {
	ok := func(op Op, id string, syms ...string) Request {
		r := Request{Op: op, Symbols: syms}
		if id != "" {
			r.ID = []byte(id)
		}
		return r
	}
	tests := []decodeTest{
		// Valid requests.
		{name: "subscribe", in: `{"op":"subscribe","symbols":["AAPL","BTC-USD"],"id":1}`, want: ok(OpSubscribe, `1`, "AAPL", "BTC-USD")},
		{name: "unsubscribe", in: `{"op":"unsubscribe","symbols":["AAPL"],"id":2}`, want: ok(OpUnsubscribe, `2`, "AAPL")},
		{name: "list", in: `{"op":"list","id":3}`, want: ok(OpList, `3`)},
		{name: "ping", in: `{"op":"ping","id":4}`, want: ok(OpPing, `4`)},
		{name: "ping no id", in: `{"op":"ping"}`, want: ok(OpPing, ``)},
		{name: "auth", in: `{"op":"auth","token":"eyJ.a\/b"}`, want: Request{Op: OpAuth, Token: "eyJ.a/b"}},
		{name: "string id", in: `{"id":"abc","op":"ping"}`, want: ok(OpPing, `"abc"`)},
		{name: "string id kept raw", in: `{"id":"a\"\u00e9","op":"ping"}`, want: ok(OpPing, `"a\"\u00e9"`)},
		{name: "number ids raw", in: `{"id":-0.5e+10,"op":"ping"}`, want: ok(OpPing, `-0.5e+10`)},
		{name: "huge number id", in: `{"id":123456789012345678901234567890e999999,"op":"ping"}`, want: ok(OpPing, `123456789012345678901234567890e999999`)},
		{name: "empty string id", in: `{"id":"","op":"ping"}`, want: ok(OpPing, `""`)},
		{name: "whitespace", in: " \t\r\n{ \"op\" :\n\"subscribe\" , \"symbols\" : [ \"A\" , \"B\" ] } \n", want: ok(OpSubscribe, ``, "A", "B")},
		{name: "duplicate symbols removed", in: `{"op":"subscribe","symbols":["B","A","B","C","A"]}`, want: ok(OpSubscribe, ``, "B", "A", "C")},
		{name: "escaped symbol", in: `{"op":"subscribe","symbols":["\u0041APL","BTC\/USD"]}`, want: ok(OpSubscribe, ``, "AAPL", "BTC/USD")},
		{name: "escaped key and op", in: `{"\u006fp":"p\u0069ng"}`, want: ok(OpPing, ``)},
		{name: "list with empty symbols", in: `{"op":"list","symbols":[]}`, want: ok(OpList, ``)},
		{name: "symbol punctuation", in: `{"op":"subscribe","symbols":["ES=F","^GSPC","BRK.B","a~!@#$%&*()_+{}[]|:;<>?/"]}`,
			want: ok(OpSubscribe, ``, "ES=F", "^GSPC", "BRK.B", "a~!@#$%&*()_+{}[]|:;<>?/")},
		{name: "symbol of max length", in: `{"op":"subscribe","symbols":["` + strings.Repeat("A", 32) + `"]}`, want: ok(OpSubscribe, ``, strings.Repeat("A", 32))},
		{name: "token with escapes", in: `{"op":"auth","token":"a\nb\u00e9\ud83d\ude42"}`, want: Request{Op: OpAuth, Token: "a\nbé🙂"}},

		// Size.
		{name: "empty input", in: ``, code: CodeBadRequest, msg: "empty message"},
		{name: "too big", in: `{"op":"ping","id":1,"x":"` + strings.Repeat("a", 70000) + `"}`, code: CodeMessageTooBig, msg: "message too big"},

		// Not one JSON object.
		{name: "only whitespace", in: "  ", code: CodeBadRequest, msg: "unexpected end of input"},
		{name: "array", in: `[{"op":"ping"}]`, code: CodeBadRequest, msg: `unexpected '['`},
		{name: "string", in: `"ping"`, code: CodeBadRequest},
		{name: "null", in: `null`, code: CodeBadRequest},
		{name: "trailing garbage", in: `{"op":"ping","id":1}x`, code: CodeBadRequest, id: `1`, msg: "trailing data"},
		{name: "two objects", in: `{"op":"ping","id":1} {"op":"ping"}`, code: CodeBadRequest, id: `1`, msg: "trailing data"},
		{name: "trailing NUL", in: "{\"op\":\"ping\"}\x00", code: CodeBadRequest, msg: "trailing data"},
		{name: "unterminated object", in: `{"op":"ping","id":1`, code: CodeBadRequest, msg: "end of input"}, // the id might have gone on
		{name: "unterminated after id", in: `{"id":1,"op":"ping"`, code: CodeBadRequest, id: `1`, msg: "end of input"},
		{name: "unterminated string", in: `{"op":"ping`, code: CodeBadRequest, msg: "unterminated string"},
		{name: "trailing comma", in: `{"op":"ping","id":1,}`, code: CodeBadRequest, id: `1`, msg: "string key"},
		{name: "missing colon", in: `{"op" "ping"}`, code: CodeBadRequest, msg: "':'"},
		{name: "single quotes", in: `{'op':'ping'}`, code: CodeBadRequest},
		{name: "unquoted key", in: `{op:"ping"}`, code: CodeBadRequest},
		{name: "comment", in: `{"op":"ping"/*x*/}`, code: CodeBadRequest},
		{name: "BOM", in: "\ufeff{\"op\":\"ping\"}", code: CodeBadRequest},
		{name: "NBSP whitespace", in: "{\u00a0\"op\":\"ping\"}", code: CodeBadRequest},
		{name: "bad literal", in: `{"op":"ping","x":tru}`, code: CodeBadRequest},
		{name: "leading zero id", in: `{"id":01,"op":"ping"}`, code: CodeBadRequest},
		{name: "plus id", in: `{"id":+1,"op":"ping"}`, code: CodeBadRequest},
		{name: "dot id", in: `{"id":1.,"op":"ping"}`, code: CodeBadRequest, msg: "digit after '.'"},
		{name: "exponent id", in: `{"id":1e,"op":"ping"}`, code: CodeBadRequest, msg: "exponent"},
		{name: "minus id", in: `{"id":-,"op":"ping"}`, code: CodeBadRequest},
		{name: "hex id", in: `{"id":0x10,"op":"ping"}`, code: CodeBadRequest},
		{name: "NaN id", in: `{"id":NaN,"op":"ping"}`, code: CodeBadRequest},
		{name: "deep nesting", in: `{"id":7,"x":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`, code: CodeBadRequest, id: `7`, msg: "nesting too deep"},
		{name: "deep objects", in: `{"x":` + strings.Repeat(`{"a":`, 40) + `1` + strings.Repeat("}", 40) + `,"op":"ping"}`, code: CodeBadRequest, msg: "nesting too deep"},
		{name: "invalid UTF-8 outside strings", in: "{\"op\":\"ping\"\xff}", code: CodeBadRequest},

		// Fields.
		{name: "unknown field", in: `{"op":"ping","x":1,"id":5}`, code: CodeBadRequest, id: `5`, msg: `unknown field "x"`},
		{name: "unknown field case", in: `{"OP":"ping"}`, code: CodeBadRequest, msg: `unknown field "OP"`},
		{name: "unknown nested field", in: `{"op":"ping","id":"q","extra":{"a":[1,2,{"b":null}]}}`, code: CodeBadRequest, id: `"q"`, msg: `unknown field "extra"`},
		{name: "duplicate op", in: `{"op":"ping","op":"list","id":1}`, code: CodeBadRequest, id: `1`, msg: `duplicate field "op"`},
		{name: "duplicate id", in: `{"id":1,"op":"ping","id":2}`, code: CodeBadRequest, id: `1`, msg: `duplicate field "id"`},
		{name: "duplicate via escape", in: `{"op":"ping","\u006fp":"ping"}`, code: CodeBadRequest, msg: `duplicate field "op"`},
		{name: "missing op", in: `{"id":9}`, code: CodeBadRequest, id: `9`, msg: `missing field "op"`},
		{name: "empty object", in: `{}`, code: CodeBadRequest, msg: `missing field "op"`},
		{name: "op not a string", in: `{"op":1,"id":9}`, code: CodeBadRequest, id: `9`, msg: `"op" must be a string`},
		{name: "op object", in: `{"id":9,"op":{"x":"ping"}}`, code: CodeBadRequest, id: `9`, msg: `"op" must be a string`},
		{name: "unknown op number id", in: `{"op":"subscribe_all","id":12}`, code: CodeUnknownOp, id: `12`, msg: `unknown op "subscribe_all"`},
		{name: "unknown op string id", in: `{"id":"r-1","op":"Ping"}`, code: CodeUnknownOp, id: `"r-1"`, msg: `unknown op "Ping"`},
		{name: "unknown op escaped", in: `{"op":"p\u00efng"}`, code: CodeUnknownOp, msg: `unknown op "pïng"`},
		{name: "empty op", in: `{"op":""}`, code: CodeUnknownOp, msg: `unknown op ""`},
		{name: "id null", in: `{"op":"ping","id":null}`, code: CodeBadRequest, msg: `"id" must be a number or a string`},
		{name: "id bool", in: `{"op":"ping","id":true}`, code: CodeBadRequest, msg: `"id" must be a number or a string`},
		{name: "id array", in: `{"op":"ping","id":[1]}`, code: CodeBadRequest, msg: `"id" must be a number or a string`},
		{name: "id object", in: `{"op":"ping","id":{}}`, code: CodeBadRequest, msg: `"id" must be a number or a string`},
		{name: "id bad escape", in: `{"op":"ping","id":"\x"}`, code: CodeBadRequest, msg: `field "id": invalid escape`},
		{name: "token not string", in: `{"op":"auth","token":5,"id":1}`, code: CodeBadRequest, id: `1`, msg: `"token" must be a string`},
		{name: "auth without token", in: `{"op":"auth","id":1}`, code: CodeBadRequest, id: `1`, msg: "auth needs a token"},
		{name: "auth empty token", in: `{"op":"auth","token":""}`, code: CodeBadRequest, msg: "auth needs a token"},

		// Symbols.
		{name: "subscribe without symbols", in: `{"op":"subscribe","id":1}`, code: CodeBadRequest, id: `1`, msg: "subscribe needs at least one symbol"},
		{name: "unsubscribe empty symbols", in: `{"op":"unsubscribe","symbols":[],"id":1}`, code: CodeBadRequest, id: `1`, msg: "unsubscribe needs at least one symbol"},
		{name: "symbols not array", in: `{"op":"subscribe","symbols":"AAPL","id":1}`, code: CodeBadRequest, id: `1`, msg: `"symbols" must be an array of strings`},
		{name: "symbols object", in: `{"op":"subscribe","symbols":{"AAPL":1}}`, code: CodeBadRequest, msg: `"symbols" must be an array of strings`},
		{name: "symbols null", in: `{"op":"subscribe","symbols":null}`, code: CodeBadRequest, msg: `"symbols" must be an array of strings`},
		{name: "symbol number", in: `{"op":"subscribe","symbols":["A",1],"id":1}`, code: CodeBadRequest, id: `1`, msg: `"symbols" must be an array of strings`},
		{name: "symbol nested array", in: `{"op":"subscribe","symbols":[["A"]],"id":1}`, code: CodeBadRequest, id: `1`, msg: `"symbols" must be an array of strings`},
		{name: "empty symbol", in: `{"op":"subscribe","symbols":["A",""],"id":1}`, code: CodeBadRequest, id: `1`, msg: "empty symbol"},
		{name: "symbol too long", in: `{"op":"subscribe","symbols":["` + strings.Repeat("A", 33) + `"],"id":1}`, code: CodeBadRequest, id: `1`, msg: "too long: 33 > 32"},
		{name: "unicode symbol", in: `{"op":"subscribe","symbols":["ÄPL"],"id":1}`, code: CodeBadRequest, id: `1`, msg: `invalid symbol "ÄPL"`},
		{name: "escaped unicode symbol", in: `{"op":"subscribe","symbols":["\u00c4PL"]}`, code: CodeBadRequest, msg: `invalid symbol "ÄPL"`},
		{name: "symbol with space", in: `{"op":"subscribe","symbols":["A B"]}`, code: CodeBadRequest, msg: "invalid symbol"},
		{name: "symbol with comma", in: `{"op":"subscribe","symbols":["A,B"]}`, code: CodeBadRequest, msg: "invalid symbol"},
		{name: "symbol with quote", in: `{"op":"subscribe","symbols":["A\"B"]}`, code: CodeBadRequest, msg: "invalid symbol"},
		{name: "symbol with apostrophe", in: `{"op":"subscribe","symbols":["A'B"]}`, code: CodeBadRequest, msg: "invalid symbol"},
		{name: "symbol with backslash", in: `{"op":"subscribe","symbols":["A\\B"]}`, code: CodeBadRequest, msg: "invalid symbol"},
		{name: "symbol with newline", in: `{"op":"subscribe","symbols":["A\nB"]}`, code: CodeBadRequest, msg: "invalid symbol"},
		{name: "symbol with DEL", in: "{\"op\":\"subscribe\",\"symbols\":[\"A\x7fB\"]}", code: CodeBadRequest, msg: "invalid symbol"},
		{name: "symbol with NUL escape", in: `{"op":"subscribe","symbols":["A\u0000"]}`, code: CodeBadRequest, msg: "invalid symbol"},
		{name: "too many symbols", in: `{"id":"t","op":"subscribe","symbols":[` + symbolList(1001) + `]}`, code: CodeTooManySymbols, id: `"t"`, msg: "more than 1000"},
		{name: "too many with duplicates", in: `{"op":"subscribe","symbols":[` + strings.Repeat(`"A",`, 1000) + `"A"]}`, code: CodeTooManySymbols},
		{name: "unknown op before bad symbols", in: `{"op":"sub","symbols":[1]}`, code: CodeUnknownOp},

		// Strings: escapes and encoding.
		{name: "invalid escape", in: `{"op":"pi\ng","id":1}`, want: Request{}, code: CodeUnknownOp, id: `1`}, // \n is valid: unknown op "pi\ng"
		{name: "invalid escape x", in: `{"op":"p\xing","id":1}`, code: CodeBadRequest, id: `1`, msg: `field "op": invalid escape`},
		{name: "invalid escape at end", in: `{"id":1,"op":"ping\`, code: CodeBadRequest, id: `1`, msg: "unterminated string"},
		{name: "short unicode escape", in: `{"op":"\u12","id":1}`, code: CodeBadRequest, id: `1`, msg: `invalid \u escape`},
		{name: "bad hex escape", in: `{"op":"\u12G4","id":1}`, code: CodeBadRequest, id: `1`, msg: `invalid \u escape`},
		{name: "lone high surrogate", in: `{"op":"auth","token":"\ud83d","id":1}`, code: CodeBadRequest, id: `1`, msg: "lone surrogate"},
		{name: "lone low surrogate", in: `{"op":"auth","token":"\ude42x"}`, code: CodeBadRequest, msg: "lone surrogate"},
		{name: "high then non-low", in: `{"op":"auth","token":"\ud83d\u0041"}`, code: CodeBadRequest, msg: "lone surrogate"},
		{name: "raw control char", in: "{\"op\":\"auth\",\"token\":\"a\tb\",\"id\":1}", code: CodeBadRequest, id: `1`, msg: "control character"},
		{name: "invalid UTF-8 in string", in: "{\"op\":\"auth\",\"token\":\"a\xffb\",\"id\":1}", code: CodeBadRequest, id: `1`, msg: "invalid UTF-8"},
		{name: "overlong UTF-8", in: "{\"op\":\"auth\",\"token\":\"\xc0\xaf\"}", code: CodeBadRequest, msg: "invalid UTF-8"},
		{name: "encoded surrogate UTF-8", in: "{\"op\":\"auth\",\"token\":\"\xed\xa0\x80\"}", code: CodeBadRequest, msg: "invalid UTF-8"},
		{name: "bad key escape", in: `{"o\p":"ping","id":1}`, code: CodeBadRequest, id: `1`, msg: "bad field name"},
		{name: "id after bad symbol", in: `{"op":"subscribe","symbols":["é"],"id":"late"}`, code: CodeBadRequest, id: `"late"`, msg: "invalid symbol"},
		{name: "id after unknown field", in: `{"op":"ping","zz":[],"id":42}`, code: CodeBadRequest, id: `42`, msg: `unknown field "zz"`},
	}
	runDecodeTests(t, tests)
}

type decodeTest struct {
	name string
	in   string
	want Request // when code is ""
	code Code
	id   string // id echoed in the error
	msg  string // part of the error message
}

func runDecodeTests(t *testing.T, tests []decodeTest) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeRequest([]byte(tt.in), Limits{})
			if tt.code == "" {
				if err != nil {
					t.Fatalf("DecodeRequest(%q) error %v, want %+v", tt.in, err, tt.want)
				}
				if !sameRequest(got, tt.want) {
					t.Errorf("DecodeRequest(%q) = %+v, want %+v", tt.in, got, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("DecodeRequest(%q) = %+v, want error %s", tt.in, got, tt.code)
			}
			if err.Code != tt.code || string(err.ID) != tt.id || !strings.Contains(err.Message, tt.msg) {
				t.Errorf("DecodeRequest(%q) error = {%s %q id=%s}, want {%s *%s* id=%s}", tt.in, err.Code, err.Message, err.ID, tt.code, tt.msg, tt.id)
			}
			if !strings.HasPrefix(err.Error(), "protocol: "+string(tt.code)+": ") {
				t.Errorf("DecodeRequest(%q) error string %q lacks its prefix", tt.in, err.Error())
			}
		})
	}
}

func symbolList(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"S%d"`, i)
	}
	return b.String()
}

func TestDecodeRequestLimits(t *testing.T) {
	lim := Limits{MaxBytes: 50, MaxSymbols: 2, MaxSymbolLen: 4}
	tests := []struct {
		in   string
		code Code
	}{
		{`{"op":"subscribe","symbols":["ABCD","B"]}`, ""},
		{`{"op":"subscribe","symbols":["ABCDE"]}`, CodeBadRequest},
		{`{"op":"subscribe","symbols":["A","B","C"]}`, CodeTooManySymbols},
		{`{"op":"subscribe","symbols":["A","B"],"id":1234567}`, CodeMessageTooBig},
	}
	for _, tt := range tests {
		_, err := DecodeRequest([]byte(tt.in), lim)
		var code Code
		if err != nil {
			code = err.Code
		}
		if code != tt.code {
			t.Errorf("DecodeRequest(%q, %+v) error %v, want code %q", tt.in, lim, err, tt.code)
		}
	}
	// Exactly MaxBytes is allowed.
	in := `{"op":"ping","id":` + strings.Repeat("1", 50-len(`{"op":"ping","id":}`)) + `}`
	if _, err := DecodeRequest([]byte(in), lim); err != nil || len(in) != lim.MaxBytes {
		t.Errorf("DecodeRequest(%q) (%d bytes) error %v, want nil", in, len(in), err)
	}
}

// TestDecodeRequestManySymbols covers the set-based dedup of long lists and
// checks the names do not alias the input.
func TestDecodeRequestManySymbols(t *testing.T) {
	in := []byte(`{"op":"subscribe","symbols":[` + symbolList(1000) + `,"S5","S999"]}`)
	in = []byte(strings.Replace(string(in), `"S7"`, `"S5"`, 1))
	got, err := DecodeRequest(in, Limits{MaxSymbols: 1002})
	if err != nil {
		t.Fatalf("DecodeRequest: %v", err)
	}
	if len(got.Symbols) != 999 || got.Symbols[6] != "S6" || got.Symbols[7] != "S8" || got.Symbols[998] != "S999" {
		t.Errorf("DecodeRequest gives %d symbols, %v … %v, want 999 without S7 and duplicates", len(got.Symbols), got.Symbols[:9], got.Symbols[990:])
	}
	clear(in)
	if got.Symbols[0] != "S0" {
		t.Errorf("symbol aliases the input: %q after clearing it", got.Symbols[0])
	}
}

func TestOpString(t *testing.T) {
	tests := []struct {
		op   Op
		want string
	}{
		{OpSubscribe, "subscribe"}, {OpUnsubscribe, "unsubscribe"}, {OpList, "list"}, {OpPing, "ping"}, {OpAuth, "auth"},
		{OpSearch, "search"}, {0, "Op(0)"}, {7, "Op(7)"}, {255, "Op(255)"},
	}
	for _, tt := range tests {
		if got := tt.op.String(); got != tt.want {
			t.Errorf("Op(%d).String() = %q, want %q", uint8(tt.op), got, tt.want)
		}
	}
}

func TestAppendRequestRoundTrip(t *testing.T) {
	reqs := []Request{
		{Op: OpSubscribe, ID: []byte(`"x\u2028"`), Symbols: []string{"AAPL", "ES=F"}},
		{Op: OpAuth, ID: []byte(`1e3`), Token: "a\x00\"\\\u2028é"},
		{Op: OpList},
		{Op: OpSubscribe, ID: []byte(`5`), Channel: ChannelTrades, Symbols: []string{"AAPL", "MSFT"},
			Since: []SinceSeq{{"MSFT", 7}, {"AAPL", math.MaxUint64}}},
		{Op: OpSubscribe, Channel: ChannelCandles, Interval: Interval1s, Symbols: []string{"AAPL"}, MaxRate: 0.1},
		{Op: OpUnsubscribe, Channel: ChannelCandles, Interval: Interval1h, Symbols: []string{"AAPL"}},
		{Op: OpSubscribe, Channel: ChannelBook, Symbols: []string{"BTC-USD"}, Depth: 200, MaxRate: 1000},
		{Op: OpSubscribe, Symbols: []string{"AAPL"}, MaxRate: 2.5},
		{Op: OpSearch, ID: []byte(`11`), Prefix: "AA", Limit: 500},
		{Op: OpSearch, Limit: 50},
	}
	for _, r := range reqs {
		enc := AppendRequest(nil, &r)
		got, err := DecodeRequest(enc, Limits{})
		if err != nil || !sameRequest(got, r) {
			t.Errorf("DecodeRequest(AppendRequest(%+v) = %s) = %+v, %v", r, enc, got, err)
		}
	}
}

// TestDecodeRequestChannels covers the channel, since, interval, depth,
// max_rate, prefix and limit fields and the search op: every rule, in
// both its accepting and its rejecting form.
func TestDecodeRequestChannels(t *testing.T) {
	sub := func(c Channel, syms ...string) Request {
		return Request{Op: OpSubscribe, Channel: c, Symbols: syms}
	}
	with := func(r Request, f func(*Request)) Request { f(&r); return r }
	runDecodeTests(t, []decodeTest{
		// Quotes, as before channels existed.
		{name: "quotes default", in: `{"op":"subscribe","symbols":["AAPL"],"id":1}`,
			want: with(sub(ChannelQuotes, "AAPL"), func(r *Request) { r.ID = []byte(`1`) })},
		{name: "quotes named", in: `{"op":"subscribe","channel":"quotes","symbols":["AAPL"]}`, want: sub(ChannelQuotes, "AAPL")},
		{name: "quotes max_rate", in: `{"op":"subscribe","channel":"quotes","symbols":["AAPL"],"max_rate":1,"id":2}`,
			want: with(sub(ChannelQuotes, "AAPL"), func(r *Request) { r.MaxRate = 1; r.ID = []byte(`2`) })},
		{name: "max_rate low", in: `{"op":"subscribe","symbols":["A"],"max_rate":0.1}`, want: with(sub(ChannelQuotes, "A"), func(r *Request) { r.MaxRate = 0.1 })},
		{name: "max_rate high", in: `{"op":"subscribe","symbols":["A"],"max_rate":1e3}`, want: with(sub(ChannelQuotes, "A"), func(r *Request) { r.MaxRate = 1000 })},
		{name: "max_rate below", in: `{"op":"subscribe","symbols":["A"],"max_rate":0.09999,"id":3}`, code: CodeBadRequest, id: `3`, msg: "max_rate 0.09999: want 0.1 to 1000 updates per second"},
		{name: "max_rate above", in: `{"op":"subscribe","symbols":["A"],"max_rate":1000.5}`, code: CodeBadRequest, msg: "max_rate 1000.5: want 0.1 to 1000"},
		{name: "max_rate zero", in: `{"op":"subscribe","symbols":["A"],"max_rate":0}`, code: CodeBadRequest, msg: "max_rate 0: want"},
		{name: "max_rate negative", in: `{"op":"subscribe","symbols":["A"],"max_rate":-1}`, code: CodeBadRequest, msg: "max_rate -1: want"},
		{name: "max_rate huge", in: `{"op":"subscribe","symbols":["A"],"max_rate":1e400}`, code: CodeBadRequest, msg: "max_rate 1e400: want"},
		{name: "max_rate long", in: `{"op":"subscribe","symbols":["A"],"max_rate":1.` + strings.Repeat("0", 5000) + `}`, code: CodeBadRequest, msg: "max_rate 1.000"},
		{name: "max_rate string", in: `{"op":"subscribe","symbols":["A"],"max_rate":"1"}`, code: CodeBadRequest, msg: `field "max_rate" must be a number`},
		{name: "max_rate trades", in: `{"op":"subscribe","channel":"trades","symbols":["A"],"max_rate":1}`, code: CodeBadRequest, msg: `"max_rate" does not go with channel "trades"`},
		{name: "max_rate unsubscribe", in: `{"op":"unsubscribe","symbols":["A"],"max_rate":1}`, code: CodeBadRequest, msg: `"max_rate" only goes with subscribe`},
		{name: "max_rate ping", in: `{"op":"ping","max_rate":1}`, code: CodeBadRequest, msg: `"max_rate" only goes with subscribe`},

		// Channel.
		{name: "channel escaped", in: `{"op":"subscribe","channel":"tr\u0061des","symbols":["A"]}`, want: sub(ChannelTrades, "A")},
		{name: "unknown channel", in: `{"op":"subscribe","channel":"level3","symbols":["A"],"id":4}`, code: CodeBadRequest, id: `4`, msg: `unknown channel "level3": want quotes, trades, candles or book`},
		{name: "channel case", in: `{"op":"subscribe","channel":"Trades","symbols":["A"]}`, code: CodeBadRequest, msg: `unknown channel "Trades"`},
		{name: "channel number", in: `{"op":"subscribe","channel":1,"symbols":["A"]}`, code: CodeBadRequest, msg: `field "channel" must be a string`},
		{name: "channel list", in: `{"op":"list","channel":"trades"}`, code: CodeBadRequest, msg: `"channel" only goes with subscribe and unsubscribe`},
		{name: "channel search", in: `{"op":"search","channel":"book"}`, code: CodeBadRequest, msg: `"channel" only goes with subscribe and unsubscribe`},
		{name: "channel bad escape", in: `{"op":"subscribe","channel":"\q","symbols":["A"]}`, code: CodeBadRequest, msg: `field "channel": invalid escape`},

		// Trades and since.
		{name: "trades", in: `{"op":"subscribe","channel":"trades","symbols":["AAPL"],"id":5}`,
			want: with(sub(ChannelTrades, "AAPL"), func(r *Request) { r.ID = []byte(`5`) })},
		{name: "since", in: `{"op":"subscribe","channel":"trades","symbols":["AAPL","MSFT","IBM"],"since":{"MSFT":0,"AAPL":88100}}`,
			want: with(sub(ChannelTrades, "AAPL", "MSFT", "IBM"), func(r *Request) { r.Since = []SinceSeq{{"MSFT", 0}, {"AAPL", 88100}} })},
		{name: "since before symbols", in: `{"since":{"AAPL":18446744073709551615},"op":"subscribe","channel":"trades","symbols":["AAPL"]}`,
			want: with(sub(ChannelTrades, "AAPL"), func(r *Request) { r.Since = []SinceSeq{{"AAPL", math.MaxUint64}} })},
		{name: "since escaped key", in: `{"op":"subscribe","channel":"trades","symbols":["AAPL"],"since":{"\u0041APL":1}}`,
			want: with(sub(ChannelTrades, "AAPL"), func(r *Request) { r.Since = []SinceSeq{{"AAPL", 1}} })},
		{name: "since empty", in: `{"op":"subscribe","channel":"trades","symbols":["AAPL"],"since":{}}`, want: sub(ChannelTrades, "AAPL")},
		{name: "since quotes", in: `{"op":"subscribe","symbols":["AAPL"],"since":{"AAPL":1},"id":6}`, code: CodeBadRequest, id: `6`, msg: `"since" only goes with a trades subscribe`},
		{name: "since unsubscribe", in: `{"op":"unsubscribe","channel":"trades","symbols":["AAPL"],"since":{"AAPL":1}}`, code: CodeBadRequest, msg: `"since" only goes with a trades subscribe`},
		{name: "since book", in: `{"op":"subscribe","channel":"book","symbols":["AAPL"],"since":{"AAPL":1}}`, code: CodeBadRequest, msg: `"since" only goes with a trades subscribe`},
		{name: "since array", in: `{"op":"subscribe","channel":"trades","symbols":["AAPL"],"since":[1]}`, code: CodeBadRequest, msg: `field "since" must be an object`},
		{name: "since other symbol", in: `{"op":"subscribe","channel":"trades","symbols":["AAPL"],"since":{"MSFT":1}}`, code: CodeBadRequest, msg: `"since" names "MSFT", which "symbols" does not`},
		{name: "since twice", in: `{"op":"subscribe","channel":"trades","symbols":["AAPL","B"],"since":{"AAPL":1,"AAPL":2}}`, code: CodeBadRequest, msg: `"since" names "AAPL" twice`},
		{name: "since twice escaped", in: `{"op":"subscribe","channel":"trades","symbols":["AAPL","B"],"since":{"AAPL":1,"\u0041APL":2}}`, code: CodeBadRequest, msg: `"since" names "AAPL" twice`},
		{name: "since more than symbols", in: `{"op":"subscribe","channel":"trades","symbols":["AAPL"],"since":{"AAPL":1,"AAPL":2}}`, code: CodeBadRequest, msg: `"since" names more symbols than "symbols"`},
		{name: "since negative", in: `{"op":"subscribe","channel":"trades","symbols":["AAPL"],"since":{"AAPL":-1}}`, code: CodeBadRequest, msg: `"since" of "AAPL" must be an unsigned integer, not -1`},
		{name: "since fraction", in: `{"op":"subscribe","channel":"trades","symbols":["AAPL"],"since":{"AAPL":1.0}}`, code: CodeBadRequest, msg: `must be an unsigned integer, not 1.0`},
		{name: "since exponent", in: `{"op":"subscribe","channel":"trades","symbols":["AAPL"],"since":{"AAPL":1e3}}`, code: CodeBadRequest, msg: `not 1e3`},
		{name: "since overflow", in: `{"op":"subscribe","channel":"trades","symbols":["AAPL"],"since":{"AAPL":18446744073709551616}}`, code: CodeBadRequest, msg: `not 18446744073709551616`},
		{name: "since string", in: `{"op":"subscribe","channel":"trades","symbols":["AAPL"],"since":{"AAPL":"1"}}`, code: CodeBadRequest, msg: `not "1"`},
		{name: "since nested", in: `{"op":"subscribe","channel":"trades","symbols":["AAPL"],"since":{"AAPL":{"x":1}}}`, code: CodeBadRequest, msg: `must be an unsigned integer`},
		{name: "since bad key", in: `{"op":"subscribe","channel":"trades","symbols":["AAPL"],"since":{"A\x":1}}`, code: CodeBadRequest, msg: `field "since": invalid escape`},
		{name: "since long escaped key", in: `{"op":"subscribe","channel":"trades","symbols":["AAPL"],"since":{"` + strings.Repeat(`\u0041`, 40) + `":1}}`, code: CodeBadRequest, msg: `which "symbols" does not`},

		// Candles and interval.
		{name: "candles", in: `{"op":"subscribe","channel":"candles","interval":"1m","symbols":["AAPL"],"id":7}`,
			want: with(sub(ChannelCandles, "AAPL"), func(r *Request) { r.Interval = Interval1m; r.ID = []byte(`7`) })},
		{name: "candles 1s", in: `{"op":"subscribe","channel":"candles","interval":"1s","symbols":["AAPL"]}`, want: with(sub(ChannelCandles, "AAPL"), func(r *Request) { r.Interval = Interval1s })},
		{name: "candles 1h max_rate", in: `{"op":"subscribe","channel":"candles","interval":"1h","symbols":["AAPL"],"max_rate":2}`,
			want: with(sub(ChannelCandles, "AAPL"), func(r *Request) { r.Interval = Interval1h; r.MaxRate = 2 })},
		{name: "candles unsubscribe", in: `{"op":"unsubscribe","channel":"candles","interval":"5m","symbols":["AAPL"]}`,
			want: Request{Op: OpUnsubscribe, Channel: ChannelCandles, Interval: Interval5m, Symbols: []string{"AAPL"}}},
		{name: "candles without interval", in: `{"op":"subscribe","channel":"candles","symbols":["AAPL"],"id":8}`, code: CodeBadRequest, id: `8`, msg: `channel "candles" needs an "interval"`},
		{name: "candles unsubscribe without interval", in: `{"op":"unsubscribe","channel":"candles","symbols":["AAPL"]}`, code: CodeBadRequest, msg: `channel "candles" needs an "interval"`},
		{name: "unknown interval", in: `{"op":"subscribe","channel":"candles","interval":"2m","symbols":["AAPL"]}`, code: CodeBadRequest, msg: `unknown interval "2m": want 1s, 1m, 5m or 1h`},
		{name: "interval number", in: `{"op":"subscribe","channel":"candles","interval":60,"symbols":["AAPL"]}`, code: CodeBadRequest, msg: `field "interval" must be a string`},
		{name: "interval quotes", in: `{"op":"subscribe","interval":"1m","symbols":["AAPL"]}`, code: CodeBadRequest, msg: `"interval" only goes with channel "candles"`},
		{name: "interval trades", in: `{"op":"subscribe","channel":"trades","interval":"1m","symbols":["AAPL"]}`, code: CodeBadRequest, msg: `"interval" only goes with channel "candles"`},

		// Book and depth.
		{name: "book", in: `{"op":"subscribe","channel":"book","symbols":["BTC-USD"],"depth":10,"id":9}`,
			want: with(sub(ChannelBook, "BTC-USD"), func(r *Request) { r.Depth = 10; r.ID = []byte(`9`) })},
		{name: "book default depth", in: `{"op":"subscribe","channel":"book","symbols":["BTC-USD"]}`, want: with(sub(ChannelBook, "BTC-USD"), func(r *Request) { r.Depth = DefaultBookDepth })},
		{name: "book 50", in: `{"op":"subscribe","channel":"book","symbols":["BTC-USD"],"depth":50}`, want: with(sub(ChannelBook, "BTC-USD"), func(r *Request) { r.Depth = 50 })},
		{name: "book 200 max_rate", in: `{"op":"subscribe","channel":"book","symbols":["BTC-USD"],"depth":200,"max_rate":5}`,
			want: with(sub(ChannelBook, "BTC-USD"), func(r *Request) { r.Depth = 200; r.MaxRate = 5 })},
		{name: "book unsubscribe", in: `{"op":"unsubscribe","channel":"book","symbols":["BTC-USD"]}`, want: Request{Op: OpUnsubscribe, Channel: ChannelBook, Symbols: []string{"BTC-USD"}}},
		{name: "depth 20", in: `{"op":"subscribe","channel":"book","symbols":["BTC-USD"],"depth":20}`, code: CodeBadRequest, msg: `depth 20: want 10, 50 or 200`},
		{name: "depth 0", in: `{"op":"subscribe","channel":"book","symbols":["BTC-USD"],"depth":0}`, code: CodeBadRequest, msg: `depth 0: want`},
		{name: "depth fraction", in: `{"op":"subscribe","channel":"book","symbols":["BTC-USD"],"depth":10.0}`, code: CodeBadRequest, msg: `depth 10.0: want`},
		{name: "depth huge", in: `{"op":"subscribe","channel":"book","symbols":["BTC-USD"],"depth":18446744073709551626}`, code: CodeBadRequest, msg: `depth 18446744073709551626: want`},
		{name: "depth wraps", in: `{"op":"subscribe","channel":"book","symbols":["BTC-USD"],"depth":4294967306}`, code: CodeBadRequest, msg: `depth 4294967306: want`},
		{name: "depth string", in: `{"op":"subscribe","channel":"book","symbols":["BTC-USD"],"depth":"10"}`, code: CodeBadRequest, msg: `field "depth" must be a number`},
		{name: "depth quotes", in: `{"op":"subscribe","symbols":["BTC-USD"],"depth":10}`, code: CodeBadRequest, msg: `"depth" only goes with a book subscribe`},
		{name: "depth unsubscribe", in: `{"op":"unsubscribe","channel":"book","symbols":["BTC-USD"],"depth":10}`, code: CodeBadRequest, msg: `"depth" only goes with a book subscribe`},

		// Search.
		{name: "search", in: `{"op":"search","prefix":"AA","limit":50,"id":11}`, want: Request{Op: OpSearch, ID: []byte(`11`), Prefix: "AA", Limit: 50}},
		{name: "search defaults", in: `{"op":"search"}`, want: Request{Op: OpSearch, Limit: DefaultSearchLimit}},
		{name: "search empty prefix", in: `{"op":"search","prefix":"","limit":1}`, want: Request{Op: OpSearch, Limit: 1}},
		{name: "search max", in: `{"op":"search","prefix":"` + strings.Repeat("Z", 32) + `","limit":500}`, want: Request{Op: OpSearch, Prefix: strings.Repeat("Z", 32), Limit: 500}},
		{name: "search escaped prefix", in: `{"op":"search","prefix":"B\u0054C-"}`, want: Request{Op: OpSearch, Prefix: "BTC-", Limit: DefaultSearchLimit}},
		{name: "limit 0", in: `{"op":"search","prefix":"A","limit":0,"id":12}`, code: CodeBadRequest, id: `12`, msg: `limit 0: want 1 to 500`},
		{name: "limit 501", in: `{"op":"search","limit":501}`, code: CodeBadRequest, msg: `limit 501: want 1 to 500`},
		{name: "limit negative", in: `{"op":"search","limit":-5}`, code: CodeBadRequest, msg: `limit -5: want`},
		{name: "limit fraction", in: `{"op":"search","limit":1.5}`, code: CodeBadRequest, msg: `limit 1.5: want`},
		{name: "limit string", in: `{"op":"search","limit":"5"}`, code: CodeBadRequest, msg: `field "limit" must be a number`},
		{name: "limit subscribe", in: `{"op":"subscribe","symbols":["A"],"limit":5}`, code: CodeBadRequest, msg: `"limit" only goes with search`},
		{name: "prefix list", in: `{"op":"list","prefix":"A"}`, code: CodeBadRequest, msg: `"prefix" only goes with search`},
		{name: "prefix too long", in: `{"op":"search","prefix":"` + strings.Repeat("Z", 33) + `"}`, code: CodeBadRequest, msg: `prefix "ZZZ`},
		{name: "prefix too long raw", in: `{"op":"search","prefix":"` + strings.Repeat(`\u005a`, 5000) + `"}`, code: CodeBadRequest, msg: `prefix too long: more than 32 bytes`},
		{name: "prefix space", in: `{"op":"search","prefix":"A B"}`, code: CodeBadRequest, msg: `invalid prefix "A B": want printable ASCII`},
		{name: "prefix unicode", in: `{"op":"search","prefix":"\u00c4"}`, code: CodeBadRequest, msg: `invalid prefix "Ä"`},
		{name: "prefix number", in: `{"op":"search","prefix":1}`, code: CodeBadRequest, msg: `field "prefix" must be a string`},
		{name: "search symbols", in: `{"op":"search","symbols":["AAPL"],"id":13}`, code: CodeBadRequest, id: `13`, msg: `search takes a "prefix", not "symbols"`},
		{name: "search empty symbols", in: `{"op":"search","symbols":[]}`, code: CodeBadRequest, msg: `search takes a "prefix", not "symbols"`},
	})
}

// TestDecodeRequestSinceLong covers the map-based lookup of since keys in
// long symbol lists.
func TestDecodeRequestSinceLong(t *testing.T) {
	var since strings.Builder
	for i := 999; i >= 0; i -= 3 {
		fmt.Fprintf(&since, `"S%d":%d,`, i, i)
	}
	in := `{"op":"subscribe","channel":"trades","symbols":[` + symbolList(1000) + `],"since":{` + strings.TrimSuffix(since.String(), ",") + `}}`
	got, err := DecodeRequest([]byte(in), Limits{MaxBytes: 1 << 20})
	if err != nil {
		t.Fatalf("DecodeRequest: %v", err)
	}
	if len(got.Since) != 334 || got.Since[0] != (SinceSeq{"S999", 999}) || got.Since[333] != (SinceSeq{"S0", 0}) {
		t.Errorf("DecodeRequest gives since %v … (%d), want S999 … S0 (334)", got.Since[:2], len(got.Since))
	}
	for _, tc := range []struct{ since, msg string }{
		{`"S5":1,"S6":2,"S5":3`, `"since" names "S5" twice`},
		{`"S5":1,"X":2`, `"since" names "X", which "symbols" does not`},
	} {
		in := `{"op":"subscribe","channel":"trades","symbols":[` + symbolList(1000) + `],"since":{` + tc.since + `}}`
		if _, err := DecodeRequest([]byte(in), Limits{MaxBytes: 1 << 20}); err == nil || !strings.Contains(err.Message, tc.msg) {
			t.Errorf("DecodeRequest(since {%s}) error %v, want %q", tc.since, err, tc.msg)
		}
	}
}
