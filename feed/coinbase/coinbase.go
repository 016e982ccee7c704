package coinbase

import (
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/protocol"
)

// DefaultURL is the public Coinbase Exchange market-data feed.
const DefaultURL = "wss://ws-feed.exchange.coinbase.com"

// Config configures a Feed. The zero value follows DefaultProducts on
// DefaultURL with the default timings.
type Config struct {
	URL      string    // WebSocket URL; "" means DefaultURL
	Products []Product // "" means DefaultProducts

	// Channels are the kinds of data followed for every product: quotes
	// (the "ticker" channel), trades ("matches") and book
	// ("level2_batch"). nil means all three. Candles are the server's to
	// build from trades.
	Channels []protocol.Channel

	// OnDemand subscribes upstream to a product's channels only while a
	// client watches its symbol (see feed.Watcher); heartbeats are always
	// subscribed for every product. Otherwise every product is subscribed
	// for the feed's whole life.
	OnDemand bool

	// IdleTimeout: a connection that receives nothing for this long is
	// dropped and redialled. Heartbeats arrive every second. Default 10s.
	IdleTimeout time.Duration

	// Reconnect delays grow from MinBackoff (default 500ms) to MaxBackoff
	// (default 30s), doubling on each failed attempt, with random jitter
	// (each delay is uniform in [d/2, d)).
	MinBackoff, MaxBackoff time.Duration

	// DialTimeout bounds the TCP, TLS and WebSocket handshake. Default 10s.
	DialTimeout time.Duration

	// MaxMessage bounds one upstream message, in bytes; a longer one drops
	// the connection. A level2 snapshot of a busy product is the largest
	// message, megabytes long; decoding it takes a few times its size for
	// a moment. Default 16 MiB.
	MaxMessage int64

	// BookLevels is how many price levels of each side of a book the feed
	// keeps and publishes, the best ones: a snapshot deeper than that is
	// cut, and updates beyond the cut are ignored until the next snapshot.
	// Default 10,000 (160 KB per side).
	BookLevels int

	// Logger receives connection events, upstream errors and gaps; nil
	// discards them.
	Logger *slog.Logger
}

// Feed follows the Coinbase Exchange "ticker", "matches" and
// "level2_batch" channels. It implements feed.Feed, feed.HealthReporter and
// feed.Watcher.
type Feed struct {
	// Static after New.
	cfg      Config
	log      *slog.Logger
	products []*product
	byID     map[string]*product // upstream product_id -> product
	bySym    map[string]*product // our symbol -> product
	channels []string            // upstream data channels, from Config.Channels
	running  atomic.Bool

	// watchC wakes Run's session when the watched set changed, resyncC
	// when a book asked for a fresh snapshot; capacity one, sent to
	// without blocking, never closed.
	watchC  chan struct{}
	resyncC chan struct{}

	mu      sync.Mutex           // guards the fields below
	watched map[string]bool      // product ids watched by clients
	resync  map[string]time.Time // product id -> when to re-fetch its book
	health  feed.Health
}

// product is a Product plus its runtime state.
type product struct {
	Product
	sym feed.Symbol

	// subscribed is set by the session goroutine while the product's data
	// channels are subscribed; the reader uses it to judge ticker gaps.
	subscribed atomic.Bool
	// tradesLapsed is set by the session goroutine when it unsubscribes
	// the product's trades (OnDemand); the reader clears it at the
	// product's next last_match, whose trade_id then skips ahead by
	// choice, not by loss.
	tradesLapsed atomic.Bool

	// Owned by the reader goroutine of the current session (sessions run
	// one after another, so ownership passes from one to the next).
	st state
}

