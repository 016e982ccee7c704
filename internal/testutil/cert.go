package testutil

import (
	"crypto"

	"github.com/tickerd/tickerd/internal/selfsigned"
)

// Cert is a self-signed certificate for loopback and its key (see
// package selfsigned).
type Cert = selfsigned.Cert

// SelfSigned makes a certificate for key (a fresh P-256 key if nil), for a
// server under test and the client that trusts it:
//
//	c, err := testutil.SelfSigned(nil)
//	srv := tickerd.Config{TLS: c.ServerTLS()}
//	d := &websocket.Dialer{TLSClientConfig: c.ClientTLS()}
func SelfSigned(key crypto.Signer) (*Cert, error) { return selfsigned.New(key) }
