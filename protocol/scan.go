package protocol

import (
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// maxDepth bounds how deeply arrays and objects may nest inside a message.
// Nothing in protocol v1 nests deeper than 2; the bound keeps skipping an
// unexpected value cheap and the recursion short.
const maxDepth = 32

// kind is the type of a scanned JSON value.
type kind uint8

const (
	kindString kind = iota + 1
	kindNumber
	kindObject
	kindArray
	kindBool
	kindNull
)

// token is one scanned JSON value.
type token struct {
	kind       kind
	start, end int    // span in the input; quotes included for strings
	esc        bool   // a string with backslash escapes
	problem    string // why the content of a string is invalid; "" if valid
}

// syntaxError is a scan error after which the input cannot be read on:
// it is not JSON.
type syntaxError struct {
	off int
	msg string
}

func (e *syntaxError) Error() string {
	return fmt.Sprintf("invalid JSON at offset %d: %s", e.off, e.msg)
}

// scanner is a strict, non-allocating JSON reader over one message. Structure
// errors (bad syntax, nesting deeper than maxDepth) stop it with a
// *syntaxError. Problems inside a string literal (a bad escape, a control
// character, invalid UTF-8, a lone surrogate) do not: they are reported in
// token.problem, so a caller can finish reading the object and still find
// the other fields.
type scanner struct {
	data []byte
	pos  int
}

func (s *scanner) ws() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

func (s *scanner) fail(msg string) error {
	return &syntaxError{off: s.pos, msg: msg}
}

// unexpected reports the byte at s.pos, or the end of input, where want
// was expected.
func (s *scanner) unexpected(want string) error {
	if s.pos >= len(s.data) {
		return s.fail("unexpected end of input, want " + want)
	}
	c := s.data[s.pos]
	if c >= 0x20 && c < 0x7f {
		return s.fail(fmt.Sprintf("unexpected %q, want %s", rune(c), want))
	}
	return s.fail(fmt.Sprintf("unexpected byte 0x%02x, want %s", c, want))
}

// value scans one JSON value starting at s.pos (no leading whitespace).
// depth is the nesting level of the value.
func (s *scanner) value(depth int) (token, error) {
	if s.pos >= len(s.data) {
		return token{}, s.unexpected("a value")
	}
	start := s.pos
	switch c := s.data[s.pos]; {
	case c == '"':
		return s.str()
	case c == '{' || c == '[':
		if depth >= maxDepth {
			return token{}, s.fail("nesting too deep")
		}
		var problem string
		var err error
		k := kindObject
		if c == '{' {
			problem, err = s.object(depth + 1)
		} else {
			k = kindArray
			problem, err = s.array(depth + 1)
		}
		return token{kind: k, start: start, end: s.pos, problem: problem}, err
	case c == '-' || (c >= '0' && c <= '9'):
		err := s.number()
		return token{kind: kindNumber, start: start, end: s.pos}, err
	case c == 't':
		return s.literal("true", kindBool)
	case c == 'f':
		return s.literal("false", kindBool)
	case c == 'n':
		return s.literal("null", kindNull)
	}
	return token{}, s.unexpected("a value")
}

// topObject consumes the whitespace and '{' that open a message. empty
// reports "{}", its '}' consumed too; otherwise the scanner is at the
// first member.
func (s *scanner) topObject() (empty bool, err error) {
	s.ws()
	if s.pos >= len(s.data) || s.data[s.pos] != '{' {
		return false, s.unexpected("'{'")
	}
	return s.enter('}'), nil
}

// enter steps over the '{' or '[' at s.pos and the whitespace after it. It
// reports whether closing follows at once, and then consumes it too.
func (s *scanner) enter(closing byte) (empty bool) {
	s.pos++
	s.ws()
	if s.pos < len(s.data) && s.data[s.pos] == closing {
		s.pos++
		return true
	}
	return false
}

// member scans one "key": value member of an object whose values may nest
// depth deep into *k and *v, and the ',' or '}' after it. more reports a
// ','.
func (s *scanner) member(depth int, k, v *token) (more bool, err error) {
	if s.pos >= len(s.data) || s.data[s.pos] != '"' {
		return false, s.unexpected("a string key")
	}
	if *k, err = s.str(); err != nil {
		return false, err
	}
	if err = s.colon(); err != nil {
		return false, err
	}
	if *v, err = s.value(depth); err != nil {
		return false, err
	}
	return s.next('}')
}

// object scans an object whose '{' is at s.pos. It returns the first string
// problem found inside.
func (s *scanner) object(depth int) (problem string, err error) {
	if s.enter('}') {
		return "", nil
	}
	var k, v token
	for {
		more, err := s.member(depth, &k, &v)
		if problem == "" {
			problem = k.problem
		}
		if problem == "" {
			problem = v.problem
		}
		if err != nil || !more {
			return problem, err
		}
	}
}

// array scans an array whose '[' is at s.pos. It returns the first string
// problem found inside.
func (s *scanner) array(depth int) (problem string, err error) {
	if s.enter(']') {
		return "", nil
	}
	for {
		v, err := s.value(depth)
		if err != nil {
			return problem, err
		}
		if problem == "" {
			problem = v.problem
		}
		more, err := s.next(']')
		if err != nil || !more {
			return problem, err
		}
	}
}

// colon consumes the ':' between a key and its value, with the whitespace
// around it.
func (s *scanner) colon() error {
	s.ws()
	if s.pos >= len(s.data) || s.data[s.pos] != ':' {
		return s.unexpected("':'")
	}
	s.pos++
	s.ws()
	return nil
}

// next consumes the whitespace and the ',' or closing byte after a member
// or element. more reports whether another one follows; the scanner is
// then at its first byte.
func (s *scanner) next(closing byte) (more bool, err error) {
	s.ws()
	if s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ',':
			s.pos++
			s.ws()
			return true, nil
		case closing:
			s.pos++
			return false, nil
		}
	}
	return false, s.unexpected("',' or '" + string(closing) + "'")
}

