package app

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/tickerd/tickerd/hub"
	"github.com/tickerd/tickerd/internal/auth"
)

// authenticate adapts a Verifier to the hub.
func authenticate(v *auth.Verifier) func(token string) (*hub.Identity, error) {
	return func(token string) (*hub.Identity, error) {
		g, err := v.Verify(token)
		if err != nil {
			return nil, err
		}
		return &hub.Identity{Subject: g.Subject, Expiry: g.Expiry, Allows: g.Allows}, nil
	}
}

// originChecker returns the upgrade's Origin check, or nil for the hub's
// default (same host only). A request without an
// Origin header is not from a browser and passes: Origin protects
// browsers' users from other sites, not the server from programs.
func originChecker(allowed []string, authOn bool) (func(*http.Request) bool, error) {
	if len(allowed) == 0 {
		if authOn {
			return func(*http.Request) bool { return true }, nil
		}
		return nil, nil // the hub's default: same host
	}
	hosts := map[string]bool{}
	origins := map[string]bool{}
	for _, a := range allowed {
		a = strings.ToLower(strings.TrimSpace(a))
		switch {
		case a == "":
		case a == "*":
			return func(*http.Request) bool { return true }, nil
		case strings.Contains(a, "://"):
			u, err := url.Parse(a)
			if err != nil || u.Host == "" {
				return nil, fmt.Errorf("allowed origin %q: not an origin like https://example.com", a)
			}
			origins[u.Scheme+"://"+u.Host] = true
		default:
			if strings.ContainsAny(a, "/ ") {
				return nil, fmt.Errorf("allowed origin %q: not a host name", a)
			}
			hosts[a] = true
		}
	}
	return func(r *http.Request) bool {
		o := r.Header.Get("Origin")
		if o == "" {
			return true
		}
		u, err := url.Parse(strings.ToLower(o))
		if err != nil {
			return false
		}
		return origins[u.Scheme+"://"+u.Host] || hosts[u.Host] || hosts[u.Hostname()]
	}, nil
}
