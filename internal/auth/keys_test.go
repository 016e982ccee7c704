package auth

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestNewErrors(t *testing.T) {
	k := testKeys()
	dir := t.TempDir()
	file := func(name string, data []byte) string { return writeFile(t, dir, name, data) }
	rsaPEM := pkixPEM(t, &k.rsa1.PublicKey)
	privDER, err := x509.MarshalPKCS8PrivateKey(k.rsa1)
	if err != nil {
		t.Fatal(err)
	}
	ecPrivDER, err := x509.MarshalECPrivateKey(k.ec1)
	if err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "does-not-exist")

	tests := []struct {
		name string
		cfg  Config
		msg  string
		is   error
	}{
		{name: "no key source", cfg: Config{}, msg: "set exactly one of HMACSecretFile, PublicKeyFile and JWKSFile (0 set)"},
		{name: "two key sources", cfg: Config{HMACSecretFile: "a", JWKSFile: "b"}, msg: "(2 set)"},
		{name: "secret missing", cfg: Config{HMACSecretFile: missing}, msg: "hmac secret", is: fs.ErrNotExist},
		{name: "secret short", cfg: Config{HMACSecretFile: file("short", []byte("hunter2\n"))}, msg: "7 bytes, want at least 32"},
		{name: "secret is a pem", cfg: Config{HMACSecretFile: file("pem-secret", rsaPEM)}, msg: "use PublicKeyFile"},
		{name: "secret too big", cfg: Config{HMACSecretFile: file("big", make([]byte, maxKeyFile+1))}, msg: "larger than"},
		{name: "public key missing", cfg: Config{PublicKeyFile: missing}, msg: "public key", is: fs.ErrNotExist},
		{name: "public key empty", cfg: Config{PublicKeyFile: file("empty.pem", nil)}, msg: "no \"PUBLIC KEY\""},
		{name: "public key garbage", cfg: Config{PublicKeyFile: file("junk.pem", []byte("hello"))}, msg: "no \"PUBLIC KEY\""},
		{name: "public key bad der", cfg: Config{PublicKeyFile: file("bad.pem", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte{1, 2, 3}}))}, msg: "PUBLIC KEY: asn1"},
		{name: "private key pkcs8", cfg: Config{PublicKeyFile: file("priv.pem", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER}))}, msg: "holds a PRIVATE KEY; give only the public key"},
		{name: "private key ec", cfg: Config{PublicKeyFile: file("ecpriv.pem", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecPrivDER}))}, msg: "EC PRIVATE KEY"},
		{name: "two public keys", cfg: Config{PublicKeyFile: file("two.pem", append(append([]byte{}, rsaPEM...), pkixPEM(t, &k.ec1.PublicKey)...))}, msg: "holds 2 keys"},
		{name: "rsa 1024", cfg: Config{PublicKeyFile: file("1024.pem", pkixPEM(t, &k.rsa1024.PublicKey))}, msg: "rsa key of 1024 bits, want at least 2048"},
		{name: "ec p384", cfg: Config{PublicKeyFile: file("p384.pem", pkixPEM(t, &k.ec384.PublicKey))}, msg: "ecdsa key on P-384, want P-256"},
		{name: "ed25519", cfg: Config{PublicKeyFile: file("ed.pem", pkixPEM(t, k.ed))}, msg: "ed25519 keys are not supported"},
		{name: "jwks missing", cfg: Config{JWKSFile: missing}, msg: "jwks", is: fs.ErrNotExist},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := New(tc.cfg)
			if err == nil {
				t.Fatalf("New(%+v) = %v, want error", tc.cfg, v)
			}
			if !strings.HasPrefix(err.Error(), "auth: ") || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("New error = %q, want prefix \"auth: \" and %q", err, tc.msg)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("New error = %v, want errors.Is %v", err, tc.is)
			}
		})
	}
}

func TestSecretFileTrim(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		file []byte
		want []byte
	}{
		{"raw", secretA, secretA},
		{"newline", append(append([]byte{}, secretA...), '\n'), secretA},
		{"crlf", append(append([]byte{}, secretA...), "\r\n\n"...), secretA},
		{"spaces kept", append(append([]byte{}, secretA...), ' '), append(append([]byte{}, secretA...), ' ')},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := loadSecretFile(writeFile(t, dir, tc.name, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if got := k.pub.([]byte); string(got) != string(tc.want) {
				t.Errorf("loadSecretFile = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestExampleFiles(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want []KeyInfo
	}{
		{Config{HMACSecretFile: "testdata/example.secret"}, []KeyInfo{{Alg: "HS256"}}},
		{Config{PublicKeyFile: "testdata/example-rs256.pem"}, []KeyInfo{{Alg: "RS256"}}},
		{Config{PublicKeyFile: "testdata/example-es256.pem"}, []KeyInfo{{Alg: "ES256"}}},
		{Config{JWKSFile: "testdata/example.jwks.json"}, []KeyInfo{{"rsa-2025", "RS256"}, {"ec-2025", "ES256"}, {"dev-hs256", "HS256"}}},
	} {
		v, err := New(tc.cfg)
		if err != nil {
			t.Errorf("New(%+v) = %v", tc.cfg, err)
			continue
		}
		if got := v.Keys(); !slices.Equal(got, tc.want) {
			t.Errorf("New(%+v).Keys() = %v, want %v", tc.cfg, got, tc.want)
		}
	}
}
