// Package selfsigned makes a self-signed certificate for loopback: for a
// server under test and the client that trusts it, and for the load
// tester's wss:// server. Hand-written: a few lines over crypto/x509 that
// no kept library wraps for this.
package selfsigned

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"time"
)

// Cert is a self-signed certificate for 127.0.0.1, ::1 and localhost, and
// its key.
//
//	c, err := selfsigned.New(nil)
//	srv := tickerd.Config{TLS: c.ServerTLS()}
//	d := &websocket.Dialer{TLSClientConfig: c.ClientTLS()}
type Cert struct {
	DER  []byte        // the certificate
	Key  crypto.Signer // its private key
	Leaf *x509.Certificate
}

// New makes a certificate for key (a fresh P-256 key if nil), valid from
// an hour ago for a day, for 127.0.0.1, ::1 and localhost.
func New(key crypto.Signer) (*Cert, error) {
	if key == nil {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		key = k
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:              []string{"localhost"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &Cert{DER: der, Key: key, Leaf: leaf}, nil
}

// PEM returns the certificate in PEM form.
func (c *Cert) PEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.DER})
}

// KeyPEM returns the private key in PEM form (PKCS #8), for a server that
// reads its key from a file (tickerd -tls-key).
func (c *Cert) KeyPEM() ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(c.Key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// ServerTLS returns a config that presents the certificate over HTTP/1.1.
func (c *Cert) ServerTLS() *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{c.DER}, PrivateKey: c.Key, Leaf: c.Leaf}},
		NextProtos:   []string{"http/1.1"},
	}
}

// ClientTLS returns a config that trusts only the certificate.
func (c *Cert) ClientTLS() *tls.Config {
	pool := x509.NewCertPool()
	pool.AddCert(c.Leaf)
	return &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
}
