package protocol

import (
	"errors"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
)

func TestParseDecimal(t *testing.T) {
	tests := []struct {
		in   string
		coef string // coefficient and exponent of the result
		exp  int32
	}{
		{"0", "0", 0},
		{"-0", "0", 0},
		{"0.00", "0", -2},
		{"187.24", "18724", -2},
		{"187.20", "18720", -2},
		{"-0.5", "-5", -1},
		{"+3", "3", 0},
		{".5", "5", -1},
		{"5.", "5", 0},
		{"00187.2", "1872", -1},
		{"0.00120", "120", -5},
		{"1500", "1500", 0},
		{"1e5", "1", 5},
		{"1.5E3", "15", 2},
		{"2e-8", "2", -8},
		{"2.5e+1", "25", 0},
		{"1e30", "1", 30},
		{"1e-30", "1", -30},
		{"9223372036854775807", "9223372036854775807", 0},
		{"-9223372036854775808", "-9223372036854775808", 0},
		{"123456789012345678", "123456789012345678", 0},
		{"1234567890123456789", "1234567890123456789", 0},
		{"-1234567890.123456789012345678901234567890", "-1234567890123456789012345678901234567890", -30},
		{"0.000000000000000000000000000000000000000000000000000000000000000000000000001", "1", -75},
		{"0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000042", "42", 0},
	}
	for _, tt := range tests {
		d, err := ParseDecimal(tt.in)
		if err != nil {
			t.Errorf("ParseDecimal(%q): %v", tt.in, err)
			continue
		}
		if d.Coefficient().String() != tt.coef || d.Exponent() != tt.exp {
			t.Errorf("ParseDecimal(%q) = %s×10^%d, want %s×10^%d", tt.in, d.Coefficient(), d.Exponent(), tt.coef, tt.exp)
		}
		if ref := decimal.RequireFromString(tt.in); ref.Coefficient().Cmp(d.Coefficient()) != 0 || ref.Exponent() != d.Exponent() {
			t.Errorf("ParseDecimal(%q) = %s×10^%d, decimal.NewFromString gives %s×10^%d",
				tt.in, d.Coefficient(), d.Exponent(), ref.Coefficient(), ref.Exponent())
		}
	}
}

func TestParseDecimalErrors(t *testing.T) {
	tests := []struct {
		in    string
		bound bool   // beyond a bound rather than not a number
		want  string // in the message
	}{
		{"", false, "not a decimal number"},
		{"-", false, "not a decimal number"},
		{".", false, "not a decimal number"},
		{"+.", false, "not a decimal number"},
		{"e5", false, "not a decimal number"},
		{"1e", false, "not a decimal number"},
		{"1e+", false, "not a decimal number"},
		{"1.2.3", false, "not a decimal number"},
		{"1,5", false, "not a decimal number"},
		{" 1", false, "not a decimal number"},
		{"1 ", false, "not a decimal number"},
		{"0x10", false, "not a decimal number"},
		{"NaN", false, "not a decimal number"},
		{"Infinity", false, "not a decimal number"},
		{"--1", false, "not a decimal number"},
		{"1_000", false, "not a decimal number"},
		{"1e5.5", false, "not a decimal number"},
		{"1e31", true, "exponent beyond ±30"},
		{"1e-31", true, "exponent beyond ±30"},
		{"1e100000000", true, "exponent beyond ±30"},
		{"1e0000000000000000000000000000000000000000000000000001", false, ""}, // fine: exponent 1
		{"12345678901234567890123456789012345678901", true, "more than 40 significant digits"},
		{"1.0000000000000000000000000000000000000000", true, "more than 40 significant digits"},
		{strings.Repeat("9", 10000), true, "10000 bytes long, more than 128"},
		{"0." + strings.Repeat("0", 200) + "1", true, "bytes long, more than 128"},
	}
	for _, tt := range tests {
		_, err := ParseDecimal(tt.in)
		if tt.want == "" {
			if err != nil {
				t.Errorf("ParseDecimal(%.50q): %v", tt.in, err)
			}
			continue
		}
		var pe *parseError
		if !errors.As(err, &pe) || pe.bound != tt.bound || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseDecimal(%.50q) error = %v, want %q (bound %v)", tt.in, err, tt.want, tt.bound)
			continue
		}
		if len(err.Error()) > 120 {
			t.Errorf("ParseDecimal(%.50q) error is %d bytes long: %v", tt.in, len(err.Error()), err)
		}
		if _, ferr := ParseFixed(tt.in, 2); ferr == nil || ferr.Error() != err.Error() {
			t.Errorf("ParseFixed(%.50q, 2) error = %v, ParseDecimal's is %v", tt.in, ferr, err)
		}
	}
}

