package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"math"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/shopspring/decimal"
)

// The seed corpora are in testdata/fuzz/<FuzzName>/.

func FuzzDecodeRequest(f *testing.F) {
	f.Add([]byte(`{"op":"subscribe","symbols":["AAPL","BTC-USD"],"id":1}`))
	lim := Limits{MaxSymbols: 8, MaxSymbolLen: 8} // small, so the fuzzer reaches them
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := DecodeRequest(data, lim)
		if err != nil {
			if err.ID != nil && (!json.Valid(err.ID) || !bytes.Contains(data, err.ID)) {
				t.Fatalf("DecodeRequest(%q) error echoes id %q", data, err.ID)
			}
			if reply := AppendError(nil, err.ID, err.Code, err.Message, err.Symbols); !json.Valid(reply) {
				t.Fatalf("error reply to %q is not valid JSON: %s", data, reply)
			}
			return
		}
		if !json.Valid(data) || !utf8.Valid(data) {
			t.Fatalf("DecodeRequest(%q) accepts invalid JSON: %+v", data, req)
		}

		// encoding/json must read the same values.
		var ref struct {
			Op       string
			ID       json.RawMessage
			Symbols  []string
			Token    string
			Channel  string
			Since    map[string]uint64
			Interval string
			Depth    int
			MaxRate  float64 `json:"max_rate"`
			Prefix   string
			Limit    int
		}
		if err := json.Unmarshal(data, &ref); err != nil {
			t.Fatalf("DecodeRequest(%q) accepts what encoding/json rejects: %v", data, err)
		}
		var refSyms []string
		for _, s := range ref.Symbols {
			if !slices.Contains(refSyms, s) {
				refSyms = append(refSyms, s)
			}
		}
		refSince := make(map[string]uint64)
		for _, e := range req.Since {
			refSince[e.Symbol] = e.Seq
		}
		if ref.Op != req.Op.String() || !bytes.Equal(ref.ID, req.ID) || !slices.Equal(refSyms, req.Symbols) || ref.Token != req.Token ||
			ref.Channel != "" && ref.Channel != req.Channel.String() || len(ref.Since) != len(req.Since) || !maps.Equal(ref.Since, refSince) ||
			ref.Interval != "" && ref.Interval != req.Interval.String() || ref.Depth != 0 && ref.Depth != req.Depth ||
			ref.MaxRate != req.MaxRate || ref.Prefix != req.Prefix || ref.Limit != 0 && ref.Limit != req.Limit {
			t.Fatalf("DecodeRequest(%q) = %+v, encoding/json reads %+v", data, req, ref)
		}

		// The canonical form decodes to the same request. It may be longer
		// than the input (U+2028 is escaped), so the size limit is lifted.
		enc := AppendRequest(nil, &req)
		lim2 := lim
		lim2.MaxBytes = 1 << 20
		req2, err := DecodeRequest(enc, lim2)
		if err != nil || !sameRequest(req, req2) {
			t.Fatalf("DecodeRequest(%q) = %+v; canonical %s decodes to %+v, %v", data, req, enc, req2, err)
		}
		for _, reply := range [][]byte{
			AppendSubscribed(nil, req.ID, req.Stream(), req.Symbols),
			AppendSearch(nil, req.ID, req.Prefix, req.Symbols, true),
			AppendPong(nil, req.ID, 1),
		} {
			if !json.Valid(reply) {
				t.Fatalf("reply to %q is not valid JSON: %s", data, reply)
			}
		}
	})
}

func FuzzDecodeTick(f *testing.F) {
	f.Add([]byte(aaplJSON))
	f.Fuzz(func(t *testing.T, data []byte) {
		styp, ssym, sseq, sts, sok := ScanTick(data)
		tk, typ, err := DecodeTick(data)
		if err != nil {
			return
		}
		if !json.Valid(data) {
			t.Fatalf("DecodeTick(%q) accepts invalid JSON", data)
		}
		if sok && (string(styp) != typ || sseq != tk.Seq || sts != tk.TS) {
			t.Fatalf("ScanTick(%q) = %q, %q, %d, %d; DecodeTick gives %q, %+v", data, styp, ssym, sseq, sts, typ, tk)
		}
		appendMsg := AppendTick
		if typ == "snapshot" {
			appendMsg = AppendSnapshot
		}
		enc := appendMsg(nil, &tk)
		tk2, typ2, err := DecodeTick(enc)
		if err != nil || typ2 != typ || !sameTick(tk, tk2) {
			t.Fatalf("DecodeTick(%q) = %+v; re-encoded %s decodes to %+v, %q, %v", data, tk, enc, tk2, typ2, err)
		}
		if enc2 := appendMsg(nil, &tk2); !bytes.Equal(enc, enc2) {
			t.Fatalf("round trip of %q changed the bytes:\n%s\n%s", data, enc, enc2)
		}
		if styp, _, sseq, sts, sok := ScanTick(enc); !sok || string(styp) != typ || sseq != tk.Seq || sts != tk.TS {
			t.Fatalf("ScanTick(%s) = %q, %d, %d, %v", enc, styp, sseq, sts, sok)
		}
	})
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "AAPL", "a\"b\\c", "\x00\n\u2028", "\xff\xed\xa0\x80", "é🙂"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := AppendString(nil, s)
		ref, _ := json.Marshal(s)
		var got, want string
		if err := json.Unmarshal(out, &got); err != nil || !json.Valid(out) {
			t.Fatalf("AppendString(%q) = %s: %v", s, out, err)
		}
		if err := json.Unmarshal(ref, &want); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("AppendString(%q) reads back as %q, encoding/json as %q", s, got, want)
		}
		// Our own decoder reads it back too.
		msg := append(append([]byte(`{"op":"auth","token":`), out...), '}')
		req, err := DecodeRequest(msg, Limits{MaxBytes: 1 << 20})
		if want != "" && (err != nil || req.Token != want) {
			t.Fatalf("DecodeRequest(%s) = %q, %v; want token %q", msg, req.Token, err, want)
		}
	})
}

