package protocol

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// sameTick compares ticks by value: decimals with Equal, since 1.0 and 1.00
// differ in representation.
func sameTick(a, b Tick) bool {
	return a.Symbol == b.Symbol && a.Seq == b.Seq && a.TS == b.TS &&
		a.PricePrec == b.PricePrec && a.VolumePrec == b.VolumePrec &&
		a.Price.Equal(b.Price) && a.Bid.Equal(b.Bid) && a.Ask.Equal(b.Ask) &&
		a.Open.Equal(b.Open) && a.High.Equal(b.High) && a.Low.Equal(b.Low) && a.Volume.Equal(b.Volume)
}

// tickWith returns the AAPL tick message with field name's value replaced
// by raw, or the field removed when raw is "".
func tickWith(name, raw string) string {
	return messageWith([]string{
		`"type":"tick"`, `"symbol":"AAPL"`, `"seq":1042`, `"price":"187.23"`, `"bid":"187.22"`, `"ask":"187.24"`,
		`"open":"185.00"`, `"high":"188.10"`, `"low":"184.90"`, `"volume":"1203344"`, `"ts":1763718000123456789`,
	}, name, raw)
}

// messageWith returns the object of fields with field name's value
// replaced by raw, or the field removed when raw is "".
func messageWith(fields []string, name, raw string) string {
	var out []string
	for _, f := range fields {
		switch {
		case !strings.HasPrefix(f, `"`+name+`":`):
			out = append(out, f)
		case raw != "":
			out = append(out, `"`+name+`":`+raw)
		}
	}
	return "{" + strings.Join(out, ",") + "}"
}

