package protocol

import (
	"math"
	"math/big"
	"math/bits"
	"strconv"

	"github.com/shopspring/decimal"
)

// Bounds of the decimals ParseDecimal and ParseFixed accept. Real prices and
// sizes are far inside them; what is outside ("1e100000000", ten thousand
// digits) is rejected before any arithmetic, in time and memory bounded by
// the constants, not by the input.
const (
	// MaxDecimalDigits is the most significant digits a decimal may have:
	// the digits from the first non-zero one to the last one written, so
	// "0.00120" has 3 and "1500" has 4.
	MaxDecimalDigits = 40
	// MaxDecimalExponent is the largest exponent, in absolute value, of a
	// decimal in exponent form ("1.5e-3").
	MaxDecimalExponent = 30
	// maxDecimalLen is the longest decimal string accepted, in bytes: room
	// for MaxDecimalDigits, a sign, a point, an exponent and plenty of
	// leading zeros.
	maxDecimalLen = 128
)

// ParseDecimal parses a decimal number as feeds write it: an optional sign,
// digits with an optional point ("187.24", "-0.5", ".5", "5."), and an
// optional exponent ("1.5e3", "2E-8"). The result keeps the digits written:
// "187.20" is 18720×10^-2, exactly what decimal.NewFromString gives. It
// rejects, with an error naming the input, anything else and anything
// beyond MaxDecimalDigits, MaxDecimalExponent or 128 bytes, doing work
// bounded by those constants whatever the input's length.
//
// Feeds parse every price and size through ParseDecimal or ParseFixed, so
// that no hostile or corrupt number reaches the rest of the server.
func ParseDecimal(s string) (decimal.Decimal, error) {
	return parseDecimalText(s)
}

// ParseFixed parses s, in the syntax and within the bounds of ParseDecimal,
// into fixed point at prec decimal places: the result counts units of
// 10^-prec, so ParseFixed("91549.3", 2) is 9154930. It is exact: a value
// with non-zero digits beyond prec places, or one that does not fit an
// int64, is an error. It does not allocate unless it fails.
func ParseFixed(s string, prec int32) (int64, error) {
	v, err := scanDecimal(s)
	if err != nil {
		return 0, err
	}
	n, exp := v.n, v.exp
	for n > 0 && v.digits[n-1] == 0 {
		n--
		exp++
	}
	if n == 0 {
		return 0, nil
	}
	shift := exp + int64(prec) // value = digits[:n] × 10^shift units
	if shift < 0 {
		return 0, decimalError(s, "more than "+strconv.Itoa(int(prec))+" decimal places", true)
	}
	if int64(n)+shift > 19 { // 10^19 > MaxInt64
		return 0, decimalError(s, "out of range at "+strconv.Itoa(int(prec))+" decimal places", true)
	}
	var u uint64 // < 10^19 < 2^64: no overflow
	for _, d := range v.digits[:n] {
		u = u*10 + uint64(d)
	}
	u *= pow10[shift]
	switch {
	case v.neg && u <= 1<<63:
		return int64(-u), nil // also right for math.MinInt64
	case !v.neg && u <= math.MaxInt64:
		return int64(u), nil
	}
	return 0, decimalError(s, "out of range at "+strconv.Itoa(int(prec))+" decimal places", true)
}

// AppendFixed appends the fixed-point value v (units of 10^-prec) with
// exactly prec digits after the point: AppendFixed(dst, 9154930, 2) appends
// "91549.30". The text is what decimal.New(v, -prec).StringFixed(prec)
// gives: no point when prec is 0, and for a negative prec the value times
// 10^-prec ("12300" for 123 at -2). It does not allocate when dst has room.
func AppendFixed(dst []byte, v int64, prec int32) []byte {
	u := uint64(v)
	if v < 0 {
		dst = append(dst, '-')
		u = -u // also right for math.MinInt64
	}
	if prec >= 0 {
		return appendFixed(dst, u, prec)
	}
	dst = strconv.AppendUint(dst, u, 10)
	if u != 0 {
		for range -int64(prec) {
			dst = append(dst, '0')
		}
	}
	return dst
}

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