func FuzzParseDecimal(f *testing.F) {
	for _, s := range []string{"187.24", "-0.5", ".5", "1.5e3", "2E-8", "1e100000000", "00.0100", "+0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDecimal(s)
		ref, refErr := decimal.NewFromString(s)
		if err != nil {
			var pe *parseError
			if !errors.As(err, &pe) {
				t.Fatalf("ParseDecimal(%q) error %v is not a *parseError", s, err)
			}
			if !pe.bound && decimalSyntax.MatchString(s) {
				t.Fatalf("ParseDecimal(%q): %v; want it read", s, err)
			}
			if _, ferr := ParseFixed(s, 2); ferr == nil {
				t.Fatalf("ParseFixed(%q, 2) accepts what ParseDecimal rejects: %v", s, err)
			}
			return
		}
		if !decimalSyntax.MatchString(s) {
			t.Fatalf("ParseDecimal(%q) accepts a string outside the syntax", s)
		}
		if refErr != nil || ref.Coefficient().Cmp(d.Coefficient()) != 0 || ref.Exponent() != d.Exponent() {
			t.Fatalf("ParseDecimal(%q) = %s×10^%d; decimal.NewFromString gives %s×10^%d, %v",
				s, d.Coefficient(), d.Exponent(), ref.Coefficient(), ref.Exponent(), refErr)
		}
		if len(s) > maxDecimalLen || len(d.Coefficient().String()) > MaxDecimalDigits+1 {
			t.Fatalf("ParseDecimal(%q) = %s exceeds the bounds", s, d)
		}

		// ParseFixed is exact: it succeeds when the value is a whole
		// number of units that fits an int64, and gives that number.
		for _, prec := range []int32{0, 2, 8, -d.Exponent(), -1} {
			v, err := ParseFixed(s, prec)
			units := d.Shift(prec)
			fits := units.IsInteger() && units.Cmp(decimal.NewFromInt(math.MinInt64)) >= 0 && units.Cmp(decimal.NewFromInt(math.MaxInt64)) <= 0
			if fits != (err == nil) || fits && v != units.IntPart() {
				t.Fatalf("ParseFixed(%q, %d) = %d, %v; want %s", s, prec, v, err, units)
			}
			if out := AppendFixed(nil, v, prec); err == nil && withinBounds(out) {
				if back, err := ParseDecimal(string(out)); err != nil || !back.Equal(d) {
					t.Fatalf("ParseDecimal(AppendFixed(ParseFixed(%q, %d)) = %s) = %s, %v", s, prec, out, back, err)
				}
			}
		}

		// What the encoder writes at the decimal's own precision parses
		// back to the same value, within the bounds.
		prec := max(-d.Exponent(), 0)
		out := appendDecimal(nil, d, prec)
		back, err := ParseDecimal(string(out))
		if err == nil && (!back.Equal(d) || back.Exponent() != -prec) {
			t.Fatalf("ParseDecimal(appendDecimal(%q, %d) = %s) = %s×10^%d", s, prec, out, back.Coefficient(), back.Exponent())
		}
		if err != nil && withinBounds(out) {
			t.Fatalf("ParseDecimal(appendDecimal(%q, %d) = %s): %v", s, prec, out, err)
		}
	})
}

// decimalSyntax is the syntax ParseDecimal documents.
var decimalSyntax = regexp.MustCompile(`^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$`)

// withinBounds reports whether the decimal text b, as appendDecimal
// writes it, is within the length and digit bounds of ParseDecimal.
func withinBounds(b []byte) bool {
	sig := strings.TrimLeft(strings.NewReplacer("-", "", ".", "").Replace(string(b)), "0")
	return len(b) <= maxDecimalLen && len(sig) <= MaxDecimalDigits
}