// TestParseDecimalHostileCost checks that inputs beyond the bounds cost a
// few hundred bytes, not memory that grows with the input or the
// exponent. (How long they take is for BenchmarkParseDecimal/hostile.)
func TestParseDecimalHostileCost(t *testing.T) {
	for _, in := range hostileDecimals {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		const runs = 100
		for range runs {
			if _, err := ParseDecimal(in); err == nil {
				t.Fatalf("ParseDecimal(%.40q…) accepted", in)
			}
		}
		runtime.ReadMemStats(&after)
		if perCall := (after.TotalAlloc - before.TotalAlloc) / runs; perCall > 512 {
			t.Errorf("ParseDecimal(%.40q…) allocates %d bytes per call, want at most 512", in, perCall)
		}
	}
}

var hostileDecimals = []string{
	"1e100000000",
	"1e-100000000",
	"1." + strings.Repeat("0", 126),
	strings.Repeat("1", 10000),
	strings.Repeat("0", 1<<20) + "1",
}

func TestParseFixed(t *testing.T) {
	tests := []struct {
		in   string
		prec int32
		want int64
		err  string // in the message; "" for none
	}{
		{"91549.3", 2, 9154930, ""},
		{"91549.30", 2, 9154930, ""},
		{"91549.300000000", 2, 9154930, ""},
		{"0.52", 8, 52000000, ""},
		{"-0.5", 1, -5, ""},
		{"0", 5, 0, ""},
		{"-0.000", 0, 0, ""},
		{"0.000000000000000000000000000000000000000000000000000", 0, 0, ""},
		{"1e-8", 8, 1, ""},
		{"1.5e3", 0, 1500, ""},
		{"12300", -2, 123, ""},
		{"1e30", -30, 1, ""},
		{"0.5", 19, 5000000000000000000, ""},
		{"9223372036854775807", 0, math.MaxInt64, ""},
		{"-9223372036854775808", 0, math.MinInt64, ""},
		{"-922337203685477580.8", 1, math.MinInt64, ""},
		{"9223372036854775808", 0, 0, "out of range at 0 decimal places"},
		{"-9223372036854775809", 0, 0, "out of range at 0 decimal places"},
		{"99999999999999999999", 0, 0, "out of range at 0 decimal places"},
		{"1", 19, 0, "out of range at 19 decimal places"},
		{"1e30", 0, 0, "out of range at 0 decimal places"},
		{"91549.305", 2, 0, "more than 2 decimal places"},
		{"0.1", 0, 0, "more than 0 decimal places"},
		{"1e-9", 8, 0, "more than 8 decimal places"},
		{"12345", -2, 0, "more than -2 decimal places"},
		{"abc", 2, 0, "not a decimal number"},
		{"1e100000000", 2, 0, "exponent beyond ±30"},
	}
	for _, tt := range tests {
		got, err := ParseFixed(tt.in, tt.prec)
		switch {
		case tt.err == "" && (err != nil || got != tt.want):
			t.Errorf("ParseFixed(%q, %d) = %d, %v; want %d", tt.in, tt.prec, got, err, tt.want)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("ParseFixed(%q, %d) = %d, %v; want error %q", tt.in, tt.prec, got, err, tt.err)
		}
	}
}

func TestParseFixedAllocs(t *testing.T) {
	for _, in := range []string{"91549.30", "-0.00000001", "12345678901.23456789", "1.5e3"} {
		if n := testing.AllocsPerRun(100, func() { ParseFixed(in, 8) }); n != 0 {
			t.Errorf("ParseFixed(%q, 8) allocates %v times, want 0", in, n)
		}
	}
}

