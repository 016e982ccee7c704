package auth

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

type verifyCase struct {
	name  string
	token string
	kind  Kind   // 0: valid
	msg   string // substring of the error, if kind != 0
	sub   string // if valid
}

func runVerify(t *testing.T, v *Verifier, cases []verifyCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g, err := v.Verify(tc.token)
			if tc.kind == 0 {
				if err != nil {
					t.Fatalf("Verify(%.40q) = %v, want a grant", tc.token, err)
				}
				if g.Subject != tc.sub {
					t.Errorf("Verify(%.40q).Subject = %q, want %q", tc.token, g.Subject, tc.sub)
				}
				return
			}
			if err == nil {
				t.Fatalf("Verify(%.40q) = grant %+v, want %v error", tc.token, g, tc.kind)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Verify(%.40q) error %T %v, want *Error", tc.token, err, err)
			}
			if e.Kind != tc.kind || KindOf(err) != tc.kind {
				t.Errorf("Verify(%.40q) kind = %v (%v), want %v", tc.token, e.Kind, err, tc.kind)
			}
			if !strings.HasPrefix(err.Error(), "auth: ") || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("Verify(%.40q) error = %q, want prefix \"auth: \" and %q", tc.token, err, tc.msg)
			}
		})
	}
}

func TestVerifyHS256(t *testing.T) {
	dir := t.TempDir()
	v, err := New(Config{HMACSecretFile: writeFile(t, dir, "s", append(secretA, '\n')), Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	k := testKeys()
	hs := func(c jwt.MapClaims) string { return sign(t, jwt.SigningMethodHS256, secretA, nil, c) }
	valid := hs(good())
	parts := strings.Split(valid, ".")
	tampered := parts[0] + "." + b64u([]byte(`{"sub":"mallory","exp":1999999999,"symbols":["*"]}`)) + "." + parts[2]
	noneTok := sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, nil, good("symbols", []string{"*"}))
	// "alg":"none" with the real HS256 signature kept.
	noneWithSig := b64u([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "." + parts[2]
	unknownAlg := b64u([]byte(`{"alg":"XYZ"}`)) + "." + parts[1] + "." + parts[2]
	noAlg := b64u([]byte(`{"typ":"JWT"}`)) + "." + parts[1] + "." + parts[2]

	runVerify(t, v, []verifyCase{
		{name: "valid", token: valid, sub: "alice"},
		{name: "missing", token: "", kind: KindMissing, msg: "no token"},
		{name: "one segment", token: "abc", kind: KindMalformed, msg: "malformed"},
		{name: "four segments", token: valid + ".x", kind: KindMalformed, msg: "malformed"},
		{name: "bad base64 header", token: "!!!." + parts[1] + "." + parts[2], kind: KindMalformed, msg: "base64"},
		{name: "header not json", token: b64u([]byte("nope")) + "." + parts[1] + "." + parts[2], kind: KindMalformed, msg: "JSON"},
		{name: "payload not json", token: parts[0] + "." + b64u([]byte("[1")) + "." + parts[2], kind: KindMalformed, msg: "JSON"},
		{name: "exp not a number", token: hs(good("exp", "tomorrow")), kind: KindMalformed, msg: "malformed"},
		{name: "too long", token: strings.Repeat("a", MaxTokenSize+1), kind: KindMalformed, msg: "limit"},
		{name: "wrong secret", token: sign(t, jwt.SigningMethodHS256, secretB, nil, good()), kind: KindSignature, msg: "invalid signature"},
		{name: "tampered payload", token: tampered, kind: KindSignature, msg: "invalid signature"},
		{name: "bad base64 signature", token: parts[0] + "." + parts[1] + ".!!", kind: KindMalformed, msg: "signature"},
		{name: "alg none", token: noneTok, kind: KindSignature, msg: `"none" not allowed`},
		{name: "alg none keeping signature", token: noneWithSig, kind: KindSignature, msg: `"none" not allowed`},
		{name: "alg unknown", token: unknownAlg, kind: KindSignature, msg: `"XYZ" not allowed`},
		{name: "alg missing", token: noAlg, kind: KindSignature, msg: `"" not allowed`},
		{name: "HS512 same secret", token: sign(t, jwt.SigningMethodHS512, secretA, nil, good()), kind: KindSignature, msg: `"HS512" not allowed, want HS256`},
		{name: "RS256 token", token: sign(t, jwt.SigningMethodRS256, k.rsa1, nil, good()), kind: KindSignature, msg: `"RS256" not allowed`},
		{name: "expired", token: hs(good("exp", now.Add(-31*time.Second).Unix())), kind: KindExpired, msg: "token expired at 2025-06-01T11:59:29Z"},
		{name: "expired within leeway", token: hs(good("exp", now.Add(-29*time.Second).Unix())), sub: "alice"},
		{name: "not yet valid", token: hs(good("nbf", now.Add(31*time.Second).Unix())), kind: KindNotYetValid, msg: "not valid before 2025-06-01T12:00:31Z"},
		{name: "nbf within leeway", token: hs(good("nbf", now.Add(29*time.Second).Unix())), sub: "alice"},
		{name: "issued in the future", token: hs(good("iat", now.Add(time.Minute).Unix())), kind: KindNotYetValid, msg: "issued in the future"},
		{name: "no exp", token: hs(good("exp", nil)), kind: KindClaims, msg: `no "exp"`},
		{name: "symbols a string", token: hs(good("symbols", "AAPL")), kind: KindClaims, msg: `"symbols" claim must be an array of strings`},
		{name: "symbols numbers", token: hs(good("symbols", []int{1})), kind: KindClaims, msg: "array of strings"},
		{name: "symbols empty pattern", token: hs(good("symbols", []string{"AAPL", ""})), kind: KindClaims, msg: "symbols[1]: empty symbol pattern"},
		{name: "crit header", token: sign(t, jwt.SigningMethodHS256, secretA, map[string]any{"crit": []string{"exp"}}, good()), kind: KindMalformed, msg: "crit"},
		{name: "no sub", token: hs(good("sub", nil)), sub: ""},
	})
}

func TestVerifyIssuerAudience(t *testing.T) {
	dir := t.TempDir()
	v, err := New(Config{
		HMACSecretFile: writeFile(t, dir, "s", secretA),
		Issuer:         "https://login.example.com/",
		Audience:       "tickerd",
		Now:            fixedNow,
	})
	if err != nil {
		t.Fatal(err)
	}
	hs := func(c jwt.MapClaims) string { return sign(t, jwt.SigningMethodHS256, secretA, nil, c) }
	ok := good("iss", "https://login.example.com/", "aud", "tickerd")
	runVerify(t, v, []verifyCase{
		{name: "valid", token: hs(ok), sub: "alice"},
		{name: "aud array", token: hs(with(ok, "aud", []string{"other", "tickerd"})), sub: "alice"},
		{name: "wrong issuer", token: hs(with(ok, "iss", "https://evil.example.com/")), kind: KindClaims, msg: `issuer "https://evil.example.com/" not accepted`},
		{name: "no issuer", token: hs(with(ok, "iss", "")), kind: KindClaims, msg: `no "iss" claim`},
		{name: "issuer case", token: hs(with(ok, "iss", "HTTPS://login.example.com/")), kind: KindClaims, msg: "issuer"},
		{name: "wrong audience", token: hs(with(ok, "aud", []string{"billing"})), kind: KindClaims, msg: `audience ["billing"] does not include "tickerd"`},
		{name: "no audience", token: hs(good("iss", "https://login.example.com/")), kind: KindClaims, msg: `no "aud" claim`},
		{name: "wrong issuer beats expired", token: hs(with(ok, "iss", "x", "exp", now.Add(-time.Hour).Unix())), kind: KindClaims, msg: "issuer"},
		{name: "issuer and audience both wrong", token: hs(with(ok, "iss", "x", "aud", "y")), kind: KindClaims, msg: `issuer "x" not accepted, want "https://login.example.com/"; audience ["y"] does not include`},
	})
}

// TestVerifyPublicKey covers RS256 and ES256 from PEM files, including the
// classic confusion: an HS256 token whose HMAC key is the public key file.
func TestVerifyPublicKey(t *testing.T) {
	k := testKeys()
	dir := t.TempDir()
	rsaPEM := pkixPEM(t, &k.rsa1.PublicKey)
	ecPEM := pkixPEM(t, &k.ec1.PublicKey)
	rsaPKCS1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&k.rsa1.PublicKey)})
	rsaDER, _ := pem.Decode(rsaPEM)

	for _, src := range []struct {
		name string
		file []byte
		alg  jwt.SigningMethod
		priv any
	}{
		{"rsa pkix", rsaPEM, jwt.SigningMethodRS256, k.rsa1},
		{"rsa pkcs1", rsaPKCS1, jwt.SigningMethodRS256, k.rsa1},
		{"rsa certificate", certPEM(t, k.rsa1), jwt.SigningMethodRS256, k.rsa1},
		{"ec pkix", ecPEM, jwt.SigningMethodES256, k.ec1},
	} {
		t.Run(src.name, func(t *testing.T) {
			path := writeFile(t, dir, strings.ReplaceAll(src.name, " ", "-")+".pem", src.file)
			v, err := New(Config{PublicKeyFile: path, Now: fixedNow})
			if err != nil {
				t.Fatal(err)
			}
			other := map[string]any{"RS256": k.rsa2, "ES256": k.ec2}[src.alg.Alg()]
			runVerify(t, v, []verifyCase{
				{name: "valid", token: sign(t, src.alg, src.priv, nil, good()), sub: "alice"},
				{name: "valid with kid", token: sign(t, src.alg, src.priv, map[string]any{"kid": "whatever"}, good()), sub: "alice"},
				{name: "other key", token: sign(t, src.alg, other, nil, good()), kind: KindSignature, msg: "invalid signature"},
				{name: "expired", token: sign(t, src.alg, src.priv, nil, good("exp", now.Add(-time.Hour).Unix())), kind: KindExpired},
				{name: "alg confusion pem", token: sign(t, jwt.SigningMethodHS256, src.file, nil, good("symbols", []string{"*"})), kind: KindSignature, msg: `"HS256" not allowed`},
				{name: "alg confusion der", token: sign(t, jwt.SigningMethodHS256, rsaDER.Bytes, nil, good()), kind: KindSignature, msg: `"HS256" not allowed`},
				{name: "alg none", token: sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, nil, good()), kind: KindSignature, msg: `"none" not allowed`},
				{name: "HS256", token: sign(t, jwt.SigningMethodHS256, secretA, nil, good()), kind: KindSignature, msg: "not allowed"},
			})
		})
	}

	t.Run("rs256 rejects other rsa algs", func(t *testing.T) {
		v, err := New(Config{PublicKeyFile: writeFile(t, dir, "r.pem", rsaPEM), Now: fixedNow})
		if err != nil {
			t.Fatal(err)
		}
		runVerify(t, v, []verifyCase{
			{name: "PS256", token: sign(t, jwt.SigningMethodPS256, k.rsa1, nil, good()), kind: KindSignature, msg: `"PS256" not allowed, want RS256`},
			{name: "RS512", token: sign(t, jwt.SigningMethodRS512, k.rsa1, nil, good()), kind: KindSignature, msg: `"RS512" not allowed`},
			{name: "ES256", token: sign(t, jwt.SigningMethodES256, k.ec1, nil, good()), kind: KindSignature, msg: `"ES256" not allowed`},
		})
	})
}