func TestDecodeTick(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want *Tick // nil: an error containing msg
		typ  string
		msg  string
	}{
		{name: "doc example", in: aaplJSON, want: aapl(), typ: "tick"},
		{name: "snapshot", in: SnapshotPrefix + aaplJSON[len(TickPrefix):], want: aapl(), typ: "snapshot"},
		{name: "spaced and reordered", in: " {\n \"ts\" : 1763718000123456789, \"volume\":\"1203344\",\"low\":\"184.90\",\"high\":\"188.10\",\"open\":\"185.00\",\"ask\":\"187.24\",\"bid\":\"187.22\",\"price\":\"187.23\",\"seq\":1042,\"symbol\":\"AAPL\",\"type\":\"tick\"} ", want: aapl(), typ: "tick"},
		{name: "unknown fields ignored", in: strings.Replace(aaplJSON, `"seq"`, `"venue":{"mic":["XNAS",1,null,true]},"seq"`, 1) + " ", want: aapl(), typ: "tick"},
		{name: "escaped symbol", in: tickWith("symbol", `"A\u0041PL"`), want: aapl(), typ: "tick"},
		{name: "escaped type", in: tickWith("type", `"t\u0069ck"`), want: aapl(), typ: "tick"},
		{name: "negative zero prec", in: tickWith("price", `"-1"`), want: &Tick{}, msg: "bid has 2 decimals, price has 0"},
		{name: "volume decimals", in: tickWith("volume", `"0.5000"`), want: func() *Tick { a := aapl(); a.Volume = dec("0.5"); a.VolumePrec = 4; return a }(), typ: "tick"},
		{name: "negative ts", in: tickWith("ts", `-1`), want: func() *Tick { a := aapl(); a.TS = -1; return a }(), typ: "tick"},
		{name: "max seq", in: tickWith("seq", `18446744073709551615`), want: func() *Tick { a := aapl(); a.Seq = 1<<64 - 1; return a }(), typ: "tick"},
		{name: "huge price", in: strings.NewReplacer(`"187.23"`, `"123456789012345678901234567890.12"`).Replace(aaplJSON),
			want: func() *Tick { a := aapl(); a.Price = dec("123456789012345678901234567890.12"); return a }(), typ: "tick"},

		{name: "empty", in: ``, msg: "unexpected end of input"},
		{name: "not an object", in: `[]`, msg: "unexpected '['"},
		{name: "pong", in: `{"type":"pong","ts":1}`, msg: `missing field "symbol"`},
		{name: "wrong type", in: tickWith("type", `"quote"`), msg: `type "quote" is not "tick" or "snapshot"`},
		{name: "type not string", in: tickWith("type", `1`), msg: "type"},
		{name: "missing type", in: tickWith("type", ""), msg: `missing field "type"`},
		{name: "missing ts", in: tickWith("ts", ""), msg: `missing field "ts"`},
		{name: "missing volume", in: tickWith("volume", ""), msg: `missing field "volume"`},
		{name: "duplicate field", in: strings.Replace(aaplJSON, `"seq":1042`, `"seq":1042,"seq":1043`, 1), msg: `duplicate field "seq"`},
		{name: "trailing data", in: aaplJSON + "{}", msg: "trailing data"},
		{name: "empty symbol", in: tickWith("symbol", `""`), msg: "symbol must be a non-empty string"},
		{name: "symbol number", in: tickWith("symbol", `1`), msg: "symbol must be a non-empty string"},
		{name: "seq negative", in: tickWith("seq", `-1`), msg: "seq"},
		{name: "seq float", in: tickWith("seq", `1.0`), msg: "seq"},
		{name: "seq exponent", in: tickWith("seq", `1e3`), msg: "seq"},
		{name: "seq string", in: tickWith("seq", `"1"`), msg: "seq"},
		{name: "seq overflow", in: tickWith("seq", `18446744073709551616`), msg: "seq"},
		{name: "ts overflow", in: tickWith("ts", `9223372036854775808`), msg: "ts"},
		{name: "ts underflow", in: tickWith("ts", `-9223372036854775809`), msg: "ts"},
		{name: "price number", in: tickWith("price", `187.23`), msg: "price 187.23 is not a decimal string"},
		{name: "price exponent", in: tickWith("price", `"1.8723e2"`), msg: "price"},
		{name: "price leading zero", in: tickWith("price", `"087.23"`), msg: "price"},
		{name: "price plus", in: tickWith("price", `"+187.23"`), msg: "price"},
		{name: "price trailing dot", in: tickWith("price", `"187."`), msg: "price"},
		{name: "price leading dot", in: tickWith("price", `".23"`), msg: "price"},
		{name: "price negative zero", in: tickWith("price", `"-0.00"`), msg: "price"},
		{name: "price empty", in: tickWith("price", `""`), msg: "price"},
		{name: "price escaped", in: tickWith("price", `"187.2\u0033"`), msg: "price"},
		{name: "price space", in: tickWith("price", `" 187.23"`), msg: "price"},
		{name: "bid precision differs", in: tickWith("bid", `"187.220"`), msg: "bid has 3 decimals, price has 2"},
		{name: "low precision differs", in: tickWith("low", `"184.9"`), msg: "low has 1 decimals"},
		{name: "bad escape in extra field", in: strings.Replace(aaplJSON, `"seq"`, `"x":"\q","seq"`, 1), msg: "invalid escape"},
		{name: "invalid UTF-8", in: tickWith("symbol", "\"A\xffB\""), msg: "invalid UTF-8"},
		{name: "deep extra field", in: strings.Replace(aaplJSON, `"seq"`, `"x":`+strings.Repeat("[", 100)+strings.Repeat("]", 100)+`,"seq"`, 1), msg: "nesting too deep"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, typ, err := DecodeTick([]byte(tt.in))
			if tt.msg != "" {
				if err == nil || !strings.Contains(err.Error(), tt.msg) || !strings.HasPrefix(err.Error(), "protocol: tick: ") {
					t.Errorf("DecodeTick(%q) error %v, want one containing %q", tt.in, err, tt.msg)
				}
				return
			}
			if err != nil || typ != tt.typ || !sameTick(got, *tt.want) {
				t.Errorf("DecodeTick(%q) = %+v, %q, %v; want %+v, %q", tt.in, got, typ, err, *tt.want, tt.typ)
			}
		})
	}
}

// TestTickRoundTrip checks AppendTick → DecodeTick → AppendTick gives the
// same bytes, and that ScanTick agrees with DecodeTick.
func TestTickRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	var b1, b2 []byte
	for range 20000 {
		tk := randomTick(r)
		snapshot := r.IntN(2) == 0
		if snapshot {
			b1 = AppendSnapshot(b1[:0], &tk)
		} else {
			b1 = AppendTick(b1[:0], &tk)
		}
		got, typ, err := DecodeTick(b1)
		if err != nil {
			t.Fatalf("DecodeTick(%s): %v", b1, err)
		}
		if wantTyp := map[bool]string{false: "tick", true: "snapshot"}[snapshot]; typ != wantTyp {
			t.Errorf("DecodeTick(%s) type %q, want %q", b1, typ, wantTyp)
		}
		if got.Symbol != tk.Symbol || got.Seq != tk.Seq || got.TS != tk.TS || got.PricePrec != tk.PricePrec || got.VolumePrec != tk.VolumePrec {
			t.Errorf("DecodeTick(%s) = %+v, want %+v", b1, got, tk)
		}
		if !got.Price.Equal(tk.Price.Round(tk.PricePrec)) || !got.Volume.Equal(tk.Volume.Round(tk.VolumePrec)) {
			t.Errorf("DecodeTick(%s) price %s volume %s, want %s and %s rounded", b1, got.Price, got.Volume, tk.Price, tk.Volume)
		}
		if snapshot {
			b2 = AppendSnapshot(b2[:0], &got)
		} else {
			b2 = AppendTick(b2[:0], &got)
		}
		if string(b1) != string(b2) {
			t.Fatalf("round trip changed the bytes:\n%s\n%s", b1, b2)
		}
		styp, sym, seq, ts, ok := ScanTick(b1)
		if !ok || string(styp) != typ || seq != tk.Seq || ts != tk.TS {
			t.Errorf("ScanTick(%s) = %q, %q, %d, %d, %v", b1, styp, sym, seq, ts, ok)
		}
		if quoted := string(AppendString(nil, tk.Symbol)); string(sym) != quoted[1:len(quoted)-1] {
			t.Errorf("ScanTick(%s) symbol %q, want %s unquoted", b1, sym, quoted)
		}
	}
}

