package tickerd

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/tickerd/tickerd/protocol"
)

// DefaultMaxSnapshots is the default of HTTPConfig.MaxSnapshots.
const DefaultMaxSnapshots = 10_000

// snapshotsFresh is how long one read of every symbol's snapshot serves
// GET /api/symbols.
const snapshotsFresh = 500 * time.Millisecond

// serveSymbols answers GET /api/symbols: a JSON array of the latest
// snapshot of every symbol that has one, in listing order, or of those
// ?prefix= and ?symbols= pick (both: the symbols that pass both). With
// Auth it needs a token (as the WebSocket upgrade takes it: Authorization
// header or ?token=) and lists only the symbols the token allows. An
// answer holds at most Config.HTTP.MaxSnapshots snapshots: a request that
// would get more is refused (400) and told to ask for part, never given
// part of the list. So is an edge that cannot read every symbol's last
// tick from NATS (503, with the reason).
func (s *Server) serveSymbols(w http.ResponseWriter, r *http.Request) {
	e := s.eng.Load()
	if e == nil || e.hub == nil {
		http.Error(w, waitingForSymbols, http.StatusServiceUnavailable)
		return
	}
	var allows func(string) bool
	if s.cfg.Auth != nil {
		id, err := s.cfg.Hub.Authenticate(tokenOf(r))
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="tickerd"`)
			http.Error(w, "unauthorized: "+err.Error(), http.StatusUnauthorized)
			return
		}
		allows = id.Allows
	}
	most := s.cfg.HTTP.MaxSnapshots
	q := r.URL.Query()
	prefix := q.Get("prefix")
	var names map[string]bool
	if q.Has("symbols") {
		list := strings.Split(q.Get("symbols"), ",")
		if len(list) > most {
			http.Error(w, fmt.Sprintf("?symbols= names %d symbols, more than an answer holds (%d)", len(list), most), http.StatusBadRequest)
			return
		}
		names = make(map[string]bool, len(list))
		for _, n := range list {
			names[n] = true
		}
	}
	x, err := e.snaps.get(r.Context())
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	body := x.body
	if allows != nil || prefix != "" || names != nil || len(x.items) > most {
		keep := func(name string) bool {
			return strings.HasPrefix(name, prefix) && (names == nil || names[name]) && (allows == nil || allows(name))
		}
		var n int
		if body, n = x.appendMatching(nil, keep, most); n > most {
			http.Error(w, fmt.Sprintf("more than %d symbols match, more than an answer holds: "+
				"ask for part with ?prefix= or ?symbols=", most), http.StatusBadRequest)
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(body)
}

// snapshotCache serves GET /api/symbols from one read of every symbol's
// snapshot for snapshotsFresh: however many requests come at once, the
// server holds one copy of the whole list (25 MB at 100,000 symbols), and
// each request costs a pass over an index of it.
type snapshotCache struct {
	// read appends a JSON array of every symbol's snapshot to dst: the
	// hub's, or an edge's read of the last ticks in NATS. Static.
	read func(ctx context.Context, dst []byte) ([]byte, error)

	mu  sync.Mutex // held while reading: requests in a burst wait for one read
	cur *snapshots // guarded by mu; nil before the first read
}

// snapshots is one read: never modified after it is made.
type snapshots struct {
	at    time.Time
	body  []byte         // a JSON array of snapshot objects
	items []snapshotItem // its elements, in order
}

type snapshotItem struct {
	name       string // the symbol
	start, end int    // the element is body[start:end]
}

// get returns a read at most snapshotsFresh old, reading again if the
// last one is older.
func (c *snapshotCache) get(ctx context.Context) (*snapshots, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur != nil && time.Since(c.cur.at) < snapshotsFresh {
		return c.cur, nil
	}
	body, err := c.read(ctx, nil)
	if err != nil {
		return nil, err
	}
	x := &snapshots{at: time.Now(), body: body}
	eachObject(body, func(start, end int) {
		if _, sym, _, _, ok := protocol.ScanTick(body[start:end]); ok {
			x.items = append(x.items, snapshotItem{name: string(sym), start: start, end: end})
		}
	})
	c.cur = x
	return x, nil
}

// appendMatching appends to dst a JSON array of the snapshots whose
// symbol keep accepts, and returns how many it holds; past most it stops
// and returns most+1 with dst unusable.
func (x *snapshots) appendMatching(dst []byte, keep func(name string) bool, most int) ([]byte, int) {
	dst = append(dst, '[')
	n := 0
	for _, it := range x.items {
		if !keep(it.name) {
			continue
		}
		if n++; n > most {
			return dst, n
		}
		if n > 1 {
			dst = append(dst, ',')
		}
		dst = append(dst, x.body[it.start:it.end]...)
	}
	return append(dst, ']'), n
}

// eachObject calls fn with the bounds of each object at the top level of
// the JSON array arr, which holds objects only (AppendSnapshots writes
// it); strings may hold any bytes.
func eachObject(arr []byte, fn func(start, end int)) {
	depth, start := 0, 0
	inString, escaped := false, false
	for i, b := range arr {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case b == '\\':
				escaped = true
			case b == '"':
				inString = false
			}
		case b == '"':
			inString = true
		case b == '{':
			if depth == 0 {
				start = i
			}
			depth++
		case b == '}':
			if depth--; depth == 0 {
				fn(start, i+1)
			}
		}
	}
}
