package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/tickerd/tickerd/bench/internal/stats"
	"github.com/tickerd/tickerd/protocol"
)

// The listing probe watches the server's symbol list while a run goes on
// (-watch-listings), from two connections of its own:
//
//   - one subscribed to a uniform sample of the symbols (probeSample),
//     whose first "delisted" notice says a change has begun, the way a
//     simulated day's end starts with its expiries;
//   - one that asks for the list: every probeSlowPoll, and every
//     probeFastPoll from the moment a notice came or a reply differed
//     from the last list, until two replies in a row are the same.
//
// A change then spans from the notice (or from the last reply that still
// had the old list, when no notice came) to the first reply with the new
// list, as a client sees it: the hub's work plus the time the reply took,
// to within probeFastPoll. Comparing the old and new lists gives the
// symbols listed and delisted. This is the client's view; the server
// exports no time spent listing (see bench/README.md).

const (
	probeSample   = 1000                   // symbols the watching connection subscribes to
	probeSlowPoll = time.Second            // list requests while nothing changes
	probeFastPoll = 100 * time.Millisecond // list requests during a change
	probeGiveUp   = 30                     // fast polls with no change before a notice is let go
)

// listingChange is one change of the symbol list the probe saw.
type listingChange struct {
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	Trigger  string    `json:"trigger"` // "delisted": a notice began it; "poll": a list reply showed it
	Listed   int       `json:"listed"`
	Delisted int       `json:"delisted"`
	Polls    int       `json:"polls"` // list requests from start to end
	At       float64   `json:"at_s"`  // Start in seconds of the run (set with the report)
}

// Span returns how long the change took to show.
func (c listingChange) Span() time.Duration { return c.End.Sub(c.Start) }

// probeResult is what the probe saw.
type probeResult struct {
	Symbols   int             `json:"symbols_at_start"`
	ListBytes int             `json:"list_bytes"` // the first list reply
	Sample    int             `json:"sample"`     // symbols the watching connection subscribed to
	Notices   int             `json:"notices"`    // delisted notices it got
	Changes   []listingChange `json:"changes"`
	Err       string          `json:"error,omitempty"` // why the probe stopped early
}

// listingProbe runs the probe in a goroutine that stop ends and waits for.
type listingProbe struct {
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once

	res     probeResult // written by run until done
	notices chan time.Time
	mu      sync.Mutex // guards notices count
	count   int
}

