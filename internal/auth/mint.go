package auth

import (
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Claims is a token payload for MintClaims. Zero fields are left out.
type Claims struct {
	Issuer    string
	Subject   string
	Audience  []string
	Symbols   []string // nil leaves the claim out (no symbols, by default)
	IssuedAt  time.Time
	NotBefore time.Time
	Expiry    time.Time
}

// mintClaims fixes the JSON member order, so a token is a pure function of
// its inputs.
type mintClaims struct {
	Issuer    string           `json:"iss,omitempty"`
	Subject   string           `json:"sub,omitempty"`
	Audience  jwt.ClaimStrings `json:"aud,omitempty"`
	ExpiresAt *jwt.NumericDate `json:"exp,omitempty"`
	NotBefore *jwt.NumericDate `json:"nbf,omitempty"`
	IssuedAt  *jwt.NumericDate `json:"iat,omitempty"`
	Symbols   *[]string        `json:"symbols,omitempty"` // nil: absent; empty: []
}

func (c *mintClaims) GetExpirationTime() (*jwt.NumericDate, error) { return c.ExpiresAt, nil }
func (c *mintClaims) GetNotBefore() (*jwt.NumericDate, error)      { return c.NotBefore, nil }
func (c *mintClaims) GetIssuedAt() (*jwt.NumericDate, error)       { return c.IssuedAt, nil }
func (c *mintClaims) GetAudience() (jwt.ClaimStrings, error)       { return c.Audience, nil }
func (c *mintClaims) GetIssuer() (string, error)                   { return c.Issuer, nil }
func (c *mintClaims) GetSubject() (string, error)                  { return c.Subject, nil }

// Mint returns an HS256 token for sub granting symbols, issued at now and
// expiring ttl later (ttl 0: no "exp"). It is for tests and development;
// production tokens come from an identity provider.
func Mint(secret []byte, sub string, symbols []string, ttl time.Duration, now time.Time) (string, error) {
	if ttl < 0 {
		return "", errors.New("auth: mint: negative ttl")
	}
	c := Claims{Subject: sub, Symbols: symbols, IssuedAt: now}
	if ttl > 0 {
		c.Expiry = now.Add(ttl)
	}
	return MintClaims(secret, c)
}

// MintClaims returns an HS256 token carrying c. It refuses secrets shorter
// than 32 bytes and empty symbol patterns, which Verify would reject.
func MintClaims(secret []byte, c Claims) (string, error) {
	if err := checkSecret(secret); err != nil {
		return "", fmt.Errorf("auth: mint: secret: %w", err)
	}
	if _, err := newGrant(c.Subject, c.Symbols, time.Time{}); err != nil {
		return "", fmt.Errorf("auth: mint: %w", err)
	}
	mc := &mintClaims{
		Issuer:    c.Issuer,
		Subject:   c.Subject,
		Audience:  c.Audience,
		ExpiresAt: date(c.Expiry),
		NotBefore: date(c.NotBefore),
		IssuedAt:  date(c.IssuedAt),
	}
	if c.Symbols != nil {
		mc.Symbols = &c.Symbols
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, mc).SignedString(secret)
	if err != nil {
		return "", fmt.Errorf("auth: mint: %w", err)
	}
	return s, nil
}

func date(t time.Time) *jwt.NumericDate {
	if t.IsZero() {
		return nil
	}
	return jwt.NewNumericDate(t)
}
