package auth_test

import (
	"fmt"
	"time"

	"github.com/tickerd/tickerd/internal/auth"
)

// Mint a development token for the secret in testdata/example.secret, then
// verify it. A fixed secret and time give the same token every run.
func ExampleMint() {
	secret := []byte("tickerd-example-secret-not-for-production")
	issued := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	tok, err := auth.Mint(secret, "alice", []string{"AAPL", "BTC-*"}, time.Hour, issued)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(tok)

	v, err := auth.New(auth.Config{
		HMACSecretFile: "testdata/example.secret",
		Now:            func() time.Time { return issued.Add(time.Minute) },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	g, err := v.Verify(tok)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(g.Subject, g.Expiry.Format(time.RFC3339), g.Allows("BTC-USD"), g.Allows("MSFT"))

	// Output:
	// eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6MTczNTY5MzIwMCwiaWF0IjoxNzM1Njg5NjAwLCJzeW1ib2xzIjpbIkFBUEwiLCJCVEMtKiJdfQ.R0dV1IJ1zzZ9KoZBqcynOhd4fQ7oNZIPzmTy7dUCuao
	// alice 2025-01-01T01:00:30Z true false
}

func ExampleVerifier_Verify() {
	v, err := auth.New(auth.Config{
		HMACSecretFile: "testdata/example.secret",
		Now:            func() time.Time { return time.Date(2025, 1, 1, 2, 0, 0, 0, time.UTC) },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	secret := []byte("tickerd-example-secret-not-for-production")
	tok, _ := auth.Mint(secret, "alice", []string{"AAPL"}, time.Hour, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	_, err = v.Verify(tok)
	fmt.Println(auth.KindOf(err))
	fmt.Println(err)
	_, err = v.Verify("")
	fmt.Println(auth.KindOf(err))

	// Output:
	// expired
	// auth: token expired at 2025-01-01T01:00:00Z
	// missing
}