// startProbe connects the probe's two connections to wsURL and starts
// watching. seed picks the sample.
func startProbe(ctx context.Context, wsURL string, seed uint64, logf func(string, ...any)) (*listingProbe, error) {
	lister, err := dialWS(ctx, wsURL)
	if err != nil {
		return nil, err
	}
	first, err := lister.list(ctx)
	if err != nil {
		lister.Close()
		return nil, err
	}
	names, err := decodeList(first)
	if err != nil {
		lister.Close()
		return nil, err
	}
	watch, err := dialWS(ctx, wsURL)
	if err != nil {
		lister.Close()
		return nil, err
	}
	sample := sampleNames(names, probeSample, seed)
	req := protocol.Request{Op: protocol.OpSubscribe, ID: []byte(`"probe"`), Symbols: sample}
	if err := wsutil.WriteClientText(watch, protocol.AppendRequest(nil, &req)); err != nil {
		lister.Close()
		watch.Close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	p := &listingProbe{cancel: cancel, done: make(chan struct{}), notices: make(chan time.Time, 1)}
	p.res = probeResult{Symbols: len(names), ListBytes: len(first), Sample: len(sample)}
	logf("watching listings: %d symbols (a %d-byte list), %d of them subscribed", len(names), len(first), len(sample))
	stopConns := context.AfterFunc(ctx, func() { lister.Close(); watch.Close() })
	var wg sync.WaitGroup
	wg.Go(func() { p.watch(watch) })
	go func() { // owned by stop, which waits for done
		defer close(p.done)
		p.run(ctx, lister, first)
		cancel()
		stopConns()
		lister.Close()
		watch.Close()
		wg.Wait()
	}()
	return p, nil
}

// stop ends the probe and returns what it saw; later calls return the
// same.
func (p *listingProbe) stop() probeResult {
	p.once.Do(func() {
		p.cancel()
		<-p.done
		p.mu.Lock()
		p.res.Notices = p.count
		p.mu.Unlock()
	})
	return p.res
}

// watch reads the watching connection until it fails (it is closed at
// the end), passing on when each delisted notice came.
func (p *listingProbe) watch(c *wsConn) {
	prefix := []byte(`{"type":"delisted",`)
	for {
		msg, op, err := wsutil.ReadServerData(c)
		if err != nil {
			return
		}
		if op != ws.OpText || !bytes.HasPrefix(msg, prefix) {
			continue
		}
		now := time.Now()
		p.mu.Lock()
		p.count++
		p.mu.Unlock()
		select {
		case p.notices <- now:
		default: // one pending is enough: a change starts with its first notice
		}
	}
}

// run polls the list until ctx ends, recording each change.
func (p *listingProbe) run(ctx context.Context, lister *wsConn, cur []byte) {
	lastSame := time.Now() // the last reply that had cur
	tick := time.NewTicker(probeSlowPoll)
	defer tick.Stop()
	for {
		start, trigger := lastSame, "poll"
		select {
		case <-ctx.Done():
			return
		case t := <-p.notices:
			start, trigger = t, "delisted"
		case <-tick.C:
		}
		reply, err := lister.list(ctx)
		if err != nil {
			p.fail(ctx, err)
			return
		}
		now := time.Now()
		if trigger == "poll" && bytes.Equal(reply, cur) {
			lastSame = now
			continue
		}
		ch, final, err := p.follow(ctx, lister, cur, reply, now)
		if err != nil {
			p.fail(ctx, err)
			return
		}
		if final == nil { // a notice, but the list never changed
			lastSame = time.Now()
			continue
		}
		ch.Start, ch.Trigger = start, trigger
		if ch.Listed, ch.Delisted, err = diffLists(cur, final); err != nil {
			p.fail(ctx, err)
			return
		}
		p.res.Changes = append(p.res.Changes, ch)
		cur, lastSame = final, ch.End
		select { // notices of this change that came while following it
		case <-p.notices:
		default:
		}
	}
}

// follow polls every probeFastPoll from reply (received at at) until two
// replies in a row are the same and differ from cur; it returns the change
// (End: when the first of them came) and the new list, or a nil list when
// nothing changed within probeGiveUp polls.
func (p *listingProbe) follow(ctx context.Context, lister *wsConn, cur, reply []byte, at time.Time) (listingChange, []byte, error) {
	ch := listingChange{Polls: 1}
	same := 0
	for {
		if !sleepUntil(ctx, at.Add(probeFastPoll)) {
			return ch, nil, ctx.Err()
		}
		next, err := lister.list(ctx)
		if err != nil {
			return ch, nil, err
		}
		now := time.Now()
		ch.Polls++
		switch {
		case !bytes.Equal(next, reply):
			reply, at, same = next, now, 0
		case !bytes.Equal(next, cur):
			ch.End = at
			return ch, reply, nil
		default:
			if same++; same >= probeGiveUp {
				return ch, nil, nil
			}
			at = now
		}
	}
}

func (p *listingProbe) fail(ctx context.Context, err error) {
	if ctx.Err() == nil {
		p.res.Err = err.Error()
	}
}

// wsConn is a client WebSocket connection for gobwas/wsutil: reads go
// through the handshake's buffered reader first, so nothing the server
// sent right after the upgrade is lost.
type wsConn struct {
	net.Conn
	r io.Reader
}

func (c *wsConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// dialWS opens a WebSocket connection to u.
func dialWS(ctx context.Context, u string) (*wsConn, error) {
	nc, br, _, err := ws.Dial(ctx, u)
	if err != nil {
		return nil, err
	}
	var r io.Reader = nc
	if br != nil {
		r = io.MultiReader(br, nc)
	}
	return &wsConn{Conn: nc, r: r}, nil
}

// list sends {"op":"list"} and returns the reply's bytes.
func (c *wsConn) list(ctx context.Context) ([]byte, error) {
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Now()) })
	defer stop()
	if err := c.SetDeadline(time.Now().Add(30 * time.Second)); err != nil {
		return nil, err
	}
	if err := wsutil.WriteClientText(c, []byte(`{"op":"list","id":"probe"}`)); err != nil {
		return nil, err
	}
	prefix := []byte(`{"type":"symbols",`)
	for {
		msg, op, err := wsutil.ReadServerData(c)
		if err != nil {
			return nil, err
		}
		if op == ws.OpText && bytes.HasPrefix(msg, prefix) {
			return msg, nil
		}
		if op == ws.OpText && bytes.HasPrefix(msg, []byte(`{"type":"error"`)) {
			return nil, fmt.Errorf("list: %s", msg[:min(len(msg), 200)])
		}
	}
}

