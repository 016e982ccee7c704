package cluster

import (
	"errors"
	"fmt"
)

// DefaultPrefix is the first token of every subject tickerd uses and the
// start of its stream's name.
const DefaultPrefix = "tickerd"

// subjects names everything one tickerd cluster puts on NATS.
type subjects struct {
	prefix string
}

func newSubjects(prefix string) (subjects, error) {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	for i := 0; i < len(prefix); i++ {
		if !tokenSafe(prefix[i]) && prefix[i] != '_' {
			return subjects{}, fmt.Errorf("cluster: prefix %q: want letters, digits, '-' and '_' only", prefix)
		}
	}
	return subjects{prefix: prefix}, nil
}

// tick is the subject of one symbol's ticks: PREFIX.tick.TOKEN.
func (s subjects) tick(symbol string) string { return s.prefix + ".tick." + SubjectToken(symbol) }

// ticks matches every tick subject.
func (s subjects) ticks() string { return s.prefix + ".tick.>" }

// symbols is the subject of the symbol list the feed node publishes.
func (s subjects) symbols() string { return s.prefix + ".symbols" }

// heartbeat is the subject of the feed node's liveness beat.
func (s subjects) heartbeat() string { return s.prefix + ".heartbeat" }

// stream is the JetStream stream that keeps the last message of each tick
// subject and the symbol list.
func (s subjects) stream() string { return s.prefix + "_last" }

// tokenSafe reports whether c stands for itself in a subject token.
func tokenSafe(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-'
}

const upperHex = "0123456789ABCDEF"

// SubjectToken maps a symbol name to one NATS subject token, reversibly:
// letters, digits and '-' stand for themselves and every other byte
// (including '_', '.', '/', '*', '>' and spaces) becomes '_' and two
// upper-case hex digits. So "AAPL" is "AAPL", "BTC-USD" is "BTC-USD",
// "EUR/USD" is "EUR_2FUSD" and "BRK.B" is "BRK_2EB". SymbolFromToken
// reverses it.
func SubjectToken(symbol string) string {
	n := len(symbol)
	for i := 0; i < len(symbol); i++ {
		if !tokenSafe(symbol[i]) {
			n += 2
		}
	}
	if n == len(symbol) {
		return symbol
	}
	b := make([]byte, 0, n)
	for i := 0; i < len(symbol); i++ {
		c := symbol[i]
		if tokenSafe(c) {
			b = append(b, c)
			continue
		}
		b = append(b, '_', upperHex[c>>4], upperHex[c&0xf])
	}
	return string(b)
}

var errToken = errors.New("cluster: malformed subject token")

// SymbolFromToken reverses SubjectToken. It accepts only the canonical
// form SubjectToken writes, so each symbol has exactly one token.
func SymbolFromToken(tok string) (string, error) {
	if tok == "" {
		return "", errToken
	}
	b := make([]byte, 0, len(tok))
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		switch {
		case tokenSafe(c):
			b = append(b, c)
		case c == '_' && i+2 < len(tok):
			hi, lo := unhex(tok[i+1]), unhex(tok[i+2])
			if hi < 0 || lo < 0 || tokenSafe(byte(hi<<4|lo)) {
				return "", fmt.Errorf("%w: %q", errToken, tok)
			}
			b = append(b, byte(hi<<4|lo))
			i += 2
		default:
			return "", fmt.Errorf("%w: %q", errToken, tok)
		}
	}
	return string(b), nil
}

// unhex is the value of an upper-case hex digit, or -1.
func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}
