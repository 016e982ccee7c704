package tickerd

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tickerd/tickerd/hub"
	"github.com/tickerd/tickerd/internal/auth"
)

// Authenticator decides who a client is from its bearer token. The token
// comes from an "Authorization: Bearer" header or a "token" query
// parameter of the request (the WebSocket upgrade, or /api/symbols), or
// from a client's {"op":"auth","token":"..."} message.
//
// Authenticate is called from many goroutines at once and must not block
// for long: it runs on the goroutine that reads the client. It returns an
// error for a token it does not accept; the error's text is sent to the
// client.
type Authenticator interface {
	Authenticate(token string) (*Identity, error)
}

// Identity is what an authenticated client may do: its subject, when its
// token expires (zero: never), and which symbols it may watch. Allows
// must be set.
type Identity = hub.Identity

// AuthenticatorFunc adapts a function to an Authenticator.
type AuthenticatorFunc func(token string) (*Identity, error)

// Authenticate calls f.
func (f AuthenticatorFunc) Authenticate(token string) (*Identity, error) { return f(token) }

// JWTConfig configures the JWT authenticator NewJWTAuth returns. Set
// exactly one of HMACSecretFile, PublicKeyFile and JWKSFile.
//
// The key decides the algorithm: HS256 for a secret, RS256 or ES256 for a
// PEM public key, and each key's own for a JWKS file (selected by the
// token's "kid"). "exp" is required unless AllowNoExpiry. The "symbols"
// claim lists the symbols the token grants, each an exact name or a glob
// with '*' ("BTC-*", "*"); a token without it grants none unless
// DefaultAllowAll.
type JWTConfig struct {
	HMACSecretFile string // HS256: a file holding the shared secret, at least 32 bytes
	PublicKeyFile  string // RS256 or ES256: a PEM file with the issuer's public key
	JWKSFile       string // a JSON Web Key Set file (RFC 7517)

	Issuer   string        // if set, "iss" must equal it
	Audience string        // if set, "aud" must contain it
	Leeway   time.Duration // clock skew allowed for exp, nbf and iat; 0: 30 s, negative: none

	AllowNoExpiry   bool // accept tokens without "exp"
	DefaultAllowAll bool // a token without "symbols" grants every symbol

	Logger *slog.Logger // told about JWKS keys it skips; nil: not told
}

// JWTAuth is an Authenticator that verifies JWTs with keys read from
// files. It is safe for concurrent use, Reload included.
type JWTAuth struct{ v *auth.Verifier }

// NewJWTAuth reads the keys cfg names.
func NewJWTAuth(cfg JWTConfig) (*JWTAuth, error) {
	v, err := auth.New(auth.Config{
		HMACSecretFile: cfg.HMACSecretFile, PublicKeyFile: cfg.PublicKeyFile, JWKSFile: cfg.JWKSFile,
		Issuer: cfg.Issuer, Audience: cfg.Audience, Leeway: cfg.Leeway,
		AllowNoExpiry: cfg.AllowNoExpiry, DefaultAllowAll: cfg.DefaultAllowAll, Logger: cfg.Logger,
	})
	if err != nil {
		return nil, err
	}
	return &JWTAuth{v: v}, nil
}

// Authenticate verifies token and returns what it grants.
func (a *JWTAuth) Authenticate(token string) (*Identity, error) {
	g, err := a.v.Verify(token)
	if err != nil {
		return nil, err
	}
	return &Identity{Subject: g.Subject, Expiry: g.Expiry, Allows: g.Allows}, nil
}

// Reload reads the key files again and swaps the keys in at once; on an
// error the old keys stay. Run it on SIGHUP to rotate keys.
func (a *JWTAuth) Reload() error { return a.v.Reload() }

// MintToken returns an HS256 JWT for subject granting symbols (exact names
// or '*' globs), issued now and expiring ttl later. It is for tests,
// examples and development; production tokens come from an identity
// provider. secret must be at least 32 bytes: the content of
// JWTConfig.HMACSecretFile.
func MintToken(secret []byte, subject string, symbols []string, ttl time.Duration) (string, error) {
	if ttl <= 0 {
		return "", errors.New("tickerd: mint: ttl must be positive")
	}
	return auth.Mint(secret, subject, symbols, ttl, time.Now())
}

// tokenOf returns the bearer token of an HTTP request: the Authorization
// header, then the "token" query parameter.
func tokenOf(r *http.Request) string { return auth.TokenFromRequest(r) }

// hubAuth adapts an Authenticator to the hub, refusing an identity that
// could not answer Allows.
func hubAuth(a Authenticator) func(token string) (*Identity, error) {
	return func(token string) (*Identity, error) {
		id, err := a.Authenticate(token)
		if err != nil {
			return nil, err
		}
		if id == nil || id.Allows == nil {
			return nil, fmt.Errorf("tickerd: %T returned no Identity.Allows", a)
		}
		return id, nil
	}
}

// originChecker returns the upgrade's Origin check, or nil for the hub's
// default (same host only). A request without an Origin header is not
// from a browser and passes: Origin protects browsers' users from other
// sites, not the server from programs.
func originChecker(allowed []string, authOn bool) (func(*http.Request) bool, error) {
	if len(allowed) == 0 {
		if authOn {
			return func(*http.Request) bool { return true }, nil
		}
		return nil, nil // the hub's default: same host
	}
	hosts := map[string]bool{}
	origins := map[string]bool{}
	for _, a := range allowed {
		a = strings.ToLower(strings.TrimSpace(a))
		switch {
		case a == "":
		case a == "*":
			return func(*http.Request) bool { return true }, nil
		case strings.Contains(a, "://"):
			u, err := url.Parse(a)
			if err != nil || u.Host == "" {
				return nil, fmt.Errorf("allowed origin %q: not an origin like https://example.com", a)
			}
			origins[u.Scheme+"://"+u.Host] = true
		default:
			if strings.ContainsAny(a, "/ ") {
				return nil, fmt.Errorf("allowed origin %q: not a host name", a)
			}
			hosts[a] = true
		}
	}
	return func(r *http.Request) bool {
		o := r.Header.Get("Origin")
		if o == "" {
			return true
		}
		u, err := url.Parse(strings.ToLower(o))
		if err != nil {
			return false
		}
		return origins[u.Scheme+"://"+u.Host] || hosts[u.Host] || hosts[u.Hostname()]
	}, nil
}
