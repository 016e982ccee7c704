package cluster

import (
	"errors"
	"fmt"
	"strings"

	"github.com/tickerd/tickerd/protocol"
)

// DefaultPrefix is the first token of every subject tickerd uses and the
// start of its streams' names.
const DefaultPrefix = "tickerd"

// Kinds of the per-symbol subjects PREFIX.sym.TOKEN.KIND.
const (
	kindDef  = "def"  // the symbol's definition; empty when delisted
	kindTick = "tick" // its ticks
	kindBook = "book" // its book updates (not stored)
	kindSnap = "snap" // its book snapshots
)

// subjects names everything one tickerd cluster puts on NATS. The subjects
// and streams are listed in the package doc.
type subjects struct {
	prefix string
	sym    string // prefix + ".sym."
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
	return subjects{prefix: prefix, sym: prefix + ".sym."}, nil
}

// symbol is the subject of one kind of a symbol's state:
// PREFIX.sym.TOKEN.KIND.
func (s subjects) symbol(token, kind string) string { return s.sym + token + "." + kind }

// symbolAll matches every subject of one symbol: PREFIX.sym.TOKEN.*, the
// one subscription an edge holds for a watched symbol.
func (s subjects) symbolAll(token string) string { return s.sym + token + ".*" }

// allOf matches one kind over every symbol: PREFIX.sym.*.KIND.
func (s subjects) allOf(kind string) string { return s.sym + "*." + kind }

// parseSymbol splits PREFIX.sym.TOKEN.KIND; ok is false for any other
// subject.
func (s subjects) parseSymbol(subject string) (token, kind string, ok bool) {
	rest, ok := strings.CutPrefix(subject, s.sym)
	if !ok {
		return "", "", false
	}
	token, kind, ok = strings.Cut(rest, ".")
	if !ok || token == "" || strings.IndexByte(kind, '.') >= 0 {
		return "", "", false
	}
	return token, kind, true
}

// trade is the subject of a symbol's trades: PREFIX.trade.TOKEN.
func (s subjects) trade(token string) string { return s.prefix + ".trade." + token }

// trades matches every trade subject.
func (s subjects) trades() string { return s.prefix + ".trade.*" }

// tradeToken returns the token of a trade subject.
func (s subjects) tradeToken(subject string) (string, bool) {
	tok, ok := strings.CutPrefix(subject, s.prefix+".trade.")
	return tok, ok && tok != "" && strings.IndexByte(tok, '.') < 0
}

// candle is the subject of a symbol's candles of one interval: closed
// ones on PREFIX.candle.TOKEN.IV.closed, the open one on ….open.
func (s subjects) candle(token string, iv protocol.Interval, closed bool) string {
	state := "open"
	if closed {
		state = "closed"
	}
	return s.prefix + ".candle." + token + "." + iv.String() + "." + state
}

// candles matches every candle subject.
func (s subjects) candles() string { return s.prefix + ".candle.>" }

// want is the subject on which edges ask for a fresh snapshot of a
// symbol's book: PREFIX.want.TOKEN.
func (s subjects) want(token string) string { return s.prefix + ".want." + token }

// wants matches every want subject.
func (s subjects) wants() string { return s.prefix + ".want.*" }

// heartbeat is the subject of the feed node's liveness beat.
func (s subjects) heartbeat() string { return s.prefix + ".heartbeat" }

// Streams: the last values (definitions, ticks, book snapshots), the trade
// history and the candles.
func (s subjects) lastStream() string   { return s.prefix + "_last" }
func (s subjects) tradeStream() string  { return s.prefix + "_trades" }
func (s subjects) candleStream() string { return s.prefix + "_candles" }

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
