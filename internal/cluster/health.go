package cluster

import (
	"errors"
	"strings"

	"github.com/tickerd/tickerd/feed"
)

// Ready returns nil when every source Health reports is connected, else
// an error naming each one that is not and why, for a readiness probe.
func (p *Publisher) Ready() error { return notReady(p.Health()) }

// Ready returns nil when every source Health reports is connected, else
// an error naming each one that is not and why, for a readiness probe.
// While it is not ready the Edge still serves the last state it has.
func (e *Edge) Ready() error { return notReady(e.Health()) }

func notReady(hs []feed.Health) error {
	var why []string
	for _, h := range hs {
		if !h.Connected {
			why = append(why, h.Source+": "+h.Err)
		}
	}
	if len(why) == 0 {
		return nil
	}
	return errors.New("cluster: " + strings.Join(why, "; "))
}
