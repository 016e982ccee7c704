package protocol

import (
	"math"
	"math/bits"
	"strconv"

	"github.com/shopspring/decimal"
)

// pow10 holds 10^0 … 10^19, every power of ten that fits a uint64.
var pow10 = func() (p [20]uint64) {
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

// Exponent range of the allocation-free path of appendDecimal, and the
// int64 bounds of a coefficient at each exponent. Comparing a Decimal with
// another of the same exponent compares coefficients without allocating,
// which is how appendDecimal learns that CoefficientInt64 is exact.
const (
	fastMinExp = -64
	fastMaxExp = 19
)

var coefMax, coefMin = func() (hi, lo [fastMaxExp - fastMinExp + 1]decimal.Decimal) {
	for i := range hi {
		hi[i] = decimal.New(math.MaxInt64, int32(i+fastMinExp))
		lo[i] = decimal.New(math.MinInt64, int32(i+fastMinExp))
	}
	return hi, lo
}()

// appendDecimal appends d with exactly prec digits after the point, rounding
// half away from zero: the same text as d.StringFixed(prec). It does not
// allocate when d's coefficient fits an int64 and the scaled value fits a
// uint64; otherwise (and for prec < 0) it falls back to StringFixed.
func appendDecimal(dst []byte, d decimal.Decimal, prec int32) []byte {
	if prec < 0 {
		return append(dst, d.StringFixed(prec)...)
	}
	sign := d.Sign()
	if sign == 0 {
		return appendFixed(dst, 0, prec)
	}
	exp := d.Exponent()
	if exp < fastMinExp || exp > fastMaxExp {
		return append(dst, d.StringFixed(prec)...)
	}
	if sign > 0 && d.Cmp(coefMax[exp-fastMinExp]) > 0 || sign < 0 && d.Cmp(coefMin[exp-fastMinExp]) < 0 {
		return append(dst, d.StringFixed(prec)...)
	}
	c := d.CoefficientInt64()
	u := uint64(c)
	if c < 0 {
		u = -u // also right for math.MinInt64
	}
	// Scale the magnitude u·10^exp to u·10^-prec.
	switch shift := int64(exp) + int64(prec); {
	case shift >= 0:
		if shift >= int64(len(pow10)) {
			return append(dst, d.StringFixed(prec)...)
		}
		hi, lo := bits.Mul64(u, pow10[shift])
		if hi != 0 {
			return append(dst, d.StringFixed(prec)...)
		}
		u = lo
	case -shift >= int64(len(pow10)):
		u = 0 // u < 2^64 < 10^20/2: rounds to zero
	default:
		p := pow10[-shift]
		q, r := u/p, u%p
		if r >= p/2 { // p is even: exactly half or more rounds away from zero
			q++
		}
		u = q
	}
	if c < 0 && u != 0 {
		dst = append(dst, '-')
	}
	return appendFixed(dst, u, prec)
}

// appendFixed appends u·10^-prec with exactly prec digits after the point.
func appendFixed(dst []byte, u uint64, prec int32) []byte {
	var buf [20]byte
	digits := strconv.AppendUint(buf[:0], u, 10)
	n, p := int64(len(digits)), int64(prec)
	if n > p {
		dst = append(dst, digits[:n-p]...)
		if p == 0 {
			return dst
		}
		dst = append(dst, '.')
		return append(dst, digits[n-p:]...)
	}
	dst = append(dst, '0', '.')
	for ; n < p; n++ {
		dst = append(dst, '0')
	}
	return append(dst, digits...)
}

// parseFixedText parses the canonical fixed-point text that appendDecimal
// and AppendBook write, -?(0|[1-9][0-9]*)(\.[0-9]+)? and not a negative
// zero, into v units of 10^-prec. ok is false for other text; fits is
// false when the value does not fit an int64 (v is then 0).
func parseFixedText(b []byte) (v int64, prec int32, fits, ok bool) {
	neg := len(b) > 0 && b[0] == '-'
	i := 0
	if neg {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = digits(b, i)
	default:
		return 0, 0, false, false
	}
	point := i
	if i < len(b) && b[i] == '.' {
		i = digits(b, i+1)
		if i == point+1 {
			return 0, 0, false, false
		}
		prec = int32(min(i-point-1, math.MaxInt32))
	}
	if i != len(b) {
		return 0, 0, false, false
	}
	var u uint64
	nonzero, fits := false, true
	for _, c := range b {
		if c < '0' || c > '9' {
			continue
		}
		d := uint64(c - '0')
		nonzero = nonzero || d != 0
		if u > (math.MaxUint64-d)/10 {
			fits = false
		}
		u = u*10 + d
	}
	switch {
	case neg && !nonzero:
		return 0, 0, false, false
	case !fits:
		return 0, prec, false, true
	case neg && u <= 1<<63:
		return int64(-u), prec, true, true // also right for math.MinInt64
	case !neg && u <= math.MaxInt64:
		return int64(u), prec, true, true
	}
	return 0, prec, false, true
}

// parseDecimal parses the canonical fixed-point text that appendDecimal
// writes (see parseFixedText). It returns the number of digits after the
// point.
func parseDecimal(b []byte) (d decimal.Decimal, prec int32, ok bool) {
	v, prec, fits, ok := parseFixedText(b)
	switch {
	case !ok:
		return d, 0, false
	case !fits:
		d, err := decimal.NewFromString(string(b))
		return d, prec, err == nil
	}
	return decimal.New(v, -prec), prec, true
}