// decodeList returns the symbols of a list reply.
func decodeList(reply []byte) ([]string, error) {
	e, err := protocol.DecodeEvent(reply)
	if err != nil {
		return nil, err
	}
	if e.Type != "symbols" {
		return nil, errors.New("list: reply of type " + e.Type)
	}
	return e.Symbols, nil
}

// diffLists counts the symbols of list reply b not in a, and those of a
// not in b.
func diffLists(a, b []byte) (added, removed int, err error) {
	na, err := decodeList(a)
	if err != nil {
		return 0, 0, err
	}
	nb, err := decodeList(b)
	if err != nil {
		return 0, 0, err
	}
	in := make(map[string]bool, len(na))
	for _, s := range na {
		in[s] = true
	}
	for _, s := range nb {
		if in[s] {
			delete(in, s)
		} else {
			added++
		}
	}
	return added, len(in), nil
}

// sampleNames returns up to n of names chosen uniformly with seed.
func sampleNames(names []string, n int, seed uint64) []string {
	if len(names) <= n {
		return slices.Clone(names)
	}
	rng := rand.New(rand.NewPCG(seed, 0x70726f6265)) // "probe"
	idx := rng.Perm(len(names))[:n]
	slices.Sort(idx)
	out := make([]string, n)
	for i, j := range idx {
		out[i] = names[j]
	}
	return out
}

// universeSummary is the listing part of a -watch-listings report.
type universeSummary struct {
	// The servers with their symbols and no client (before the first
	// connected), summed over nodes.
	RSSNoClients  int64       `json:"rss_no_clients_bytes"`
	HeapNoClients float64     `json:"heap_no_clients_bytes"` // -1: unknown
	Probe         probeResult `json:"probe"`
	Listed        int         `json:"listed"`   // in every change the probe saw
	Delisted      int         `json:"delisted"` // in every change the probe saw
	// PerThousand is, per change that listed symbols, its span scaled to
	// 1,000 listed symbols, ms.
	PerThousand []float64 `json:"list_1000_ms"`
	// The quote path in the window's seconds that overlap a change and
	// in the others.
	During  quoteSummary `json:"during_changes"`
	Outside quoteSummary `json:"outside_changes"`
}

// quoteSummary is the quote path over some seconds of the window.
type quoteSummary struct {
	Seconds []int             `json:"seconds"`
	Client  stats.Percentiles `json:"client"` // the readers' tick latency (ts to receive)
	// ServerP99 is the p99 of the server's tick-to-write histogram, the
	// upper bound of its bucket (half-octave steps), ms; 0 when it was
	// not scraped every second (-server-series). ServerCount is how many
	// frames it counts.
	ServerP99   float64 `json:"server_p99_ms"`
	ServerCount float64 `json:"server_frames"`
	// GCs is how many garbage collections the server finished in those
	// seconds (-server-series); -1: not known.
	GCs int `json:"server_gcs"`
}

