package auth

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// MaxTokenSize is the longest token Verify will parse, in bytes.
const MaxTokenSize = 16 << 10

// DefaultLeeway is the clock skew allowed when Config.Leeway is zero.
const DefaultLeeway = 30 * time.Second

// Config configures a Verifier. Set exactly one of HMACSecretFile,
// PublicKeyFile and JWKSFile; the rest may be left zero.
type Config struct {
	HMACSecretFile string // HS256: file holding the shared secret (raw bytes; trailing newlines trimmed)
	PublicKeyFile  string // RS256 or ES256: PEM file with a public key ("PUBLIC KEY", "RSA PUBLIC KEY" or "CERTIFICATE")
	JWKSFile       string // RS256/ES256/HS256 keys as a JSON Web Key Set (RFC 7517), selected by the token's "kid"

	Issuer   string        // if set, "iss" must equal it
	Audience string        // if set, "aud" must contain it
	Leeway   time.Duration // clock skew allowed for exp, nbf and iat; 0 means DefaultLeeway, negative means none

	// AllowNoExpiry accepts tokens without "exp". By default they are
	// rejected (KindClaims): a token that never expires cannot be revoked
	// short of rotating the key.
	AllowNoExpiry bool

	// DefaultAllowAll makes a token without a "symbols" claim grant every
	// symbol. By default such a token grants none.
	DefaultAllowAll bool

	Now    func() time.Time // for tests; nil means time.Now
	Logger *slog.Logger     // receives warnings about skipped JWKS keys; nil means none
}

// Verifier checks tokens against a set of keys. It is safe for concurrent
// use, including Verify concurrent with Reload.
type Verifier struct {
	cfg    Config // static after New, defaults applied
	leeway time.Duration

	keys     atomic.Pointer[verifierKeys]
	reloadMu sync.Mutex // serialises Reload
}

// verifierKeys pairs a key set with the parser whose valid methods are its
// algorithms, so a Reload that changes algorithms swaps both at once.
type verifierKeys struct {
	set    *keySet
	parser *jwt.Parser
}

// New loads the configured keys and returns a Verifier.
func New(cfg Config) (*Verifier, error) {
	n := 0
	for _, f := range []string{cfg.HMACSecretFile, cfg.PublicKeyFile, cfg.JWKSFile} {
		if f != "" {
			n++
		}
	}
	if n != 1 {
		return nil, fmt.Errorf("auth: set exactly one of HMACSecretFile, PublicKeyFile and JWKSFile (%d set)", n)
	}
	v := &Verifier{cfg: cfg, leeway: cfg.Leeway}
	switch {
	case cfg.Leeway == 0:
		v.leeway = DefaultLeeway
	case cfg.Leeway < 0:
		v.leeway = 0
	}
	if err := v.Reload(); err != nil {
		return nil, err
	}
	return v, nil
}

// Reload re-reads the key file and, if it loads, replaces the keys; tokens
// verified afterwards use the new keys. On error the old keys stay in use.
func (v *Verifier) Reload() error {
	v.reloadMu.Lock()
	defer v.reloadMu.Unlock()
	ks, err := v.load()
	if err != nil {
		return err
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(ks.algs),
		jwt.WithLeeway(v.leeway),
		jwt.WithIssuedAt(),
		jwt.WithStrictDecoding(),
	}
	if v.cfg.Now != nil {
		opts = append(opts, jwt.WithTimeFunc(v.cfg.Now))
	}
	if !v.cfg.AllowNoExpiry {
		opts = append(opts, jwt.WithExpirationRequired())
	}
	if v.cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(v.cfg.Issuer))
	}
	if v.cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(v.cfg.Audience))
	}
	v.keys.Store(&verifierKeys{set: ks, parser: jwt.NewParser(opts...)})
	return nil
}

func (v *Verifier) load() (*keySet, error) {
	switch {
	case v.cfg.HMACSecretFile != "":
		k, err := loadSecretFile(v.cfg.HMACSecretFile)
		if err != nil {
			return nil, err
		}
		return newKeySet([]key{k}, false), nil
	case v.cfg.PublicKeyFile != "":
		k, err := loadPublicKeyFile(v.cfg.PublicKeyFile)
		if err != nil {
			return nil, err
		}
		return newKeySet([]key{k}, false), nil
	default:
		b, err := readKeyFile(v.cfg.JWKSFile)
		if err != nil {
			return nil, fmt.Errorf("auth: jwks: %w", err)
		}
		keys, err := parseJWKS(b, v.cfg.Logger)
		if err != nil {
			return nil, fmt.Errorf("auth: jwks %s: %w", v.cfg.JWKSFile, err)
		}
		return newKeySet(keys, true), nil
	}
}

// KeyInfo describes one loaded key, for logging at startup.
type KeyInfo struct {
	ID  string // "kid"; empty for HMACSecretFile and PublicKeyFile keys
	Alg string // HS256, RS256 or ES256
}

// Keys lists the keys currently in use.
func (v *Verifier) Keys() []KeyInfo {
	ks := v.keys.Load().set
	out := make([]KeyInfo, len(ks.keys))
	for i, k := range ks.keys {
		out[i] = KeyInfo{ID: k.kid, Alg: k.alg}
	}
	return out
}

