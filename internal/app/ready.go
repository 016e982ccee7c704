package app

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/hub"
)

// DefaultReadyMaxFeedAge is how long the feed may go without an update
// before /readyz reports the server unready, unless configured otherwise.
const DefaultReadyMaxFeedAge = 10 * time.Second

// readiness answers /readyz: 200 "ready", or 503 with one reason per line.
// The server is ready when
//   - the hub is not draining (it takes new connections),
//   - the feed, if it reports its health (feed.HealthReporter), has no
//     source that is down with an error (feed.CheckHealth),
//   - and, unless maxAge is negative or the feed is a feed.Watcher (it
//     only sends what clients watch), the feed is fresh: it has published
//     at least one update, one was published within maxAge, and the last
//     one was less than maxAge old (event time to publish) when it came.
//
// A feed may be quiet and still healthy (-rate 0, a closed market): run it
// with a negative maxAge, which leaves freshness unchecked, so that a load
// balancer keeps sending clients to the snapshots they can still get.
//
// The hub counts updates but does not time them, so the age is measured
// from one probe to the next: readiness notes when the count last moved.
// A feed that stops is reported within maxAge plus one probe interval.
type readiness struct {
	hub    *hub.Hub
	feed   feed.Feed
	maxAge time.Duration    // negative: freshness not checked
	now    func() time.Time // the clock; time.Now outside tests

	mu        sync.Mutex
	published uint64    // guarded by mu: the update count at the last probe
	moved     time.Time // guarded by mu: when the count was last seen to move
}

func newReadiness(h *hub.Hub, f feed.Feed, maxAge time.Duration) *readiness {
	if maxAge == 0 {
		maxAge = DefaultReadyMaxFeedAge
	}
	return &readiness{hub: h, feed: f, maxAge: maxAge, now: time.Now}
}

// check returns why the server is not ready; none means ready.
func (r *readiness) check() []string {
	var why []string
	if r.hub.Draining() {
		why = append(why, "draining: shutting down, new connections refused")
	}
	if err := feed.CheckHealth(r.feed); err != nil {
		why = append(why, err.Error()) // "feed: SOURCE: reason"
	}
	if r.maxAge < 0 {
		return why
	}
	if _, ok := r.feed.(feed.Watcher); ok {
		// An interest-driven feed (a NATS edge, Coinbase on demand) sends
		// only what clients watch: with no clients it is quiet and still
		// live. Its health, above, says whether it is.
		return why
	}
	st := r.hub.Stats()
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

// ServeHTTP answers a readiness probe.
func (r *readiness) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	why := r.check()
	if len(why) == 0 {
		_, _ = w.Write([]byte("ready\n"))
		return
	}
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = w.Write([]byte(strings.Join(why, "\n") + "\n"))
}
