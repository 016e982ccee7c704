package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"slices"
	"strings"
)

// jwk holds the members of an RFC 7517/7518 key that this package reads.
type jwk struct {
	Kty    string   `json:"kty"`
	Use    string   `json:"use"`
	KeyOps []string `json:"key_ops"`
	Alg    string   `json:"alg"`
	Kid    string   `json:"kid"`
	N      string   `json:"n"`   // RSA modulus
	E      string   `json:"e"`   // RSA exponent
	Crv    string   `json:"crv"` // EC curve
	X      string   `json:"x"`
	Y      string   `json:"y"`
	K      string   `json:"k"` // oct secret
	D      *string  `json:"d"` // private part of RSA and EC keys: refused
}

// errSkip marks a key this package does not handle; RFC 7517 section 5 says
// to ignore such keys rather than fail the whole set.
type errSkip struct{ reason string }

func (e *errSkip) Error() string { return e.reason }

// parseJWKS returns the usable keys of a JWK Set. Skipped keys are logged to
// log, if not nil.
func parseJWKS(data []byte, log *slog.Logger) ([]key, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, err
	}
	if set.Keys == nil {
		return nil, errors.New(`no "keys" array`)
	}
	var (
		keys    []key
		skipped int
	)
	for i, raw := range set.Keys {
		var j jwk
		if err := json.Unmarshal(raw, &j); err != nil {
			return nil, fmt.Errorf("key %d: %w", i, err)
		}
		k, err := j.key()
		var skip *errSkip
		if errors.As(err, &skip) {
			skipped++
			if log != nil {
				log.Warn("auth: jwks key skipped", "index", i, "kid", j.Kid, "kty", j.Kty, "alg", j.Alg, "reason", skip.reason)
			}
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("key %d (kid %q): %w", i, j.Kid, err)
		}
		if slices.ContainsFunc(keys, func(o key) bool { return o.kid == k.kid && o.alg == k.alg }) {
			return nil, fmt.Errorf("key %d: duplicate kid %q for %s", i, k.kid, k.alg)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("no usable keys (%d skipped)", skipped)
	}
	return keys, nil
}

// key converts j. It returns an *errSkip for keys of unsupported types or
// uses, and other errors for supported keys with bad members.
func (j *jwk) key() (key, error) {
	if j.Use != "" && j.Use != "sig" {
		return key{}, &errSkip{fmt.Sprintf("use %q", j.Use)}
	}
	if j.KeyOps != nil && !slices.Contains(j.KeyOps, "verify") {
		return key{}, &errSkip{fmt.Sprintf("key_ops %v lacks verify", j.KeyOps)}
	}
	var want string
	switch j.Kty {
	case "RSA":
		want = algRS256
	case "EC":
		if j.Crv != "P-256" {
			return key{}, &errSkip{fmt.Sprintf("curve %q", j.Crv)}
		}
		want = algES256
	case "oct":
		want = algHS256
	default:
		return key{}, &errSkip{fmt.Sprintf("kty %q", j.Kty)}
	}
	switch j.Alg {
	case "", want:
	case algHS256, algRS256, algES256:
		// A supported alg on the wrong key type: a broken or hostile set.
		return key{}, fmt.Errorf("alg %s does not fit kty %s", j.Alg, j.Kty)
	default:
		return key{}, &errSkip{fmt.Sprintf("alg %q", j.Alg)}
	}
	if j.D != nil && j.Kty != "oct" {
		return key{}, errors.New(`holds a private key ("d"); publish only the public key`)
	}

	k := key{kid: j.Kid, alg: want}
	var err error
	switch j.Kty {
	case "RSA":
		k.pub, err = j.rsa()
	case "EC":
		k.pub, err = j.ec()
	case "oct":
		k.pub, err = j.oct()
	}
	if err != nil {
		return key{}, err
	}
	return k, nil
}

func (j *jwk) rsa() (*rsa.PublicKey, error) {
	n, err := b64("n", j.N)
	if err != nil {
		return nil, err
	}
	e, err := b64("e", j.E)
	if err != nil {
		return nil, err
	}
	if len(e) > 4 {
		return nil, fmt.Errorf(`"e" is %d bytes, want at most 4`, len(e))
	}
	var exp int64
	for _, c := range e {
		exp = exp<<8 | int64(c)
	}
	if exp < 3 || exp%2 == 0 || exp > 1<<31-1 {
		return nil, fmt.Errorf(`"e" = %d is not a valid RSA exponent`, exp)
	}
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(exp)}
	if bits := pub.N.BitLen(); bits < minRSABits {
		return nil, fmt.Errorf("rsa key of %d bits, want at least %d", bits, minRSABits)
	}
	return pub, nil
}

func (j *jwk) ec() (*ecdsa.PublicKey, error) {
	x, err := b64("x", j.X)
	if err != nil {
		return nil, err
	}
	y, err := b64("y", j.Y)
	if err != nil {
		return nil, err
	}
	if len(x) != 32 || len(y) != 32 {
		return nil, fmt.Errorf(`"x" and "y" are %d and %d bytes, want 32 each for P-256`, len(x), len(y))
	}
	pt := make([]byte, 0, 65)
	pt = append(pt, 4) // uncompressed point
	pt = append(pt, x...)
	pt = append(pt, y...)
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), pt)
	if err != nil {
		return nil, fmt.Errorf("ec point: %w", err)
	}
	return pub, nil
}

func (j *jwk) oct() ([]byte, error) {
	k, err := b64("k", j.K)
	if err != nil {
		return nil, err
	}
	if err := checkSecret(k); err != nil {
		return nil, fmt.Errorf(`"k": %w`, err)
	}
	return k, nil
}

// b64 decodes a base64url member (RFC 7518 wants no padding; tolerate it).
func b64(name, s string) ([]byte, error) {
	if s == "" {
		return nil, fmt.Errorf("missing %q", name)
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		return nil, fmt.Errorf("%q: %w", name, err)
	}
	return b, nil
}
