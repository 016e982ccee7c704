package auth

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/tickerd/tickerd/internal/selfsigned"
)

// now is the fixed clock of the tests.
var now = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func fixedNow() time.Time { return now }

var (
	secretA = []byte("0123456789abcdef0123456789abcdef-A")
	secretB = []byte("0123456789abcdef0123456789abcdef-B")
)

// Test keys are generated once per test binary: RSA generation is slow.
var testKeys = sync.OnceValue(func() (k struct {
	rsa1, rsa2, rsa1024 *rsa.PrivateKey
	ec1, ec2, ec384     *ecdsa.PrivateKey
	ed                  ed25519.PublicKey
},
) {
	var err error
	must := func() {
		if err != nil {
			panic(err)
		}
	}
	k.rsa1, err = rsa.GenerateKey(rand.Reader, 2048)
	must()
	k.rsa2, err = rsa.GenerateKey(rand.Reader, 2048)
	must()
	k.rsa1024, err = rsa.GenerateKey(rand.Reader, 1024)
	must()
	k.ec1, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must()
	k.ec2, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must()
	k.ec384, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	must()
	k.ed, _, err = ed25519.GenerateKey(rand.Reader)
	must()
	return k
})

// writeFile writes data to name in dir and returns the path.
func writeFile(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func pkixPEM(t testing.TB, pub any) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// certPEM is a self-signed certificate of priv's public key.
func certPEM(t testing.TB, priv *rsa.PrivateKey) []byte {
	t.Helper()
	c, err := selfsigned.New(priv)
	if err != nil {
		t.Fatal(err)
	}
	return c.PEM()
}

var b64u = base64.RawURLEncoding.EncodeToString

// jwkRSA, jwkEC and jwkOct build JWK members for a set.
func jwkRSA(kid string, pub *rsa.PublicKey) map[string]any {
	return map[string]any{"kty": "RSA", "kid": kid, "n": b64u(pub.N.Bytes()), "e": b64u(big.NewInt(int64(pub.E)).Bytes())}
}

func jwkEC(t testing.TB, kid string, pub *ecdsa.PublicKey) map[string]any {
	t.Helper()
	pt, err := pub.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	n := (len(pt) - 1) / 2
	crv := pub.Curve.Params().Name
	return map[string]any{"kty": "EC", "kid": kid, "crv": crv, "x": b64u(pt[1 : 1+n]), "y": b64u(pt[1+n:])}
}

func jwkOct(kid string, secret []byte) map[string]any {
	return map[string]any{"kty": "oct", "kid": kid, "k": b64u(secret)}
}

func jwksJSON(t testing.TB, keys ...map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"keys": keys})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// with returns a copy of m with the given members set.
func with(m map[string]any, kv ...any) map[string]any {
	c := make(map[string]any, len(m)+len(kv)/2)
	for k, v := range m {
		c[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		c[kv[i].(string)] = kv[i+1]
	}
	return c
}

// sign makes a token with any method and key, using jwt directly so tests
// do not depend on Mint.
func sign(t testing.TB, m jwt.SigningMethod, key any, header map[string]any, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, claims)
	for k, v := range header {
		tok.Header[k] = v
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// good returns valid claims at now, with overrides (a nil value deletes).
func good(kv ...any) jwt.MapClaims {
	c := jwt.MapClaims{
		"sub":     "alice",
		"iat":     now.Unix(),
		"exp":     now.Add(time.Hour).Unix(),
		"symbols": []string{"AAPL", "BTC-*"},
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(c, kv[i].(string))
		} else {
			c[kv[i].(string)] = kv[i+1]
		}
	}
	return c
}
