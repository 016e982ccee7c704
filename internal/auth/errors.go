package auth

import "errors"

// Kind classifies why a token was rejected.
type Kind int

const (
	KindMissing     Kind = iota + 1 // no token at all
	KindMalformed                   // not a JWT, bad base64 or JSON, too long
	KindSignature                   // bad signature, disallowed alg, unknown key
	KindExpired                     // exp (plus leeway) has passed
	KindNotYetValid                 // nbf or iat (minus leeway) is in the future
	KindClaims                      // wrong iss/aud, missing exp, bad "symbols"
)

var kindNames = [...]string{
	KindMissing:     "missing",
	KindMalformed:   "malformed",
	KindSignature:   "signature",
	KindExpired:     "expired",
	KindNotYetValid: "not yet valid",
	KindClaims:      "claims",
}

func (k Kind) String() string {
	if k > 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// Error is the error Verify returns. Msg is safe to show to the client: it
// names claims and algorithms but never key material.
type Error struct {
	Kind Kind
	Msg  string // without the "auth: " prefix
	Err  error  // underlying cause, if any (often a jwt error)
}

func (e *Error) Error() string { return "auth: " + e.Msg }

func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the Kind of the first *Error in err's chain, or 0 if there
// is none.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}
