package tickerd

import (
	"net/url"
	"strings"
)

// redacted stands in for a credential in logs.
const redacted = "xxxxx"

// redactURL returns u with the credentials of its user info replaced: a
// password ("nats://alice:xxxxx@host"), or a user name alone, which NATS
// reads as a token ("nats://xxxxx@host"). A string that does not parse as
// a URL is replaced whole if it could hold user info, since it cannot be
// told apart.
func redactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		if strings.Contains(u, "@") {
			return redacted
		}
		return u
	}
	if p.User == nil {
		return u
	}
	if _, hasPassword := p.User.Password(); hasPassword {
		p.User = url.UserPassword(p.User.Username(), redacted)
	} else {
		p.User = url.User(redacted)
	}
	return p.String()
}

// redactURLs redacts each URL.
func redactURLs(urls []string) []string {
	out := make([]string, len(urls))
	for i, u := range urls {
		out[i] = redactURL(u)
	}
	return out
}