func FuzzAppendFixed(f *testing.F) {
	f.Add(int64(9154930), int8(2))
	f.Add(int64(math.MinInt64), int8(19))
	f.Add(int64(-123), int8(-3))
	f.Fuzz(func(t *testing.T, v int64, prec8 int8) {
		prec := int32(prec8)
		if prec < -21 || prec > 100 { // beyond: more digits or bytes than ParseDecimal takes
			return
		}
		checkFixed(t, v, prec)
	})
}

func FuzzDecodeTrade(f *testing.F) {
	f.Add([]byte(aaplTradeJSON))
	f.Fuzz(func(t *testing.T, data []byte) {
		ssym, sseq, sts, sreplay, sok := ScanTrade(data)
		tr, replay, err := DecodeTrade(data)
		if err != nil {
			return
		}
		if !json.Valid(data) {
			t.Fatalf("DecodeTrade(%q) accepts invalid JSON", data)
		}
		if sok && (string(ssym) != tr.Symbol && !bytes.Contains(ssym, []byte(`\`)) || sseq != tr.Seq || sts != tr.TS || sreplay != replay) {
			t.Fatalf("ScanTrade(%q) = %q, %d, %d, %v; DecodeTrade gives %+v, %v", data, ssym, sseq, sts, sreplay, tr, replay)
		}
		enc := AppendTrade(nil, &tr)
		if replay {
			enc = ReplayFromTrade(nil, enc)
		}
		tr2, replay2, err := DecodeTrade(enc)
		if err != nil || replay2 != replay || !sameTrade(tr, tr2) {
			t.Fatalf("DecodeTrade(%q) = %+v, %v; re-encoded %s decodes to %+v, %v, %v", data, tr, replay, enc, tr2, replay2, err)
		}
		enc2 := AppendTrade(nil, &tr2)
		if replay2 {
			enc2 = ReplayFromTrade(nil, enc2)
		}
		if !bytes.Equal(enc, enc2) {
			t.Fatalf("round trip of %q changed the bytes:\n%s\n%s", data, enc, enc2)
		}
		if ssym, sseq, sts, sreplay, sok := ScanTrade(enc); !sok || sseq != tr.Seq || sts != tr.TS || sreplay != replay {
			t.Fatalf("ScanTrade(%s) = %q, %d, %d, %v, %v", enc, ssym, sseq, sts, sreplay, sok)
		}
	})
}

func FuzzDecodeEvent(f *testing.F) {
	f.Add([]byte(`{"type":"gap","channel":"trades","symbol":"AAPL","from":88101,"to":88110}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := DecodeEvent(data)
		if err != nil {
			return
		}
		if !json.Valid(data) {
			t.Fatalf("DecodeEvent(%q) accepts invalid JSON", data)
		}
		enc := appendEvent(nil, &e)
		e2, err := DecodeEvent(enc)
		if err != nil || !sameEvent(e, e2) {
			t.Fatalf("DecodeEvent(%q) = %+v; re-encoded %s decodes to %+v, %v", data, e, enc, e2, err)
		}
		if enc2 := appendEvent(nil, &e2); !bytes.Equal(enc, enc2) {
			t.Fatalf("round trip of %q changed the bytes:\n%s\n%s", data, enc, enc2)
		}
	})
}

// foldedKey reports whether an object key in data differs from all
// lowercase ASCII: encoding/json, the fuzz targets' reference, matches
// keys case-insensitively (and folds 'ſ' and the Kelvin sign), where our
// decoders take a key exactly as the protocol writes it and ignore one
// they do not know. Protocol keys are lowercase ASCII, so such an input
// is one on which the two may disagree without either being wrong.
func foldedKey(data []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(data))
	type level struct{ obj, key bool } // an object expecting a key next
	var stack []level
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		n := len(stack)
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{', '[':
				if n > 0 && stack[n-1].obj {
					stack[n-1].key = true // the container is a value; a key comes after it
				}
				stack = append(stack, level{obj: d == '{', key: d == '{'})
			default:
				stack = stack[:n-1]
			}
			continue
		}
		if n > 0 && stack[n-1].obj {
			if stack[n-1].key {
				s, _ := tok.(string)
				for _, r := range s {
					if r >= 'A' && r <= 'Z' || r >= 0x80 {
						return true
					}
				}
			}
			stack[n-1].key = !stack[n-1].key
		}
	}
}

func TestFoldedKey(t *testing.T) {
	for in, want := range map[string]bool{
		`{"type":"candle","symbol":"AAPL","trades":1}`:         false,
		`{"type":"candle","trAdes":1}`:                         true,
		`{"a":{"b":[{"Seq":1}]}}`:                              true,
		`{"a":["X",{"b":"Y"}],"c":"Z"}`:                        false,
		`{"candles":[{"start":1},{"ſtart":2}],"symbol":"ÄPL"}`: true,
		`{"symbol":"ÄPL","bids":[["1","2"]]}`:                  false,
	} {
		if got := foldedKey([]byte(in)); got != want {
			t.Errorf("foldedKey(%s) = %v, want %v", in, got, want)
		}
	}
}