// decimalDigits is a decimal number as scanDecimal read it: its value is
// ±digits[:n] × 10^exp.
type decimalDigits struct {
	neg    bool
	n      int                     // significant digits; 0 for zero
	digits [MaxDecimalDigits]uint8 // values 0 to 9, most significant first
	exp    int64                   // exponent of the last digit
}

// scanDecimal reads s in the syntax of ParseDecimal, checking its bounds
// as it goes: it stops at the first byte past a bound.
func scanDecimal[T string | []byte](s T) (v decimalDigits, err error) {
	if len(s) > maxDecimalLen {
		return v, decimalError(s, strconv.Itoa(len(s))+" bytes long, more than "+strconv.Itoa(maxDecimalLen), true)
	}
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		v.neg = s[i] == '-'
		i++
	}
	mantissa, frac := 0, -1 // digits seen; digits after the point, -1 before it
	for ; i < len(s); i++ {
		c := s[i]
		if c == '.' && frac < 0 {
			frac = 0
			continue
		}
		if c < '0' || c > '9' {
			break
		}
		mantissa++
		if frac >= 0 {
			frac++
		}
		if v.n == 0 && c == '0' {
			continue // a leading zero
		}
		if v.n == MaxDecimalDigits {
			return v, decimalError(s, "more than "+strconv.Itoa(MaxDecimalDigits)+" significant digits", true)
		}
		v.digits[v.n] = c - '0'
		v.n++
	}
	if mantissa == 0 {
		return v, decimalError(s, "not a decimal number", false)
	}
	var exp int64
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		neg := false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			neg = s[i] == '-'
			i++
		}
		start := i
		for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			if exp = exp*10 + int64(s[i]-'0'); exp > MaxDecimalExponent {
				return v, decimalError(s, "exponent beyond ±"+strconv.Itoa(MaxDecimalExponent), true)
			}
		}
		if i == start {
			return v, decimalError(s, "not a decimal number", false)
		}
		if neg {
			exp = -exp
		}
	}
	if i != len(s) {
		return v, decimalError(s, "not a decimal number", false)
	}
	v.exp = exp - int64(max(frac, 0))
	return v, nil
}

// parseDecimalText is ParseDecimal for a string or a byte slice.
func parseDecimalText[T string | []byte](s T) (decimal.Decimal, error) {
	v, err := scanDecimal(s)
	if err != nil {
		return decimal.Decimal{}, err
	}
	// |v.exp| is at most maxDecimalLen + MaxDecimalExponent.
	exp := int32(v.exp)
	if v.n <= 18 { // 18 digits always fit an int64
		var c int64
		for _, d := range v.digits[:v.n] {
			c = c*10 + int64(d)
		}
		if v.neg {
			c = -c
		}
		return decimal.New(c, exp), nil
	}
	var buf [1 + MaxDecimalDigits]byte
	text := buf[:0]
	if v.neg {
		text = append(text, '-')
	}
	for _, d := range v.digits[:v.n] {
		text = append(text, '0'+d)
	}
	c, _ := new(big.Int).SetString(string(text), 10)
	return decimal.NewFromBigInt(c, exp), nil
}

// decimalError is the error for the decimal s; bound tells a number beyond
// the bounds from one that is not a number.
func decimalError[T string | []byte](s T, msg string, bound bool) error {
	const show = 40 // bytes of s to show
	return &parseError{text: quote([]byte(s[:min(len(s), show+1)])), msg: msg, bound: bound}
}

// parseError is the error of ParseDecimal and ParseFixed.
type parseError struct {
	text  string // the input, quoted and cut short
	msg   string
	bound bool // syntactically a number, but beyond a bound
}

func (e *parseError) Error() string {
	return "protocol: decimal " + e.text + ": " + e.msg
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
// writes (see parseFixedText), within the bounds of ParseDecimal. It
// returns the number of digits after the point.
func parseDecimal(b []byte) (d decimal.Decimal, prec int32, ok bool) {
	v, prec, fits, ok := parseFixedText(b)
	switch {
	case !ok:
		return d, 0, false
	case !fits:
		d, err := parseDecimalText(b) // bounded: long text is an error, not work
		return d, prec, err == nil
	}
	return decimal.New(v, -prec), prec, true
}
