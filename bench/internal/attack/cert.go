package attack

import "github.com/tickerd/tickerd/internal/selfsigned"

// SelfSigned returns a new certificate for loopback and its private key,
// in PEM: what a tickerd started for a wss:// attack serves (-tls-cert,
// -tls-key). Clients of it skip verification (Target.TLS with
// InsecureSkipVerify): it is ours, on loopback.
func SelfSigned() (certPEM, keyPEM []byte, err error) {
	c, err := selfsigned.New(nil)
	if err != nil {
		return nil, nil, err
	}
	keyPEM, err = c.KeyPEM()
	return c.PEM(), keyPEM, err
}
