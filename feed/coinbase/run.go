package coinbase

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"time"

	"github.com/tickerd/tickerd/feed"
)

// Upstream channel names, as the subscribe message spells them.
const (
	chanHeartbeat = "heartbeat"
	chanTicker    = "ticker"       // quotes
	chanMatches   = "matches"      // trades
	chanLevel2    = "level2_batch" // book; "level2" itself needs authentication
)

// Run connects, subscribes and publishes quotes, trades and book updates
// until ctx ends, then returns nil. Connection failures, idle connections,
// upstream errors and undecodable messages never end Run: it logs them,
// reports them in Health, and reconnects with backoff, resubscribing to
// what is wanted.
//
// Quotes: seq is the feed's own, +1 per published update of a symbol,
// continuing across reconnects. Price, bid and ask are the ticker's price,
// best_bid and best_ask; open, high, low and volume are Coinbase's rolling
// 24-hour open_24h, high_24h, low_24h and volume_24h; TS is the ticker's
// time. Trades: seq is Coinbase's trade_id (see the package doc). Books:
// seq is the feed's own, +1 per published update of a symbol.
func (f *Feed) Run(ctx context.Context, sink feed.Sink) error {
	if !f.running.CompareAndSwap(false, true) {
		return errors.New("coinbase: Run is already running")
	}
	defer f.running.Store(false)

	var bufs buffers
	for attempt, sessions := 0, 0; ; {
		healthy, err := f.session(ctx, sink, &bufs, sessions > 0)
		if ctx.Err() != nil {
			return nil
		}
		sessions++
		if healthy {
			attempt = 0
		}
		delay := backoff(f.cfg.MinBackoff, f.cfg.MaxBackoff, attempt)
		attempt++
		f.log.Warn("coinbase: disconnected, reconnecting", "err", err, "in", delay)
		f.updateHealth(func(h *feed.Health) { h.Connected, h.Err = false, err.Error() })
		timer := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-timer.C:
		}
	}
}

// backoff returns the delay before attempt n (0-based): lo·2^n capped at
// hi, then uniformly jittered into [d/2, d].
func backoff(lo, hi time.Duration, n int) time.Duration {
	d := lo
	for i := 0; i < n && d < hi; i++ {
		d *= 2
	}
	d = min(d, hi)
	return d/2 + rand.N(d/2+1)
}

// session runs one connection until it fails or ctx ends. healthy reports
// that the connection delivered at least one usable message, which resets
// the backoff.
func (f *Feed) session(ctx context.Context, sink feed.Sink, bufs *buffers, reconnect bool) (healthy bool, err error) {
	c, err := dial(ctx, f.cfg.URL, f.cfg.DialTimeout, f.cfg.MaxMessage)
	if err != nil {
		return false, fmt.Errorf("coinbase: dial %s: %w", f.cfg.URL, err)
	}
	defer c.release()
	defer c.nc.Close()

	// Subscribe: heartbeats for every product, data channels for the
	// wanted ones.
	var all []string
	for _, p := range f.products {
		all = append(all, p.ID)
	}
	slices.Sort(all)
	on := f.wanted()
	if err := f.send(c, "subscribe", all, on); err != nil {
		return false, err
	}
	f.setSubscribed(on, true)
	defer f.setSubscribed(all, false)
	f.takeResyncs() // asked for on the last connection; this one starts with snapshots

	f.log.Info("coinbase: connected", "url", f.cfg.URL, "channels", f.channels, "products", on)
	f.updateHealth(func(h *feed.Health) {
		h.Connected, h.Err = true, ""
		if reconnect {
			h.Reconnects++
		}
	})

	// The reader publishes; this goroutine writes (subscription changes,
	// book re-fetches) and owns the connection. It closes the connection
	// to stop the reader, and waits for it before returning.
	type result struct {
		healthy bool
		err     error
	}
	done := make(chan result, 1)
	go func() {
		h, err := f.read(c, sink, bufs)
		done <- result{h, err}
	}()
	stop := func() bool {
		c.close()
		return (<-done).healthy
	}

	// Books waiting for a fresh snapshot: product id -> when to ask.
	pending := map[string]time.Time{}
	timer := time.NewTimer(time.Hour)
	timer.Stop() // armed when a re-fetch is pending
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return stop(), nil
		case r := <-done:
			return r.healthy, r.err
		case <-f.watchC:
			want := f.wanted()
			add, drop := diff(on, want)
			err := f.send(c, "unsubscribe", nil, drop)
			if err == nil {
				err = f.send(c, "subscribe", nil, add)
			}
			if err != nil {
				return stop(), err
			}
			f.setSubscribed(drop, false)
			f.setSubscribed(add, true)
			f.setTradesLapsed(drop)
			on = want
		case <-f.resyncC:
			for id, at := range f.takeResyncs() {
				pending[id] = at
			}
		case <-timer.C:
		}
		// Re-fetch the books that are due: unsubscribing and subscribing
		// again makes the upstream send a snapshot.
		var due []string
		next := time.Time{}
		now := time.Now()
		for id, at := range pending {
			switch {
			case !slices.Contains(on, id):
				delete(pending, id) // not subscribed: its next subscribe brings a snapshot
			case !at.After(now):
				due = append(due, id)
				delete(pending, id)
			case next.IsZero() || at.Before(next):
				next = at
			}
		}
		if len(due) > 0 {
			slices.Sort(due)
			err := f.sendChannel(c, "unsubscribe", chanLevel2, due)
			if err == nil {
				err = f.sendChannel(c, "subscribe", chanLevel2, due)
			}
			if err != nil {
				return stop(), err
			}
		}
		timer.Stop()
		if !next.IsZero() {
			timer.Reset(time.Until(next))
		}
	}
}

