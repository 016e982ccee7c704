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

// parseDecimal parses the canonical fixed-point text that appendDecimal
// writes: -?(0|[1-9][0-9]*)(\.[0-9]+)?, and not a negative zero. It returns
// the number of digits after the point.
func parseDecimal(b []byte) (d decimal.Decimal, prec int32, ok bool) {
	i := 0
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = digits(b, i)
	default:
		return d, 0, false
	}
	intEnd := i
	if i < len(b) && b[i] == '.' {
		i = digits(b, i+1)
		if i == intEnd+1 {
			return d, 0, false
		}
		prec = int32(min(i-intEnd-1, math.MaxInt32))
	}
	if i != len(b) {
		return d, 0, false
	}
	var c uint64
	nonzero := false
	for _, ch := range b {
		if ch >= '0' && ch <= '9' {
			c = c*10 + uint64(ch-'0')
			nonzero = nonzero || ch != '0'
		}
	}
	if neg && !nonzero {
		return d, 0, false
	}
	ndigits := len(b)
	if neg {
		ndigits--
	}
	if intEnd < len(b) {
		ndigits-- // the point
	}
	if ndigits > 18 { // 18 digits always fit an int64
		var err error
		d, err = decimal.NewFromString(string(b))
		return d, prec, err == nil
	}
	v := int64(c)
	if neg {
		v = -v
	}
	return decimal.New(v, -prec), prec, true
}
