package candle

import (
	"math"
	"math/big"
	"math/bits"

	"github.com/shopspring/decimal"
)

// pow10 holds the powers of ten that fit an int64.
var pow10 = [...]int64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18}

// toFixed returns d in fixed point at prec places (units of 10^-prec),
// rounded half away from zero as the wire encoder rounds it, so the value
// is the one a client reads. ok is false when prec is outside 0…18, d's
// coefficient has more than 18 digits, or the result does not fit an
// int64. It does not allocate unless d's coefficient is beyond 2^53.
func toFixed(d decimal.Decimal, prec int32) (v int64, ok bool) {
	if prec < 0 || int(prec) >= len(pow10) || d.NumDigits() >= len(pow10) {
		return 0, false
	}
	c := d.CoefficientInt64() // exact: fewer than 19 digits
	switch shift := int64(d.Exponent()) + int64(prec); {
	case c == 0:
		return 0, true
	case shift >= int64(len(pow10)):
		return 0, false
	case shift >= 0:
		p := pow10[shift]
		if c > math.MaxInt64/p || c < -math.MaxInt64/p {
			return 0, false
		}
		return c * p, true
	case -shift >= int64(len(pow10)):
		return 0, true // |c| < 10^18, so |c|·10^shift < 0.1
	default:
		p := pow10[-shift]
		q, r := c/p, c%p
		if r >= p/2 { // p is even: a half rounds away from zero
			q++
		} else if r <= -p/2 {
			q--
		}
		return q, true
	}
}

// volume is a sum of trade sizes in fixed point: an unsigned 128-bit
// integer, which no realistic number of int64 sizes can overflow.
type volume struct{ hi, lo uint64 }

func (v *volume) add(u uint64) {
	var carry uint64
	v.lo, carry = bits.Add64(v.lo, u, 0)
	v.hi += carry
}

// decimal returns v as a decimal at prec places.
func (v volume) decimal(prec int32) decimal.Decimal {
	if v.hi == 0 && v.lo <= math.MaxInt64 {
		return decimal.New(int64(v.lo), -prec)
	}
	n := new(big.Int).SetUint64(v.hi)
	n.Lsh(n, 64).Or(n, new(big.Int).SetUint64(v.lo))
	return decimal.NewFromBigInt(n, -prec)
}
