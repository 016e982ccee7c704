package auth

import (
	"bytes"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

func TestVerifyJWKS(t *testing.T) {
	k := testKeys()
	dir := t.TempDir()
	set := jwksJSON(t,
		with(jwkRSA("rsa-1", &k.rsa1.PublicKey), "alg", "RS256", "use", "sig"),
		jwkRSA("rsa-2", &k.rsa2.PublicKey), // no alg: RS256 by kty
		with(jwkEC(t, "ec-1", &k.ec1.PublicKey), "alg", "ES256"),
		with(jwkOct("hs-1", secretA), "key_ops", []string{"sign", "verify"}),
		jwkEC(t, "rsa-1", &k.ec2.PublicKey), // same kid, other alg: allowed
	)
	v, err := New(Config{JWKSFile: writeFile(t, dir, "jwks.json", set), Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	want := []KeyInfo{{"rsa-1", "RS256"}, {"rsa-2", "RS256"}, {"ec-1", "ES256"}, {"hs-1", "HS256"}, {"rsa-1", "ES256"}}
	if got := v.Keys(); !slices.Equal(got, want) {
		t.Errorf("Keys() = %v, want %v", got, want)
	}
	kid := func(id any) map[string]any { return map[string]any{"kid": id} }
	rsaPEM := pkixPEM(t, &k.rsa1.PublicKey)
	runVerify(t, v, []verifyCase{
		{name: "rsa-1", token: sign(t, jwt.SigningMethodRS256, k.rsa1, kid("rsa-1"), good()), sub: "alice"},
		{name: "rsa-2", token: sign(t, jwt.SigningMethodRS256, k.rsa2, kid("rsa-2"), good("sub", "bob")), sub: "bob"},
		{name: "ec-1", token: sign(t, jwt.SigningMethodES256, k.ec1, kid("ec-1"), good()), sub: "alice"},
		{name: "hs-1", token: sign(t, jwt.SigningMethodHS256, secretA, kid("hs-1"), good()), sub: "alice"},
		{name: "kid shared by RSA and EC keys picks by alg", token: sign(t, jwt.SigningMethodES256, k.ec2, kid("rsa-1"), good()), sub: "alice"},
		{name: "kid names another key", token: sign(t, jwt.SigningMethodRS256, k.rsa2, kid("rsa-1"), good()), kind: KindSignature, msg: "invalid signature"},
		{name: "unknown kid", token: sign(t, jwt.SigningMethodRS256, k.rsa1, kid("rsa-9"), good()), kind: KindSignature, msg: `unknown key id "rsa-9" for RS256`},
		{name: "kid case matters", token: sign(t, jwt.SigningMethodRS256, k.rsa1, kid("RSA-1"), good()), kind: KindSignature, msg: "unknown key id"},
		{name: "kid not a string", token: sign(t, jwt.SigningMethodRS256, k.rsa1, kid(7), good()), kind: KindSignature, msg: `"kid" header is not a string`},
		{name: "no kid, one HS256 key", token: sign(t, jwt.SigningMethodHS256, secretA, nil, good()), sub: "alice"},
		{name: "no kid, two RSA keys", token: sign(t, jwt.SigningMethodRS256, k.rsa1, nil, good()), kind: KindSignature, msg: `no "kid" and 2 keys fit RS256`},
		{name: "alg confusion with rsa kid", token: sign(t, jwt.SigningMethodHS256, rsaPEM, kid("rsa-1"), good()), kind: KindSignature, msg: `unknown key id "rsa-1" for HS256`},
		{name: "alg confusion with hs kid", token: sign(t, jwt.SigningMethodHS256, rsaPEM, kid("hs-1"), good()), kind: KindSignature, msg: "invalid signature"},
		{name: "alg none", token: sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, kid("hs-1"), good()), kind: KindSignature, msg: `"none" not allowed, want ES256 or HS256 or RS256`},
		{name: "PS256 with rsa kid", token: sign(t, jwt.SigningMethodPS256, k.rsa1, kid("rsa-1"), good()), kind: KindSignature, msg: `"PS256" not allowed`},
		{name: "expired", token: sign(t, jwt.SigningMethodES256, k.ec1, kid("ec-1"), good("exp", now.Unix()-3600)), kind: KindExpired},
	})
}

func TestJWKSSkips(t *testing.T) {
	k := testKeys()
	good := jwkRSA("ok", &k.rsa1.PublicKey)
	set := jwksJSON(t,
		with(jwkRSA("enc", &k.rsa2.PublicKey), "use", "enc"),
		with(jwkRSA("ops", &k.rsa2.PublicKey), "key_ops", []string{"encrypt"}),
		with(jwkRSA("rs384", &k.rsa2.PublicKey), "alg", "RS384"),
		with(jwkRSA("ps256", &k.rsa2.PublicKey), "alg", "PS256"),
		jwkEC(t, "p384", &k.ec384.PublicKey),
		map[string]any{"kty": "OKP", "crv": "Ed25519", "kid": "ed", "x": b64u(k.ed)},
		good,
	)
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	v, err := New(Config{JWKSFile: writeFile(t, t.TempDir(), "jwks.json", set), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := v.Keys(), []KeyInfo{{"ok", "RS256"}}; !slices.Equal(got, want) {
		t.Errorf("Keys() = %v, want %v", got, want)
	}
	for _, kid := range []string{"enc", "ops", "rs384", "ps256", "p384", "ed"} {
		if !strings.Contains(logs.String(), "kid="+kid+" ") {
			t.Errorf("log lacks a skip of kid %s:\n%s", kid, logs.String())
		}
	}
	if n := strings.Count(logs.String(), "\n"); n != 6 {
		t.Errorf("log has %d lines, want 6:\n%s", n, logs.String())
	}
}

func TestJWKSErrors(t *testing.T) {
	k := testKeys()
	rsa1 := jwkRSA("r", &k.rsa1.PublicKey)
	ec1 := jwkEC(t, "e", &k.ec1.PublicKey)
	// A point off the curve: flip a bit of y.
	pt, _ := k.ec1.PublicKey.Bytes()
	y := append([]byte{}, pt[33:]...)
	y[31] ^= 1
	tests := []struct {
		name string
		file []byte
		msg  string
	}{
		{"not json", []byte("{"), "unexpected end of JSON"},
		{"no keys member", []byte(`{"kty":"RSA"}`), `no "keys" array`},
		{"empty keys", []byte(`{"keys":[]}`), "no usable keys (0 skipped)"},
		{"all skipped", jwksJSON(t, with(rsa1, "use", "enc")), "no usable keys (1 skipped)"},
		{"key not an object", []byte(`{"keys":[1]}`), "key 0: json"},
		{"rsa bad n", jwksJSON(t, with(rsa1, "n", "!!")), `key 0 (kid "r"): "n": illegal base64`},
		{"rsa missing e", jwksJSON(t, with(rsa1, "e", "")), `missing "e"`},
		{"rsa even e", jwksJSON(t, with(rsa1, "e", b64u([]byte{1, 0, 0}))), "not a valid RSA exponent"},
		{"rsa huge e", jwksJSON(t, with(rsa1, "e", b64u([]byte{1, 0, 0, 0, 1}))), `"e" is 5 bytes`},
		{"rsa small", jwksJSON(t, jwkRSA("s", &k.rsa1024.PublicKey)), "rsa key of 1024 bits"},
		{"rsa private", jwksJSON(t, with(rsa1, "d", "AQAB")), `holds a private key ("d")`},
		{"ec private", jwksJSON(t, with(ec1, "d", "AQAB")), `holds a private key ("d")`},
		{"ec short x", jwksJSON(t, with(ec1, "x", b64u([]byte{1, 2}))), "2 and 32 bytes"},
		{"ec off curve", jwksJSON(t, with(ec1, "y", b64u(y))), "ec point"},
		{"oct short", jwksJSON(t, jwkOct("h", []byte("short"))), `"k": 5 bytes, want at least 32`},
		{"oct missing k", jwksJSON(t, map[string]any{"kty": "oct", "kid": "h"}), `missing "k"`},
		{"alg does not fit kty", jwksJSON(t, with(jwkOct("h", secretA), "alg", "RS256")), "alg RS256 does not fit kty oct"},
		{"rsa key claims HS256", jwksJSON(t, with(rsa1, "alg", "HS256")), "alg HS256 does not fit kty RSA"},
		{"duplicate kid", jwksJSON(t, rsa1, jwkRSA("r", &k.rsa2.PublicKey)), `duplicate kid "r" for RS256`},
	}
	dir := t.TempDir()
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, dir, "jwks"+string(rune('a'+i))+".json", tc.file)
			v, err := New(Config{JWKSFile: path})
			if err == nil {
				t.Fatalf("New(%s) = %v, want error", tc.file, v.Keys())
			}
			if !strings.HasPrefix(err.Error(), "auth: jwks ") || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("New error = %q, want prefix \"auth: jwks \" and %q", err, tc.msg)
			}
		})
	}
}