func TestVerifyGrant(t *testing.T) {
	dir := t.TempDir()
	secret := writeFile(t, dir, "s", secretA)
	hs := func(c jwt.MapClaims) string { return sign(t, jwt.SigningMethodHS256, secretA, nil, c) }
	tests := []struct {
		name    string
		cfg     Config
		claims  jwt.MapClaims
		symbols []string
		expiry  time.Time
		allow   []string
		deny    []string
	}{
		{
			name: "patterns", claims: good("symbols", []string{"AAPL", "BTC-*", "EUR/*"}),
			symbols: []string{"AAPL", "BTC-*", "EUR/*"}, expiry: now.Add(time.Hour + DefaultLeeway),
			allow: []string{"AAPL", "BTC-USD", "EUR/JPY"}, deny: []string{"MSFT", "aapl", "ETH-USD", "GBP/USD", ""},
		},
		{
			name: "missing claim denies", claims: good("symbols", nil),
			symbols: nil, expiry: now.Add(time.Hour + DefaultLeeway), deny: []string{"AAPL", "*"},
		},
		{
			name: "null claim denies", claims: good("symbols", []string(nil)),
			symbols: nil, expiry: now.Add(time.Hour + DefaultLeeway), deny: []string{"AAPL"},
		},
		{
			name: "empty claim denies even with DefaultAllowAll", cfg: Config{DefaultAllowAll: true}, claims: good("symbols", []string{}),
			symbols: []string{}, expiry: now.Add(time.Hour + DefaultLeeway), deny: []string{"AAPL"},
		},
		{
			name: "missing claim with DefaultAllowAll", cfg: Config{DefaultAllowAll: true}, claims: good("symbols", nil),
			symbols: []string{"*"}, expiry: now.Add(time.Hour + DefaultLeeway), allow: []string{"AAPL", "EUR/USD"},
		},
		{
			name: "no exp allowed", cfg: Config{AllowNoExpiry: true}, claims: good("exp", nil, "symbols", []string{"*"}),
			symbols: []string{"*"}, allow: []string{"AAPL"},
		},
		{
			name: "custom leeway", cfg: Config{Leeway: 5 * time.Second}, claims: good(),
			symbols: []string{"AAPL", "BTC-*"}, expiry: now.Add(time.Hour + 5*time.Second), allow: []string{"BTC-EUR"},
		},
		{
			name: "no leeway", cfg: Config{Leeway: -1}, claims: good(),
			symbols: []string{"AAPL", "BTC-*"}, expiry: now.Add(time.Hour),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.HMACSecretFile, cfg.Now = secret, fixedNow
			v, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			g, err := v.Verify(hs(tc.claims))
			if err != nil {
				t.Fatalf("Verify = %v", err)
			}
			if !slices.Equal(g.Symbols, tc.symbols) || (g.Symbols == nil) != (tc.symbols == nil) {
				t.Errorf("Symbols = %#v, want %#v", g.Symbols, tc.symbols)
			}
			if !g.Expiry.Equal(tc.expiry) {
				t.Errorf("Expiry = %v, want %v", g.Expiry, tc.expiry)
			}
			for _, s := range tc.allow {
				if !g.Allows(s) {
					t.Errorf("Allows(%q) = false, want true", s)
				}
			}
			for _, s := range tc.deny {
				if g.Allows(s) {
					t.Errorf("Allows(%q) = true, want false", s)
				}
			}
		})
	}
}