// read reads and handles messages until the connection fails or stays idle
// for IdleTimeout.
func (f *Feed) read(c *conn, sink feed.Sink, bufs *buffers) (healthy bool, err error) {
	for _, p := range f.products { // a new session: forget per-connection state
		p.st.upSeq, p.st.claim = 0, 0
		if p.st.book.state != bookDisabled {
			p.st.book.state = bookNone
		}
	}
	bad := 0
	for {
		data, err := c.readMessage(f.cfg.IdleTimeout)
		if err != nil && !errors.Is(err, errBinary) {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return healthy, fmt.Errorf("coinbase: no message for %v", f.cfg.IdleTimeout)
			}
			return healthy, fmt.Errorf("coinbase: read: %w", err)
		}
		if err == nil {
			err = f.handle(data, sink, bufs)
		}
		if err != nil {
			// Skip it and go on: one bad message does not make the
			// connection bad. The first few per connection are logged
			// at warning level, the rest at debug.
			if bad++; bad <= 3 {
				f.log.Warn("coinbase: message skipped", "err", err)
			} else {
				f.log.Debug("coinbase: message skipped", "err", err)
			}
			f.updateHealth(func(h *feed.Health) { h.Err, h.Rejected = err.Error(), h.Rejected+1 })
			continue
		}
		healthy = true
	}
}

// subscription is the documented subscribe/unsubscribe request.
type subscription struct {
	Type     string    `json:"type"`
	Channels []channel `json:"channels"`
}

type channel struct {
	Name       string   `json:"name"`
	ProductIDs []string `json:"product_ids"`
}

// send writes a subscribe or unsubscribe for the heartbeat channel of
// heartbeats and every data channel of products; empty lists are left
// out.
func (f *Feed) send(c *conn, typ string, heartbeats, products []string) error {
	msg := subscription{Type: typ}
	if len(heartbeats) > 0 {
		msg.Channels = append(msg.Channels, channel{chanHeartbeat, heartbeats})
	}
	if len(products) > 0 {
		for _, name := range f.channels {
			msg.Channels = append(msg.Channels, channel{name, products})
		}
	}
	return f.write(c, msg)
}

// sendChannel writes a subscribe or unsubscribe for one channel.
func (f *Feed) sendChannel(c *conn, typ, name string, products []string) error {
	return f.write(c, subscription{Type: typ, Channels: []channel{{name, products}}})
}

func (f *Feed) write(c *conn, msg subscription) error {
	if len(msg.Channels) == 0 {
		return nil
	}
	data, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	f.log.Debug("coinbase: sent", "message", string(data))
	if err := c.writeText(data); err != nil {
		return fmt.Errorf("coinbase: %s: %w", msg.Type, err)
	}
	return nil
}

func (f *Feed) setSubscribed(ids []string, on bool) {
	for _, id := range ids {
		f.byID[id].subscribed.Store(on)
	}
}

func (f *Feed) setTradesLapsed(ids []string) {
	for _, id := range ids {
		f.byID[id].tradesLapsed.Store(true)
	}
}

// requestResync asks the session to re-fetch the book of product id at
// time at. Called by the reader; it never blocks.
func (f *Feed) requestResync(id string, at time.Time) {
	f.mu.Lock()
	f.resync[id] = at
	f.mu.Unlock()
	select {
	case f.resyncC <- struct{}{}:
	default: // a wake-up is already pending
	}
}

// takeResyncs returns and forgets the requested book re-fetches.
func (f *Feed) takeResyncs() map[string]time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.resync
	f.resync = map[string]time.Time{}
	return r
}

// diff returns what is in b and not in a (add), and in a and not in b (drop).
func diff(a, b []string) (add, drop []string) {
	for _, x := range b {
		if !slices.Contains(a, x) {
			add = append(add, x)
		}
	}
	for _, x := range a {
		if !slices.Contains(b, x) {
			drop = append(drop, x)
		}
	}
	return add, drop
}