// claims is the token payload Verify reads.
type claims struct {
	jwt.RegisteredClaims
	Symbols json.RawMessage `json:"symbols"` // parsed after the signature checks out
}

// Verify checks token's signature and claims and returns its Grant. Every
// error is an *Error.
func (v *Verifier) Verify(token string) (*Grant, error) {
	if token == "" {
		return nil, &Error{Kind: KindMissing, Msg: "no token"}
	}
	if len(token) > MaxTokenSize {
		return nil, &Error{Kind: KindMalformed, Msg: fmt.Sprintf("token is %d bytes, limit %d", len(token), MaxTokenSize)}
	}
	vk := v.keys.Load()
	var c claims
	t, err := vk.parser.ParseWithClaims(token, &c, func(t *jwt.Token) (any, error) {
		return vk.set.lookup(t.Method.Alg(), t.Header["kid"])
	})
	if err != nil {
		return nil, v.classify(vk.set, t, &c, err)
	}
	if _, ok := t.Header["crit"]; ok {
		return nil, &Error{Kind: KindMalformed, Msg: `token has a "crit" header; no extensions are supported`}
	}
	return v.grant(&c)
}

func (v *Verifier) grant(c *claims) (*Grant, error) {
	var symbols []string
	switch s := strings.TrimSpace(string(c.Symbols)); s {
	case "", "null":
		if v.cfg.DefaultAllowAll {
			symbols = []string{"*"}
		}
	default:
		if err := json.Unmarshal(c.Symbols, &symbols); err != nil {
			return nil, &Error{Kind: KindClaims, Msg: `"symbols" claim must be an array of strings`, Err: err}
		}
		if symbols == nil {
			symbols = []string{}
		}
	}
	var expiry time.Time
	if c.ExpiresAt != nil {
		expiry = c.ExpiresAt.Time.Add(v.leeway)
	}
	g, err := newGrant(c.Subject, symbols, expiry)
	if err != nil {
		return nil, &Error{Kind: KindClaims, Msg: `"symbols" claim: ` + err.Error(), Err: err}
	}
	g.Issuer = c.Issuer
	return g, nil
}

// classify turns a jwt error into an *Error with a message fit for clients.
func (v *Verifier) classify(ks *keySet, t *jwt.Token, c *claims, err error) *Error {
	e := &Error{Err: err}
	var kerr *keyError
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		e.Kind, e.Msg = KindMalformed, err.Error()
	case errors.As(err, &kerr):
		e.Kind, e.Msg = KindSignature, kerr.msg
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
		e.Kind, e.Msg = KindSignature, "invalid signature"
		if t != nil {
			alg, _ := t.Header["alg"].(string)
			if t.Method == nil || !slices.Contains(ks.algs, alg) {
				e.Msg = fmt.Sprintf("signing algorithm %q not allowed, want %s", alg, strings.Join(ks.algs, " or "))
			}
		}
	case errors.Is(err, jwt.ErrTokenInvalidClaims):
		v.classifyClaims(e, c, err)
	default:
		e.Kind, e.Msg = KindMalformed, err.Error()
	}
	return e
}

// classifyClaims reports the claim failures the validator joined into err.
// Problems no fresh token would fix (issuer, audience, a missing claim) win
// over the timing ones.
func (v *Verifier) classifyClaims(e *Error, c *claims, err error) {
	var msgs []string
	missing := errors.Is(err, jwt.ErrTokenRequiredClaimMissing)
	switch {
	case missing && c.Issuer == "" && v.cfg.Issuer != "":
		msgs = append(msgs, fmt.Sprintf(`token has no "iss" claim, want %q`, v.cfg.Issuer))
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		msgs = append(msgs, fmt.Sprintf("issuer %q not accepted, want %q", c.Issuer, v.cfg.Issuer))
	}
	switch {
	case missing && len(c.Audience) == 0 && v.cfg.Audience != "":
		msgs = append(msgs, fmt.Sprintf(`token has no "aud" claim, want %q`, v.cfg.Audience))
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		msgs = append(msgs, fmt.Sprintf("audience %q does not include %q", []string(c.Audience), v.cfg.Audience))
	}
	if missing && c.ExpiresAt == nil && !v.cfg.AllowNoExpiry {
		msgs = append(msgs, `token has no "exp" claim`)
	}
	switch {
	case len(msgs) > 0:
		e.Kind, e.Msg = KindClaims, strings.Join(msgs, "; ")
	case errors.Is(err, jwt.ErrTokenExpired):
		e.Kind, e.Msg = KindExpired, "token expired at "+c.ExpiresAt.UTC().Format(time.RFC3339)
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		e.Kind, e.Msg = KindNotYetValid, "token not valid before "+c.NotBefore.UTC().Format(time.RFC3339)
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		e.Kind, e.Msg = KindNotYetValid, "token issued in the future, at "+c.IssuedAt.UTC().Format(time.RFC3339)
	default:
		e.Kind, e.Msg = KindClaims, err.Error()
	}
}