// TestVerifyNoLeeway checks the exp boundary exactly: rejected at exp.
func TestVerifyNoLeeway(t *testing.T) {
	clock := now
	v, err := New(Config{HMACSecretFile: writeFile(t, t.TempDir(), "s", secretA), Leeway: -1, Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	tok := sign(t, jwt.SigningMethodHS256, secretA, nil, good("exp", now.Add(time.Minute).Unix()))
	for _, tc := range []struct {
		at   time.Duration
		kind Kind
	}{{0, 0}, {time.Minute - time.Second, 0}, {time.Minute, KindExpired}, {time.Hour, KindExpired}} {
		clock = now.Add(tc.at)
		g, err := v.Verify(tok)
		if got := KindOf(err); got != tc.kind {
			t.Errorf("at +%v: Verify kind = %v (%v), want %v", tc.at, got, err, tc.kind)
		}
		if err == nil && !clock.Before(g.Expiry) {
			t.Errorf("at +%v: accepted grant expired at %v", tc.at, g.Expiry)
		}
	}
}

func TestStrictBase64(t *testing.T) {
	v, err := New(Config{HMACSecretFile: writeFile(t, t.TempDir(), "s", secretA), Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	tok := sign(t, jwt.SigningMethodHS256, secretA, nil, good())
	parts := strings.Split(tok, ".")
	// Re-encode the signature with padding: the same bytes, another string.
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	padded := parts[0] + "." + parts[1] + "." + base64.URLEncoding.EncodeToString(sig)
	if padded == tok {
		t.Skip("signature needs no padding")
	}
	if _, err := v.Verify(padded); KindOf(err) != KindMalformed {
		t.Errorf("Verify(padded) = %v, want %v", err, KindMalformed)
	}
}
