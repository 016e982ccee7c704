package cluster

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// Connect dials NATS for a tickerd node. urls is one or more server URLs,
// comma-separated ("nats://10.0.0.1:4222,nats://10.0.0.2:4222"); the
// client also learns the rest of the cluster from the servers. The
// connection never gives up: if no server answers at first, Connect returns
// a connection that keeps trying, and a lost connection reconnects to any
// server of the cluster, forever, resubscribing on its own. name shows in
// the servers' connection lists. Close the connection when the node stops.
func Connect(urls, name string, log *slog.Logger) (*nats.Conn, error) {
	if strings.TrimSpace(urls) == "" {
		return nil, errors.New("cluster: no NATS URL")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	nc, err := nats.Connect(urls,
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.RetryOnFailedConnect(true),
		nats.ReconnectWait(250*time.Millisecond),
		nats.ReconnectJitter(100*time.Millisecond, time.Second),
		// A server that vanishes without closing its sockets is noticed
		// after two unanswered pings.
		nats.PingInterval(5*time.Second),
		nats.MaxPingsOutstanding(2),
		nats.DisconnectErrHandler(func(c *nats.Conn, err error) {
			if err != nil {
				log.Warn("nats disconnected", "err", redactError(err, urls))
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) {
			log.Info("nats reconnected", "server", connectedURL(c), "reconnects", c.Stats().Reconnects)
		}),
		nats.ConnectHandler(func(c *nats.Conn) {
			log.Info("nats connected", "server", connectedURL(c))
		}),
		nats.ErrorHandler(func(c *nats.Conn, s *nats.Subscription, err error) {
			subj := ""
			if s != nil {
				subj = s.Subject
			}
			log.Warn("nats error", "subject", subj, "err", redactError(err, urls))
		}),
		nats.NoCallbacksAfterClientClose(),
	)
	if err != nil {
		// Not wrapped: a URL that does not parse is quoted in err.
		return nil, fmt.Errorf("cluster: connect to %s: %s", redactURLs(urls), redactError(err, urls))
	}
	return nc, nil
}

// connectedURL is the URL of the server nc is connected to, for logs,
// with its credentials redacted ("" when not connected).
func connectedURL(nc *nats.Conn) string {
	if u := nc.ConnectedUrl(); u != "" {
		return RedactURL(u)
	}
	return ""
}

// redacted stands in for a credential.
const redacted = "xxxxx"

// RedactURL returns u with the credentials of its user info replaced: a
// password ("nats://alice:xxxxx@host"), or a user name alone, which NATS
// reads as a token ("nats://xxxxx@host"). A string that does not parse as
// a URL is replaced whole if it could hold user info, since the two cannot
// be told apart. Every URL this package logs or puts in an error goes
// through it.
func RedactURL(u string) string {
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

// redactURLs applies RedactURL to each URL of a comma-separated list.
func redactURLs(urls string) string {
	parts := strings.Split(urls, ",")
	for i, u := range parts {
		parts[i] = RedactURL(strings.TrimSpace(u))
	}
	return strings.Join(parts, ",")
}

// redactError returns err's message with every user information of urls
// taken out, for errors that may quote a URL (a parse error does).
func redactError(err error, urls string) string {
	msg := err.Error()
	for _, u := range strings.Split(urls, ",") {
		u = strings.TrimSpace(u)
		if i := strings.Index(u, "://"); i >= 0 {
			u = u[i+3:]
		}
		if at := strings.LastIndex(u, "@"); at > 0 {
			msg = strings.ReplaceAll(msg, u[:at], redacted)
		}
	}
	return msg
}