func TestAppendFixed(t *testing.T) {
	tests := []struct {
		v    int64
		prec int32
		want string
	}{
		{9154930, 2, "91549.30"},
		{0, 0, "0"},
		{0, 3, "0.000"},
		{5, 3, "0.005"},
		{-5, 3, "-0.005"},
		{-52000000, 8, "-0.52000000"},
		{123, 0, "123"},
		{123, -2, "12300"},
		{0, -2, "0"},
		{-1, -3, "-1000"},
		{math.MaxInt64, 0, "9223372036854775807"},
		{math.MinInt64, 0, "-9223372036854775808"},
		{math.MinInt64, 19, "-0.9223372036854775808"},
		{1, 25, "0.0000000000000000000000001"},
	}
	for _, tt := range tests {
		if got := string(AppendFixed([]byte("x"), tt.v, tt.prec)); got != "x"+tt.want {
			t.Errorf("AppendFixed(x, %d, %d) = %q, want %q", tt.v, tt.prec, got, "x"+tt.want)
		}
	}
}

// TestFixedRoundTrip checks AppendFixed against decimal's StringFixed and
// the encoder, and ParseFixed against AppendFixed, on random values around
// every boundary.
func TestFixedRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	edges := []int64{0, 1, -1, 9, 10, 99, 100, math.MaxInt64, math.MinInt64, math.MaxInt64 / 10, math.MinInt64 / 10}
	for i := range 100000 {
		v := r.Int64() >> r.IntN(64)
		if r.IntN(2) == 0 {
			v = -v
		}
		if i < len(edges)*30 {
			v = edges[i%len(edges)]
		}
		checkFixed(t, v, int32(r.IntN(42)-21))
	}
}

// checkFixed checks AppendFixed(v, prec) against decimal's StringFixed and
// the encoder, and that ParseFixed and ParseDecimal read it back.
func checkFixed(t *testing.T, v int64, prec int32) {
	t.Helper()
	out := AppendFixed(nil, v, prec)
	d := decimal.New(v, -prec)
	if want := d.StringFixed(prec); string(out) != want {
		t.Fatalf("AppendFixed(%d, %d) = %s, StringFixed gives %s", v, prec, out, want)
	}
	if enc := appendDecimal(nil, d, prec); string(enc) != string(out) {
		t.Fatalf("AppendFixed(%d, %d) = %s, appendDecimal gives %s", v, prec, out, enc)
	}
	if got, err := ParseFixed(string(out), prec); err != nil || got != v {
		t.Fatalf("ParseFixed(%s, %d) = %d, %v; want %d", out, prec, got, err, v)
	}
	if got, err := ParseDecimal(string(out)); err != nil || !got.Equal(d) {
		t.Fatalf("ParseDecimal(%s) = %v, %v; want %s", out, got, err, d)
	}
}

// TestParseDecimalRoundTrip checks that what the encoder writes for any
// decimal parses back to the decimal rounded to the precision, with that
// precision as its exponent.
func TestParseDecimalRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for range 100000 {
		c := r.Int64() >> r.IntN(64)
		if r.IntN(2) == 0 {
			c = -c
		}
		d := decimal.New(c, int32(r.IntN(40)-30))
		prec := int32(r.IntN(20))
		out := appendDecimal(nil, d, prec)
		got, err := ParseDecimal(string(out))
		if !withinBounds(out) {
			if err == nil {
				t.Fatalf("ParseDecimal(%s) accepts a decimal beyond the bounds", out)
			}
			continue
		}
		if err != nil || !got.Equal(d.Round(prec)) || got.Exponent() != -prec {
			t.Fatalf("ParseDecimal(appendDecimal(%s, %d) = %s) = %s×10^%d, %v; want %s at exponent %d",
				d, prec, out, got.Coefficient(), got.Exponent(), err, d.Round(prec), -prec)
		}
		if v, err := ParseFixed(string(out), prec); err == nil && string(AppendFixed(nil, v, prec)) != string(out) {
			t.Fatalf("AppendFixed(ParseFixed(%s, %d)) = %s", out, prec, AppendFixed(nil, v, prec))
		}
	}
}
