package auth

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Grant is what a verified token allows. It is immutable and safe for
// concurrent use.
type Grant struct {
	Subject string // "sub"; may be empty
	Issuer  string // "iss"; may be empty

	// Expiry is the instant from which Verify rejects the token: its "exp"
	// plus the Verifier's leeway. Zero means the token has no "exp".
	Expiry time.Time

	// Symbols is the entitlement list as granted: the "symbols" claim, or
	// ["*"] when the claim is missing and Config.DefaultAllowAll is set.
	Symbols []string

	all   bool                // a "*" pattern
	exact map[string]struct{} // patterns without '*'
	globs []glob              // patterns with '*', but not "*"
}

// glob is a pattern with at least one '*': prefix*mid[0]*mid[1]*...*suffix.
type glob struct {
	prefix, suffix string
	mid            []string
	min            int // shortest matching length
}

var errEmptyPattern = errors.New("empty symbol pattern")

// newGrant builds a Grant from entitlement patterns (see the package doc).
// expiry is stored as is; zero means none. It fails on an empty pattern.
func newGrant(subject string, symbols []string, expiry time.Time) (*Grant, error) {
	g := &Grant{Subject: subject, Expiry: expiry, Symbols: symbols}
	for i, p := range symbols {
		if p == "" {
			return nil, fmt.Errorf("symbols[%d]: %w", i, errEmptyPattern)
		}
		if !strings.Contains(p, "*") {
			if g.exact == nil {
				g.exact = make(map[string]struct{}, len(symbols))
			}
			g.exact[p] = struct{}{}
			continue
		}
		parts := strings.Split(p, "*")
		if strings.Trim(p, "*") == "" {
			g.all = true
			continue
		}
		gl := glob{prefix: parts[0], suffix: parts[len(parts)-1]}
		gl.min = len(gl.prefix) + len(gl.suffix)
		for _, m := range parts[1 : len(parts)-1] {
			if m != "" { // "**" is the same as "*"
				gl.mid = append(gl.mid, m)
				gl.min += len(m)
			}
		}
		g.globs = append(g.globs, gl)
	}
	return g, nil
}

// Allows reports whether the grant covers symbol. A nil Grant allows
// nothing; nor does any Grant allow the empty symbol.
func (g *Grant) Allows(symbol string) bool {
	if g == nil || symbol == "" {
		return false
	}
	if g.all {
		return true
	}
	if _, ok := g.exact[symbol]; ok {
		return true
	}
	for i := range g.globs {
		if g.globs[i].match(symbol) {
			return true
		}
	}
	return false
}

// match matches greedily: with '*' the only wildcard, taking the leftmost
// occurrence of each middle part is never worse than any later one.
func (gl *glob) match(s string) bool {
	if len(s) < gl.min || !strings.HasPrefix(s, gl.prefix) || !strings.HasSuffix(s, gl.suffix) {
		return false
	}
	s = s[len(gl.prefix) : len(s)-len(gl.suffix)]
	for _, m := range gl.mid {
		i := strings.Index(s, m)
		if i < 0 {
			return false
		}
		s = s[i+len(m):]
	}
	return true
}
