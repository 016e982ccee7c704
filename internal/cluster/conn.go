package cluster

import (
	"errors"
	"fmt"
	"log/slog"
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
				log.Warn("nats disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) {
			log.Info("nats reconnected", "server", c.ConnectedUrlRedacted(), "reconnects", c.Stats().Reconnects)
		}),
		nats.ConnectHandler(func(c *nats.Conn) {
			log.Info("nats connected", "server", c.ConnectedUrlRedacted())
		}),
		nats.ErrorHandler(func(c *nats.Conn, s *nats.Subscription, err error) {
			subj := ""
			if s != nil {
				subj = s.Subject
			}
			log.Warn("nats error", "subject", subj, "err", err)
		}),
		nats.NoCallbacksAfterClientClose(),
	)
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	return nc, nil
}