func TestScanTick(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		typ    string
		symbol string
		seq    uint64
		ts     int64
		ok     bool
	}{
		{"doc example", aaplJSON, "tick", "AAPL", 1042, 1763718000123456789, true},
		{"snapshot", SnapshotPrefix + aaplJSON[len(TickPrefix):], "snapshot", "AAPL", 1042, 1763718000123456789, true},
		{"minimal", `{"ts":-5,"seq":0,"symbol":"X","type":"tick"}`, "tick", "X", 0, -5, true},
		{"spaces", ` { "type" : "tick" , "symbol" : "X" , "seq" : 1 , "ts" : 2 } `, "tick", "X", 1, 2, true},
		{"raw escapes", `{"type":"tick","symbol":"A\"B","seq":1,"ts":2}`, "tick", `A\"B`, 1, 2, true},
		{"ts not last", `{"type":"tick","symbol":"X","seq":1,"ts":2,"bid":"1"}`, "tick", "X", 1, 2, true},
		{"field added before ts", TickPrefix + `"symbol":"X","seq":1,"new":{"ts":9},"ts":2}`, "tick", "X", 1, 2, true},
		{"seq leading zero", TickPrefix + `"symbol":"X","seq":01,"ts":2}`, "", "", 0, 0, false},
		{"ts leading zero", TickPrefix + `"symbol":"X","seq":1,"ts":02}`, "", "", 0, 0, false},
		{"ts double minus", TickPrefix + `"symbol":"X","seq":1,"ts":--2}`, "", "", 0, 0, false},
		{"stops after the four", `{"type":"tick","symbol":"X","seq":1,"ts":2,"price":nonsense`, "tick", "X", 1, 2, true},

		{"empty", ``, "", "", 0, 0, false},
		{"not object", `"tick"`, "", "", 0, 0, false},
		{"pong", `{"type":"pong","id":4,"ts":1}`, "", "", 0, 0, false},
		{"error", `{"type":"error","code":"bad_request","message":"x"}`, "", "", 0, 0, false},
		{"type number", `{"type":1,"symbol":"X","seq":1,"ts":2}`, "", "", 0, 0, false},
		{"missing ts", `{"type":"tick","symbol":"X","seq":1}`, "", "", 0, 0, false},
		{"missing seq", `{"type":"tick","symbol":"X","ts":1,"price":"1"}`, "", "", 0, 0, false},
		{"seq string", `{"type":"tick","symbol":"X","seq":"1","ts":2}`, "", "", 0, 0, false},
		{"seq negative", `{"type":"tick","symbol":"X","seq":-1,"ts":2}`, "", "", 0, 0, false},
		{"ts float", `{"type":"tick","symbol":"X","seq":1,"ts":2.5}`, "", "", 0, 0, false},
		{"empty symbol", `{"type":"tick","symbol":"","seq":1,"ts":2}`, "", "", 0, 0, false},
		{"symbol number", `{"type":"tick","symbol":7,"seq":1,"ts":2}`, "", "", 0, 0, false},
		{"duplicate", `{"type":"tick","type":"tick","symbol":"X","seq":1,"ts":2}`, "", "", 0, 0, false},
		{"truncated", aaplJSON[:40], "", "", 0, 0, false},
		{"syntax error", `{"type":"tick","symbol":"X" "seq":1,"ts":2}`, "", "", 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			typ, sym, seq, ts, ok := ScanTick([]byte(tt.in))
			if string(typ) != tt.typ || string(sym) != tt.symbol || seq != tt.seq || ts != tt.ts || ok != tt.ok {
				t.Errorf("ScanTick(%q) = %q, %q, %d, %d, %v; want %q, %q, %d, %d, %v",
					tt.in, typ, sym, seq, ts, ok, tt.typ, tt.symbol, tt.seq, tt.ts, tt.ok)
			}
		})
	}
	if n := testing.AllocsPerRun(100, func() { ScanTick([]byte(aaplJSON)) }); n != 0 {
		t.Errorf("ScanTick allocates %v times per call, want 0", n)
	}
}
