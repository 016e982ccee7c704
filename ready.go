package tickerd

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/hub"
)

// readiness answers /readyz: 200 "ready", or 503 with one reason per line.
// The server is ready when
//   - it is not draining (it takes new connections),
//   - it has its feed: an edge has the feed node's symbol list,
//   - the feed is running (it has not panicked, nor stopped with an error),
//   - the feed, if it reports its health (feed.HealthReporter), has no
//     source that is down with an error (feed.CheckHealth),
//   - and, unless maxAge is negative or the feed is a feed.Watcher (it
//     only sends what clients watch), the feed is fresh: it has published
//     at least one update, one was published within maxAge, and the last
//     one was less than maxAge old (event time to publish) when it came.
//
// A feed may be quiet and still healthy (Source "idle", a closed market):
// run it with a negative maxAge, which leaves freshness unchecked, so that
// a load balancer keeps sending clients to the snapshots they can still
// get.
//
// The hub counts updates but does not time them, so the age is measured
// from one probe to the next: readiness notes when the count last moved.
// A feed that stops is reported within maxAge plus one probe interval. A
// node without a hub (RoleFeed) goes by the newest LastUpdate its feed's
// sources report instead.
type readiness struct {
	maxAge time.Duration    // negative: freshness not checked
	now    func() time.Time // the clock; time.Now outside tests

	mu        sync.Mutex
	published uint64    // guarded by mu: the update count at the last probe
	moved     time.Time // guarded by mu: when the count was last seen to move
}

// state is what a probe looks at.
type state struct {
	draining bool
	waiting  string    // why the node has no feed yet; "" once it has
	feedDown string    // why the feed is not running; "" while it runs
	feed     feed.Feed // nil while waiting
	hub      *hub.Hub  // nil on a node that serves no clients
}

func newReadiness(maxAge time.Duration) *readiness {
	return &readiness{maxAge: maxAge, now: time.Now}
}

// check returns why the server is not ready; none means ready.
func (r *readiness) check(s state) []string {
	var why []string
	if s.draining {
		why = append(why, "draining: shutting down, new connections refused")
	}
	if s.waiting != "" {
		return append(why, s.waiting)
	}
	if s.feedDown != "" {
		why = append(why, "feed: "+s.feedDown)
	}
	if err := feed.CheckHealth(s.feed); err != nil {
		why = append(why, err.Error()) // "feed: SOURCE: reason"
	}
	if r.maxAge < 0 {
		return why
	}
	if _, ok := s.feed.(feed.Watcher); ok {
		// An interest-driven feed (a NATS edge, Coinbase on demand) sends
		// only what clients watch: with no clients it is quiet and still
		// live. Its health, above, says whether it is.
		return why
	}
	if s.hub == nil {
		return append(why, r.sourcesFresh(s.feed)...)
	}
	st := s.hub.Stats()
	now := r.now()
	r.mu.Lock()
	if st.Published != r.published || r.moved.IsZero() {
		r.published = st.Published
		r.moved = now
	}
	quiet := now.Sub(r.moved)
	r.mu.Unlock()
	switch {
	case st.Published == 0:
		why = append(why, "feed: no update received yet")
	case quiet > r.maxAge:
		why = append(why, fmt.Sprintf("feed: no update for %v (limit %v)", quiet.Round(time.Millisecond), r.maxAge))
	}
	if st.Published > 0 && st.FeedLag > r.maxAge {
		why = append(why, fmt.Sprintf("feed: last update was %v old when published (limit %v)", st.FeedLag.Round(time.Millisecond), r.maxAge))
	}
	return why
}

// sourcesFresh checks freshness by the feed's own report, for a node
// whose hub does not see the updates.
func (r *readiness) sourcesFresh(f feed.Feed) []string {
	var last time.Time
	for _, h := range feed.HealthOf(f) {
		if h.LastUpdate.After(last) {
			last = h.LastUpdate
		}
	}
	switch quiet := r.now().Sub(last); {
	case last.IsZero():
		return []string{"feed: no update published yet"}
	case quiet > r.maxAge:
		return []string{fmt.Sprintf("feed: no update for %v (limit %v)", quiet.Round(time.Millisecond), r.maxAge)}
	}
	return nil
}

// serve writes a probe's answer.
func (r *readiness) serve(w http.ResponseWriter, s state) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	why := r.check(s)
	if len(why) == 0 {
		_, _ = w.Write([]byte("ready\n"))
		return
	}
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = w.Write([]byte(strings.Join(why, "\n") + "\n"))
}
