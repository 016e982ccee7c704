package auth

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestMintRoundTrip(t *testing.T) {
	v, err := New(Config{
		HMACSecretFile: writeFile(t, t.TempDir(), "s", secretA),
		Issuer:         "dev",
		Audience:       "tickerd",
		Now:            fixedNow,
	})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := MintClaims(secretA, Claims{
		Issuer: "dev", Subject: "bob", Audience: []string{"tickerd"},
		Symbols:  []string{"EUR/*"},
		IssuedAt: now, NotBefore: now, Expiry: now.Add(time.Minute),
	})
	if err != nil {
		t.Fatal(err)
	}
	g, err := v.Verify(tok)
	if err != nil {
		t.Fatalf("Verify(MintClaims) = %v", err)
	}
	if g.Subject != "bob" || g.Issuer != "dev" || !slices.Equal(g.Symbols, []string{"EUR/*"}) || !g.Expiry.Equal(now.Add(time.Minute+DefaultLeeway)) {
		t.Errorf("grant = %+v", g)
	}

	// Mint without iss/aud fails this verifier's claim checks.
	tok, err = Mint(secretA, "bob", nil, time.Minute, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(tok); KindOf(err) != KindClaims {
		t.Errorf("Verify(Mint without iss) = %v, want %v", err, KindClaims)
	}
}

func TestMintSymbolsClaim(t *testing.T) {
	v, err := New(Config{HMACSecretFile: writeFile(t, t.TempDir(), "s", secretA), AllowNoExpiry: true, DefaultAllowAll: true, Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		symbols []string
		ttl     time.Duration
		want    []string
	}{
		{"nil omits the claim", nil, time.Minute, []string{"*"}},
		{"empty is kept", []string{}, time.Minute, []string{}},
		{"list", []string{"A", "B*"}, 0, []string{"A", "B*"}},
	} {
		tok, err := Mint(secretA, "u", tc.symbols, tc.ttl, now)
		if err != nil {
			t.Fatal(err)
		}
		g, err := v.Verify(tok)
		if err != nil {
			t.Fatalf("%s: Verify = %v", tc.name, err)
		}
		if !slices.Equal(g.Symbols, tc.want) {
			t.Errorf("%s: Symbols = %q, want %q", tc.name, g.Symbols, tc.want)
		}
		if (tc.ttl == 0) != g.Expiry.IsZero() {
			t.Errorf("%s: Expiry = %v with ttl %v", tc.name, g.Expiry, tc.ttl)
		}
	}
}

func TestMintErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		secret  []byte
		symbols []string
		ttl     time.Duration
		msg     string
	}{
		{"short secret", []byte("short"), nil, time.Minute, "auth: mint: secret: 5 bytes, want at least 32"},
		{"negative ttl", secretA, nil, -time.Minute, "auth: mint: negative ttl"},
		{"empty pattern", secretA, []string{""}, time.Minute, "auth: mint: symbols[0]: empty symbol pattern"},
	} {
		tok, err := Mint(tc.secret, "u", tc.symbols, tc.ttl, now)
		if err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: Mint = %q, %v; want error %q", tc.name, tok, err, tc.msg)
		}
	}
}
