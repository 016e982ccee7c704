// Package auth verifies bearer tokens (JWTs) and turns them into a Grant: who
// the client is, which symbols it may subscribe to, and when that ends.
//
// # Usage
//
//	v, err := auth.New(auth.Config{
//		PublicKeyFile: "/etc/tickerd/issuer.pem", // or HMACSecretFile, or JWKSFile
//		Issuer:        "https://login.example.com/",
//		Audience:      "tickerd",
//	})
//	if err != nil {
//		return err // missing file, bad PEM, wrong key type, ...
//	}
//	g, err := v.Verify(auth.TokenFromRequest(r)) // or the token of an {"op":"auth"} message
//	if err != nil {
//		// err is an *auth.Error; auth.KindOf(err) says why (missing, expired, ...).
//	}
//	if !g.Allows("AAPL") {
//		// reply forbidden_symbol
//	}
//	// End the session (or ask for a fresh token) at g.Expiry.
//
// A Verifier and a Grant are safe for concurrent use. Reload re-reads the key
// files and swaps the keys in atomically; it is meant for a SIGHUP handler.
//
// # Keys and algorithms
//
// The key decides the algorithm; the token's "alg" header only has to agree:
//
//	HMACSecretFile  HS256  raw secret bytes, at least 32; trailing newlines trimmed
//	PublicKeyFile   RS256  RSA public key, at least 2048 bits
//	                ES256  ECDSA public key on P-256
//	JWKSFile        each key by its kty: RSA -> RS256, EC P-256 -> ES256, oct -> HS256
//
// Tokens with "alg":"none", or any algorithm the configured keys cannot
// produce, are rejected before the signature is looked at; so an HS256 token
// "signed" with an RSA public key as the HMAC secret fails. The "jku", "jwk",
// "x5u" and "x5c" headers are ignored: keys come only from local files. A
// token with a "crit" header is rejected, as RFC 7515 requires of a verifier
// that understands no extensions. Tokens longer than MaxTokenSize are
// rejected unparsed.
//
// PublicKeyFile holds one PEM block: "PUBLIC KEY" (PKIX), "RSA PUBLIC KEY"
// (PKCS #1) or "CERTIFICATE" (only its public key is used; the certificate
// is not validated). Private keys are refused: the server only verifies.
//
// A JWKS file (RFC 7517) is {"keys":[...]}. A token's "kid" header selects
// the key (with the same alg); a token without "kid" is accepted only if
// exactly one key fits its alg. Keys whose kty, crv or alg this package
// does not support, or whose "use"/"key_ops" exclude verifying signatures,
// are skipped (and logged to Config.Logger) as RFC 7517 advises, so a set
// copied from an identity provider loads. A supported key with bad fields,
// or an RSA/EC key that carries private members ("d"), is an error.
//
// # Claims
//
// Registered claims: "exp" is required unless Config.AllowNoExpiry; "nbf" and
// "iat" are checked when present; "iss" and "aud" are checked when the
// Config asks for them. Leeway (default 30s) applies to exp, nbf and iat.
//
// The entitlement claim "symbols" lists the symbols the token grants, each an
// exact name or a glob pattern in which '*' matches any run of characters
// (including none). '*' is the only wildcard: '?', '[' and '\' are ordinary
// characters. Matching is case-sensitive. An example payload:
//
//	{
//	  "iss": "https://login.example.com/",
//	  "aud": "tickerd",
//	  "sub": "alice",
//	  "iat": 1735689600,
//	  "exp": 1735693200,
//	  "symbols": ["AAPL", "MSFT", "BTC-*", "EUR/*", "*-USD"]
//	}
//
// Here alice may subscribe to AAPL, MSFT, BTC-USD, EUR/JPY, ETH-USD, but not
// aapl or GBP/USD. ["*"] grants every symbol. An empty list grants none. A
// missing (or null) claim grants none, unless Config.DefaultAllowAll, in which
// case it grants every symbol. A claim that is not an array of non-empty
// strings makes the token invalid (KindClaims).
//
// # Getting the token to the server
//
// TokenFromRequest reads "Authorization: Bearer <token>", then the "token"
// query parameter. Browsers cannot set headers on a WebSocket handshake, but
// a token in the URL ends up in proxy and access logs and browser history;
// prefer sending it as the first message, {"op":"auth","token":"..."}, and
// keep query tokens short-lived.
//
// Mint signs HS256 tokens for tests and development.
package auth
