package auth

import (
	"net/http"
	"strings"
)

// TokenFromRequest returns the bearer token of an HTTP request, or "" if it
// has none: first from "Authorization: Bearer <token>" (scheme matched
// case-insensitively), then from the "token" query parameter.
//
// The query parameter exists because a browser's WebSocket API cannot set
// headers. But URLs are written to proxy and access logs, Referer headers and
// browser history, so a token there leaks more easily than in a header.
// Prefer the first-message {"op":"auth","token":"..."}, and if the query
// must be used, mint short-lived tokens.
func TokenFromRequest(r *http.Request) string {
	for _, h := range r.Header.Values("Authorization") {
		scheme, tok, ok := strings.Cut(strings.TrimSpace(h), " ")
		if ok && strings.EqualFold(scheme, "Bearer") {
			if tok = strings.TrimSpace(tok); tok != "" {
				return tok
			}
		}
	}
	if r.URL == nil {
		return ""
	}
	return r.URL.Query().Get("token")
}
