package auth

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// The algorithms this package verifies, one per key type.
const (
	algHS256 = "HS256"
	algRS256 = "RS256"
	algES256 = "ES256"
)

const (
	minHMACSecret = 32      // bytes; RFC 7518 section 3.2: at least the hash size
	minRSABits    = 2048    // RFC 7518 section 3.3
	maxKeyFile    = 1 << 20 // no key file needs more; stops a mistyped path to a log file
)

// key is one verification key.
type key struct {
	kid string
	alg string
	pub any // []byte for HS256, *rsa.PublicKey for RS256, *ecdsa.PublicKey for ES256
}

// readKeyFile reads a key file of bounded size.
func readKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxKeyFile {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, maxKeyFile)
	}
	return b, nil
}

// loadSecretFile reads an HS256 secret: raw bytes, trailing newlines trimmed.
func loadSecretFile(path string) (key, error) {
	b, err := readKeyFile(path)
	if err != nil {
		return key{}, fmt.Errorf("auth: hmac secret: %w", err)
	}
	b = bytes.TrimRight(b, "\r\n")
	if bytes.HasPrefix(b, []byte("-----BEGIN")) {
		// A public key used as an HMAC secret is the alg-confusion hole.
		return key{}, fmt.Errorf("auth: hmac secret %s: holds a PEM block; use PublicKeyFile for public keys", path)
	}
	if err := checkSecret(b); err != nil {
		return key{}, fmt.Errorf("auth: hmac secret %s: %w", path, err)
	}
	return key{alg: algHS256, pub: b}, nil
}

func checkSecret(b []byte) error {
	if len(b) < minHMACSecret {
		return fmt.Errorf("%d bytes, want at least %d", len(b), minHMACSecret)
	}
	return nil
}

// loadPublicKeyFile reads one PEM public key or certificate.
func loadPublicKeyFile(path string) (key, error) {
	b, err := readKeyFile(path)
	if err != nil {
		return key{}, fmt.Errorf("auth: public key: %w", err)
	}
	pub, err := parsePublicKeyPEM(b)
	if err != nil {
		return key{}, fmt.Errorf("auth: public key %s: %w", path, err)
	}
	alg, err := algFor(pub)
	if err != nil {
		return key{}, fmt.Errorf("auth: public key %s: %w", path, err)
	}
	return key{alg: alg, pub: pub}, nil
}

// parsePublicKeyPEM returns the single public key in data. Blocks that hold
// no key (such as "EC PARAMETERS") are skipped.
func parsePublicKeyPEM(data []byte) (any, error) {
	var (
		pub   any
		found int
	)
	for rest := data; ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		var (
			k   any
			err error
		)
		switch blk.Type {
		case "PUBLIC KEY":
			k, err = x509.ParsePKIXPublicKey(blk.Bytes)
		case "RSA PUBLIC KEY":
			k, err = x509.ParsePKCS1PublicKey(blk.Bytes)
		case "CERTIFICATE":
			var c *x509.Certificate
			if c, err = x509.ParseCertificate(blk.Bytes); err == nil {
				k = c.PublicKey
			}
		default:
			if strings.Contains(blk.Type, "PRIVATE KEY") {
				return nil, fmt.Errorf("holds a %s; give only the public key", blk.Type)
			}
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", blk.Type, err)
		}
		pub = k
		found++
	}
	switch found {
	case 0:
		return nil, errors.New(`no "PUBLIC KEY", "RSA PUBLIC KEY" or "CERTIFICATE" PEM block`)
	case 1:
		return pub, nil
	default:
		return nil, fmt.Errorf("holds %d keys, want 1 (use a JWKS file for several)", found)
	}
}

// algFor returns the one algorithm a public key may verify, or an error for
// key types and sizes this package does not accept.
func algFor(pub any) (string, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if n := k.N.BitLen(); n < minRSABits {
			return "", fmt.Errorf("rsa key of %d bits, want at least %d", n, minRSABits)
		}
		return algRS256, nil
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return "", fmt.Errorf("ecdsa key on %s, want P-256", k.Curve.Params().Name)
		}
		return algES256, nil
	case ed25519.PublicKey:
		return "", errors.New("ed25519 keys are not supported, want RSA or ECDSA P-256")
	default:
		return "", fmt.Errorf("unsupported key type %T, want RSA or ECDSA P-256", pub)
	}
}

// keySet is one generation of keys; Reload replaces it whole.
type keySet struct {
	keys   []key
	algs   []string // distinct algs of keys, sorted: the valid methods
	useKid bool     // from a JWKS file: select by kid
}

func newKeySet(keys []key, useKid bool) *keySet {
	ks := &keySet{keys: keys, useKid: useKid}
	for _, k := range keys {
		if !slices.Contains(ks.algs, k.alg) {
			ks.algs = append(ks.algs, k.alg)
		}
	}
	slices.Sort(ks.algs)
	return ks
}

// keyError is returned by lookup; it becomes a KindSignature *Error.
type keyError struct{ msg string }

func (e *keyError) Error() string { return e.msg }

// lookup picks the key for a token with the given alg and kid header. alg
// is already one of ks.algs.
func (ks *keySet) lookup(alg string, kid any) (any, error) {
	if !ks.useKid {
		for _, k := range ks.keys {
			if k.alg == alg {
				return k.pub, nil
			}
		}
		return nil, &keyError{fmt.Sprintf("no key for %s", alg)}
	}
	if kid != nil {
		id, ok := kid.(string)
		if !ok {
			return nil, &keyError{`"kid" header is not a string`}
		}
		for _, k := range ks.keys {
			if k.kid == id && k.alg == alg {
				return k.pub, nil
			}
		}
		return nil, &keyError{fmt.Sprintf("unknown key id %q for %s", id, alg)}
	}
	var (
		pub any
		n   int
	)
	for _, k := range ks.keys {
		if k.alg == alg {
			pub = k.pub
			n++
		}
	}
	switch n {
	case 0:
		return nil, &keyError{fmt.Sprintf("no key for %s", alg)}
	case 1:
		return pub, nil
	default:
		return nil, &keyError{fmt.Sprintf(`token has no "kid" and %d keys fit %s`, n, alg)}
	}
}