// setUniverse adds what the probe saw, and splits the window's quote path
// into the seconds that overlap a change and the others.
func (r *report) setUniverse(pr probeResult, t0 time.Time, samples [][]serverSample, from, seconds int) error {
	u := &universeSummary{Probe: pr, HeapNoClients: 0}
	for _, n := range r.Server.Nodes {
		u.RSSNoClients += n.RSSBefore
		if n.HeapBefore < 0 || u.HeapNoClients < 0 {
			u.HeapNoClients = -1
		} else {
			u.HeapNoClients += n.HeapBefore
		}
	}
	changing := map[int]bool{}
	for i := range pr.Changes {
		ch := &pr.Changes[i]
		ch.At = ch.Start.Sub(t0).Seconds()
		u.Listed += ch.Listed
		u.Delisted += ch.Delisted
		if ch.Listed > 0 {
			u.PerThousand = append(u.PerThousand, float64(ch.Span())/float64(time.Millisecond)*1000/float64(ch.Listed))
		}
		for s := from; s < seconds; s++ {
			at := t0.Add(time.Duration(s) * time.Second)
			if ch.Start.Before(at.Add(time.Second)) && !ch.End.Before(at) {
				changing[s] = true
			}
		}
	}
	for s := from; s < seconds; s++ {
		q := &u.Outside
		if changing[s] {
			q = &u.During
		}
		q.Seconds = append(q.Seconds, s)
	}
	for _, q := range []*quoteSummary{&u.During, &u.Outside} {
		h := stats.NewLatency()
		for _, s := range q.Seconds {
			_, sh := r.series.At(s)
			if err := stats.Merge(h, sh); err != nil {
				return err
			}
		}
		q.Client = stats.Summarize(h)
		if le, n, ok := serverLatency(samples, q.Seconds).Quantile(0.99); ok {
			q.ServerP99, q.ServerCount = 1000*le, n
		}
		q.GCs = gcsIn(samples, q.Seconds)
	}
	r.Universe = u
	return nil
}

// gcsIn returns the GC cycles the servers finished in the given seconds
// of samples, or -1 if a second was not scraped.
func gcsIn(samples [][]serverSample, seconds []int) int {
	n := 0
	for _, sm := range samples {
		for _, s := range seconds {
			if s+1 >= len(sm) || sm[s].gcs < 0 || sm[s+1].gcs < 0 {
				return -1
			}
			n += int(sm[s+1].gcs - sm[s].gcs)
		}
	}
	return n
}

// printUniverse prints the listing part of the summary.
func (r *report) printUniverse(p func(string, ...any)) {
	u := r.Universe
	heap := "?"
	if u.HeapNoClients >= 0 {
		heap = mib(int64(u.HeapNoClients))
	}
	p("universe   %d symbols (a %s list reply); server with no client: RSS %s, Go heap %s, feed %.1f%% of a core",
		u.Probe.Symbols, bytesH(float64(u.Probe.ListBytes)), mib(u.RSSNoClients), heap, r.Server.IdleCPUPercent)
	p("listings   %d changes seen (%d listed, %d delisted in all); %d delisted notices to the probe's %d symbols%s",
		len(u.Probe.Changes), u.Listed, u.Delisted, u.Probe.Notices, u.Probe.Sample, probeErr(u.Probe.Err))
	for _, ch := range u.Probe.Changes {
		per := ""
		if ch.Listed > 0 {
			per = fmt.Sprintf(", %s per 1,000 listed", ms(float64(ch.Span())/float64(time.Millisecond)*1000/float64(ch.Listed)))
		}
		p("           at %s (%s): +%d -%d symbols in %s as a client saw it (%d list replies)%s",
			ch.Start.Format("15:04:05.000"), ch.Trigger, ch.Listed, ch.Delisted, ms(float64(ch.Span())/float64(time.Millisecond)), ch.Polls, per)
	}
	q := func(name string, s quoteSummary) {
		if len(s.Seconds) == 0 {
			p("quote p99  %s: no such second in the window", name)
			return
		}
		srv := "not scraped (-server-series)"
		if s.ServerCount > 0 {
			srv = fmt.Sprintf("<= %s (%.0f frames)", ms(s.ServerP99), s.ServerCount)
		}
		if s.GCs >= 0 {
			srv += fmt.Sprintf("; %d garbage collections", s.GCs)
		}
		p("quote p99  %s: %d s of the window; readers %s (%d ticks); server tick-to-write %s",
			name, len(s.Seconds), ms(s.Client.P99), s.Client.Count, srv)
	}
	q("during listing changes", u.During)
	q("outside them", u.Outside)
}

func probeErr(e string) string {
	if e == "" {
		return ""
	}
	return "; probe stopped: " + e
}
