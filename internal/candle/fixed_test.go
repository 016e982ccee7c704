package candle

import (
	"math"
	"testing"

	"github.com/shopspring/decimal"
)

func TestToFixed(t *testing.T) {
	tests := []struct {
		in   string
		prec int32
		want int64
		ok   bool
	}{
		{"187.24", 2, 18724, true},
		{"187.2", 2, 18720, true},
		{"187", 0, 187, true},
		{"187.245", 2, 18725, true}, // half away from zero, as the encoder
		{"-187.245", 2, -18725, true},
		{"187.2449", 2, 18724, true},
		{"-0.004", 2, 0, true},
		{"0.0000000000000000000001", 2, 0, true},
		{"0", 8, 0, true},
		{"92233720368547758", 2, 9223372036854775800, true},
		{"92233720368547759", 2, 0, false},
		{"-92233720368547758", 2, -9223372036854775800, true},
		{"922337203685477580.7", 1, 0, false}, // fits, but a coefficient of 19 digits is not read
		{"1", 18, 1e18, true},
		{"1e30", 2, 0, false},
		{"123456789012345678901234567890", 0, 0, false},
		{"1", 19, 0, false},
		{"1", -1, 0, false},
	}
	for _, tt := range tests {
		got, ok := toFixed(decimal.RequireFromString(tt.in), tt.prec)
		if got != tt.want || ok != tt.ok {
			t.Errorf("toFixed(%s, %d) = %d, %v; want %d, %v", tt.in, tt.prec, got, ok, tt.want, tt.ok)
		}
	}
	if n := testing.AllocsPerRun(100, func() { toFixed(decimal.New(18724, -3), 2) }); n != 0 {
		t.Errorf("toFixed allocates %v times", n)
	}
}

func TestVolume(t *testing.T) {
	var v volume
	v.add(math.MaxInt64)
	if got := v.decimal(2).String(); got != "92233720368547758.07" {
		t.Errorf("volume = %s", got)
	}
	v.add(math.MaxInt64)
	v.add(math.MaxInt64)
	if got, want := v.decimal(0).String(), "27670116110564327421"; got != want {
		t.Errorf("volume past 2^64 = %s, want %s", got, want)
	}
}