// New checks cfg and returns a Feed. It does not connect: Run does.
func New(cfg Config) (*Feed, error) {
	if cfg.URL == "" {
		cfg.URL = DefaultURL
	}
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
		return nil, fmt.Errorf("coinbase: URL %q is not a ws:// or wss:// URL", cfg.URL)
	}
	if len(cfg.Products) == 0 {
		for _, id := range DefaultProducts {
			cfg.Products = append(cfg.Products, Product{ID: id})
		}
	}
	for _, d := range []*time.Duration{&cfg.IdleTimeout, &cfg.MinBackoff, &cfg.MaxBackoff, &cfg.DialTimeout} {
		if *d < 0 {
			return nil, fmt.Errorf("coinbase: negative duration %v in config", *d)
		}
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = 10 * time.Second
	}
	if cfg.MinBackoff == 0 {
		cfg.MinBackoff = 500 * time.Millisecond
	}
	if cfg.MaxBackoff == 0 {
		cfg.MaxBackoff = 30 * time.Second
	}
	cfg.MaxBackoff = max(cfg.MaxBackoff, cfg.MinBackoff)
	if cfg.DialTimeout == 0 {
		cfg.DialTimeout = 10 * time.Second
	}
	if cfg.MaxMessage < 0 || cfg.BookLevels < 0 {
		return nil, fmt.Errorf("coinbase: negative MaxMessage %d or BookLevels %d", cfg.MaxMessage, cfg.BookLevels)
	}
	if cfg.MaxMessage == 0 {
		cfg.MaxMessage = 16 << 20
	}
	if cfg.BookLevels == 0 {
		cfg.BookLevels = 10_000
	}
	channels, err := upstreamChannels(cfg.Channels)
	if err != nil {
		return nil, err
	}
	f := &Feed{
		cfg:      cfg,
		log:      cfg.Logger,
		byID:     map[string]*product{},
		bySym:    map[string]*product{},
		channels: channels,
		watchC:   make(chan struct{}, 1),
		resyncC:  make(chan struct{}, 1),
		watched:  map[string]bool{},
		resync:   map[string]time.Time{},
		health:   feed.Health{Source: "coinbase"},
	}
	if f.log == nil {
		f.log = slog.New(slog.DiscardHandler)
	}
	for _, p := range cfg.Products {
		p, err := p.resolve()
		if err != nil {
			return nil, err
		}
		if f.byID[p.ID] != nil {
			return nil, fmt.Errorf("coinbase: product %s listed twice", p.ID)
		}
		if f.bySym[p.Symbol] != nil {
			return nil, fmt.Errorf("coinbase: symbol %s used by two products", p.Symbol)
		}
		pp := &product{Product: p, sym: feed.Symbol{
			Name:       p.Symbol,
			Class:      "crypto",
			PricePrec:  decimals(p.QuoteIncrement),
			VolumePrec: decimals(p.BaseIncrement),
			TickSize:   p.QuoteIncrement,
		}}
		pp.st.book.init(cfg.BookLevels)
		f.products = append(f.products, pp)
		f.byID[p.ID], f.bySym[p.Symbol] = pp, pp
	}
	return f, nil
}

// Symbols returns one symbol per product, with the precision of its
// increments, in the order of Config.Products.
func (f *Feed) Symbols() []feed.Symbol {
	out := make([]feed.Symbol, len(f.products))
	for i, p := range f.products {
		out[i] = p.sym
	}
	return out
}

// Watch records that clients started or stopped watching symbol. With
// OnDemand, Run subscribes or unsubscribes the product's channels upstream
// soon after. It never blocks; unknown symbols are ignored.
func (f *Feed) Watch(symbol string, watched bool) {
	p := f.bySym[symbol]
	if p == nil {
		return
	}
	f.mu.Lock()
	if watched {
		f.watched[p.ID] = true
	} else {
		delete(f.watched, p.ID)
	}
	f.mu.Unlock()
	select {
	case f.watchC <- struct{}{}:
	default: // a wake-up is already pending
	}
}

// wanted returns the product ids whose data channels should be
// subscribed, sorted.
func (f *Feed) wanted() []string {
	var ids []string
	f.mu.Lock()
	for _, p := range f.products {
		if !f.cfg.OnDemand || f.watched[p.ID] {
			ids = append(ids, p.ID)
		}
	}
	f.mu.Unlock()
	slices.Sort(ids)
	return ids
}

// Health reports one source, "coinbase".
func (f *Feed) Health() []feed.Health {
	f.mu.Lock()
	defer f.mu.Unlock()
	return []feed.Health{f.health}
}

func (f *Feed) updateHealth(fn func(h *feed.Health)) {
	f.mu.Lock()
	fn(&f.health)
	f.mu.Unlock()
}

// upstreamChannels returns the upstream channel names for chans, in a
// fixed order; nil means every channel the feed follows.
func upstreamChannels(chans []protocol.Channel) ([]string, error) {
	if chans == nil {
		chans = []protocol.Channel{protocol.ChannelQuotes, protocol.ChannelTrades, protocol.ChannelBook}
	}
	var names []string
	for _, c := range []struct {
		ch   protocol.Channel
		name string
	}{
		{protocol.ChannelQuotes, chanTicker},
		{protocol.ChannelTrades, chanMatches},
		{protocol.ChannelBook, chanLevel2},
	} {
		if slices.Contains(chans, c.ch) {
			names = append(names, c.name)
		}
	}
	for _, c := range chans {
		if c != protocol.ChannelQuotes && c != protocol.ChannelTrades && c != protocol.ChannelBook {
			return nil, fmt.Errorf("coinbase: channel %s is not one the feed follows (quotes, trades, book)", c)
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("coinbase: no channels to follow")
	}
	return names, nil
}
