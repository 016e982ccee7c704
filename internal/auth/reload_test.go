package auth

import (
	"os"
	"sync"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

func TestReloadHMAC(t *testing.T) {
	path := writeFile(t, t.TempDir(), "secret", secretA)
	v, err := New(Config{HMACSecretFile: path, Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	tokA := sign(t, jwt.SigningMethodHS256, secretA, nil, good())
	tokB := sign(t, jwt.SigningMethodHS256, secretB, nil, good())
	check := func(step string, wantA, wantB Kind) {
		t.Helper()
		if _, err := v.Verify(tokA); KindOf(err) != wantA {
			t.Errorf("%s: Verify(tokA) = %v, want kind %v", step, err, wantA)
		}
		if _, err := v.Verify(tokB); KindOf(err) != wantB {
			t.Errorf("%s: Verify(tokB) = %v, want kind %v", step, err, wantB)
		}
	}
	check("start", 0, KindSignature)

	writeFile(t, "", path, secretB)
	check("file changed, no reload", 0, KindSignature)
	if err := v.Reload(); err != nil {
		t.Fatal(err)
	}
	check("reloaded", KindSignature, 0)

	writeFile(t, "", path, []byte("short"))
	if err := v.Reload(); err == nil {
		t.Error("Reload with a short secret = nil, want error")
	}
	check("failed reload keeps old key", KindSignature, 0)

	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := v.Reload(); err == nil {
		t.Error("Reload of a removed file = nil, want error")
	}
	check("failed reload keeps old key", KindSignature, 0)
}

// TestReloadJWKSChangesAlgs swaps an RSA-only set for an EC-only one: the
// allowed algorithms must follow the keys.
func TestReloadJWKSChangesAlgs(t *testing.T) {
	k := testKeys()
	path := writeFile(t, t.TempDir(), "jwks.json", jwksJSON(t, jwkRSA("a", &k.rsa1.PublicKey)))
	v, err := New(Config{JWKSFile: path, Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	rs := sign(t, jwt.SigningMethodRS256, k.rsa1, map[string]any{"kid": "a"}, good())
	es := sign(t, jwt.SigningMethodES256, k.ec1, map[string]any{"kid": "b"}, good())
	if _, err := v.Verify(rs); err != nil {
		t.Errorf("before: Verify(rs) = %v", err)
	}
	if _, err := v.Verify(es); KindOf(err) != KindSignature {
		t.Errorf("before: Verify(es) = %v, want %v", err, KindSignature)
	}
	writeFile(t, "", path, jwksJSON(t, jwkEC(t, "b", &k.ec1.PublicKey)))
	if err := v.Reload(); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(rs); KindOf(err) != KindSignature {
		t.Errorf("after: Verify(rs) = %v, want %v", err, KindSignature)
	}
	if _, err := v.Verify(es); err != nil {
		t.Errorf("after: Verify(es) = %v", err)
	}
}

// TestReloadConcurrent runs Verify while keys rotate; with -race it checks
// the swap is data-race free, and every result must be one of the two keys'.
func TestReloadConcurrent(t *testing.T) {
	path := writeFile(t, t.TempDir(), "secret", secretA)
	v, err := New(Config{HMACSecretFile: path, Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	tokA := sign(t, jwt.SigningMethodHS256, secretA, nil, good())
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			for range 300 {
				if _, err := v.Verify(tokA); err != nil && KindOf(err) != KindSignature {
					errs <- err
					return
				}
			}
		})
	}
	for i := range 50 {
		s := secretA
		if i%2 == 0 {
			s = secretB
		}
		writeFile(t, "", path, s)
		if err := v.Reload(); err != nil {
			t.Error(err)
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Verify during reload = %v, want nil or %v", err, KindSignature)
	}
}