func (s *scanner) literal(lit string, k kind) (token, error) {
	start := s.pos
	if len(s.data)-s.pos < len(lit) || string(s.data[s.pos:s.pos+len(lit)]) != lit {
		return token{}, s.unexpected("a value")
	}
	s.pos += len(lit)
	return token{kind: k, start: start, end: s.pos}, nil
}

// number scans a number with exactly the JSON grammar:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *scanner) number() error {
	d := s.data
	i := s.pos
	if d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case i < len(d) && d[i] >= '1' && d[i] <= '9':
		i = digits(d, i)
	default:
		s.pos = i
		return s.unexpected("a digit")
	}
	if i < len(d) && d[i] == '.' {
		i++
		j := digits(d, i)
		if j == i {
			s.pos = i
			return s.unexpected("a digit after '.'")
		}
		i = j
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		j := digits(d, i)
		if j == i {
			s.pos = i
			return s.unexpected("a digit in the exponent")
		}
		i = j
	}
	s.pos = i
	return nil
}

// digits returns the index of the first byte at or after i that is not an
// ASCII digit.
func digits(d []byte, i int) int {
	for i < len(d) && d[i] >= '0' && d[i] <= '9' {
		i++
	}
	return i
}

// plain marks the bytes that stand for themselves inside a JSON string:
// printable ASCII other than '"' and '\\'.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// str scans a string literal whose '"' is at s.pos. Problems with its
// content go to token.problem (the first one only); only a missing closing
// quote is a syntax error.
func (s *scanner) str() (token, error) {
	d := s.data
	t := token{kind: kindString, start: s.pos}
	i := s.pos + 1
	for {
		for i < len(d) && plain[d[i]] {
			i++
		}
		if i >= len(d) {
			s.pos = i
			return t, s.fail("unterminated string")
		}
		switch c := d[i]; {
		case c == '"':
			i++
			t.end = i
			s.pos = i
			return t, nil
		case c == '\\':
			t.esc = true
			i = s.escape(&t, i)
		case c < 0x20:
			t.setProblem("control character in string")
			i++
		default:
			r, size := utf8.DecodeRune(d[i:])
			if r == utf8.RuneError && size == 1 {
				t.setProblem("invalid UTF-8 in string")
			}
			i += size
		}
	}
}

// escape checks the escape sequence whose backslash is at i and returns the
// index after it. An invalid sequence only skips the backslash, so that the
// closing quote is still found.
func (s *scanner) escape(t *token, i int) int {
	d := s.data
	if i+1 >= len(d) {
		return i + 1 // str reports the unterminated string
	}
	switch d[i+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return i + 2
	case 'u':
	default:
		t.setProblem("invalid escape in string")
		return i + 1
	}
	r, ok := hex4(d, i+2)
	if !ok {
		t.setProblem(`invalid \u escape in string`)
		return i + 1
	}
	i += 6
	if !utf16.IsSurrogate(r) {
		return i
	}
	if r < 0xdc00 && i+1 < len(d) && d[i] == '\\' && d[i+1] == 'u' {
		if r2, ok := hex4(d, i+2); ok && r2 >= 0xdc00 && r2 <= 0xdfff {
			return i + 6
		}
	}
	t.setProblem(`lone surrogate \u escape in string`)
	return i
}

func (t *token) setProblem(p string) {
	if t.problem == "" {
		t.problem = p
	}
}

// hex4 decodes the four hex digits at d[i:i+4].
func hex4(d []byte, i int) (rune, bool) {
	if i+4 > len(d) {
		return 0, false
	}
	var r rune
	for _, c := range d[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// appendUnquoted appends the decoded content of the string literal lit
// (quotes included), which str has scanned without a problem.
func appendUnquoted(dst, lit []byte) []byte {
	b := lit[1 : len(lit)-1]
	for i := 0; i < len(b); {
		if b[i] != '\\' {
			j := i + 1
			for j < len(b) && b[j] != '\\' {
				j++
			}
			dst = append(dst, b[i:j]...)
			i = j
			continue
		}
		if i+1 >= len(b) {
			return dst // cannot happen after str; never panic anyway
		}
		c := b[i+1]
		i += 2
		switch c {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, _ := hex4(b, i)
			i += 4
			if utf16.IsSurrogate(r) {
				r2, _ := hex4(b, i+2)
				r = utf16.DecodeRune(r, r2)
				i += 6
			}
			dst = utf8.AppendRune(dst, r)
		default: // '"', '\\', '/'
			dst = append(dst, c)
		}
	}
	return dst
}

// stringIs reports whether the string token t in data decodes to want.
// t must have no problem.
func stringIs(data []byte, t token, want string) bool {
	if !t.esc {
		return string(data[t.start+1:t.end-1]) == want
	}
	if t.end-t.start > 6*len(want)+2 {
		return false // even all-\u escapes would decode to something longer
	}
	var buf [64]byte
	return string(appendUnquoted(buf[:0], data[t.start:t.end])) == want
}
