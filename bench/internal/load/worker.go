package load

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"
	"golang.org/x/time/rate"

	"github.com/tickerd/tickerd/bench/internal/procstat"
	"github.com/tickerd/tickerd/bench/internal/stats"
	"github.com/tickerd/tickerd/internal/book"
	"github.com/tickerd/tickerd/internal/deflate"
	"github.com/tickerd/tickerd/protocol"
)

// Run is a worker: it reads a Plan and commands from in and writes events to
// out, as described in the package documentation. It returns when the run is
// over, in is closed, or ctx is done; every connection is closed by then.
// The goroutine that reads in ends when in is closed, which the caller does
// after the result (a worker process simply exits).
func Run(ctx context.Context, in io.Reader, out io.Writer) error {
	dec := json.NewDecoder(bufio.NewReader(in))
	enc := json.NewEncoder(out)
	var msg struct {
		Plan *Plan `json:"plan"`
	}
	if err := dec.Decode(&msg); err != nil {
		return fmt.Errorf("load: read plan: %w", err)
	}
	if msg.Plan == nil {
		return errors.New("load: first message has no plan")
	}
	w, err := newWorker(*msg.Plan)
	if err != nil {
		_ = enc.Encode(Event{Event: "error", Error: err.Error()})
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmds := make(chan Command, 1)
	go func() { // ends when in is closed, which the coordinator does at the end
		defer close(cmds)
		for {
			var c Command
			if err := dec.Decode(&c); err != nil {
				return
			}
			select {
			case cmds <- c:
			case <-ctx.Done():
				return
			}
		}
	}()
	res, err := w.run(ctx, cmds, func(ev Event) error { return enc.Encode(ev) })
	if err != nil {
		_ = enc.Encode(Event{Event: "error", Error: err.Error()})
		return err
	}
	return enc.Encode(Event{Event: "result", Result: res})
}

type worker struct {
	plan    Plan
	d       *dialer
	pick    *Picker
	clk     clock
	readers []*reader

	mu   sync.Mutex // guards slow
	slow []int      // fds of connections that never read
}

func newWorker(p Plan) (*worker, error) {
	if len(p.Targets) == 0 {
		return nil, errors.New("load: no targets")
	}
	if len(p.Symbols) == 0 {
		return nil, errors.New("load: empty symbol universe")
	}
	if p.Sub.MaxRate != 0 && (p.Sub.MaxRate < protocol.MinMaxRate || p.Sub.MaxRate > protocol.MaxMaxRate || p.Query) {
		return nil, fmt.Errorf("load: max_rate %v: want %v..%v, and a subscribe message (not Query)", p.Sub.MaxRate, protocol.MinMaxRate, protocol.MaxMaxRate)
	}
	switch ch, ok := protocol.ParseChannel(p.Sub.Channel); {
	case p.Sub.Channel != "" && !ok:
		return nil, fmt.Errorf("load: unknown channel %q", p.Sub.Channel)
	case ch != protocol.ChannelQuotes && p.Query:
		return nil, fmt.Errorf("load: channel %s needs a subscribe message (not Query)", ch)
	case ch != protocol.ChannelBook && len(p.Sub.Depths) > 0:
		return nil, errors.New("load: depths go with the book channel")
	case ch != protocol.ChannelTrades && p.Storm.At > 0:
		return nil, errors.New("load: a resume storm goes with the trades channel")
	case p.Sub.Stall > 0 && p.Sub.StallEvery <= p.Sub.Stall:
		return nil, errors.New("load: a slow reader's stall must be shorter than its period")
	}
	for _, d := range p.Sub.Depths {
		if !protocol.IsBookDepth(d) {
			return nil, fmt.Errorf("load: book depth %d", d)
		}
	}
	d := &dialer{names: p.Symbols, timeout: p.DialTimeout, query: p.Query, sub: p.Sub,
		slow: func(gidx int) bool { return isSlow(gidx, p.Slow) }}
	if d.timeout <= 0 {
		d.timeout = 10 * time.Second
	}
	for _, s := range p.Targets {
		t, err := parseTarget(s)
		if err != nil {
			return nil, err
		}
		d.targets = append(d.targets, t)
	}
	for _, s := range p.SrcIPs {
		ip := net.ParseIP(s)
		if ip == nil {
			return nil, fmt.Errorf("load: bad source address %q", s)
		}
		d.srcIPs = append(d.srcIPs, ip)
	}
	pick, err := NewPicker(p.Dist, len(p.Symbols), p.K, p.KMax, p.Seed)
	if err != nil {
		return nil, err
	}
	w := &worker{plan: p, d: d, pick: pick}
	idx := make(map[string]uint32, len(p.Symbols))
	for i, s := range p.Symbols {
		idx[s] = uint32(i)
	}
	n := p.Readers
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	for range n {
		r, err := newReader(&w.clk, p.Symbols, idx)
		if err != nil {
			for _, r := range w.readers {
				r.close()
			}
			return nil, fmt.Errorf("load: epoll: %w", err)
		}
		r.every = p.ReadEvery
		r.stall, r.stallEvery = p.Sub.Stall, p.Sub.StallEvery
		if p.Sub.Deflate {
			r.inf = deflate.NewInflater(maxFrame)
		}
		if p.Sub.MaxRate > 0 {
			r.maxRate, r.pace = p.Sub.MaxRate, newPaceStats()
		}
		w.readers = append(w.readers, r)
	}
	return w, nil
}

// isSlow reports whether connection gidx is one of the non-reading fraction;
// they are spread evenly over the index range.
func isSlow(gidx int, frac float64) bool {
	return frac > 0 && int(float64(gidx+1)*frac) > int(float64(gidx)*frac)
}

func (w *worker) run(ctx context.Context, cmds <-chan Command, emit func(Event) error) (*Result, error) {
	var rwg sync.WaitGroup
	for _, r := range w.readers {
		rwg.Go(r.run)
	}
	res := &Result{}
	defer func() {
		for _, r := range w.readers {
			r.stop.Store(true)
		}
		rwg.Wait()
		for _, r := range w.readers {
			res.Open += r.close()
		}
		w.mu.Lock()
		for _, fd := range w.slow {
			unix.Close(fd)
		}
		w.mu.Unlock()
	}()

	cto := w.plan.ConnectTimeout
	if cto <= 0 {
		cto = 5 * time.Minute
	}
	cctx, ccancel := context.WithTimeout(ctx, cto)
	rep := w.connect(cctx, w.plan.First, w.plan.Count)
	ccancel()
	if err := emit(Event{Event: "connected", Connected: rep}); err != nil {
		return nil, err
	}

	var cmd Command
	select {
	case c, ok := <-cmds:
		if !ok || c.Op != "start" {
			return nil, errors.New("load: stopped before start")
		}
		cmd = c
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if cmd.Seconds <= 0 || cmd.WindowFrom < 0 || cmd.WindowTo > cmd.Seconds || cmd.WindowFrom >= cmd.WindowTo {
		return nil, fmt.Errorf("load: bad start command %+v", cmd)
	}
	w.clk.seconds.Store(int64(cmd.Seconds))
	w.clk.from.Store(int64(cmd.WindowFrom))
	w.clk.to.Store(int64(cmd.WindowTo))
	w.clk.t0.Store(cmd.T0)
	t0 := time.Unix(0, cmd.T0)
	end := t0.Add(time.Duration(cmd.Seconds) * time.Second)
	rctx, rcancel := context.WithDeadline(ctx, end.Add(150*time.Millisecond))
	defer rcancel()
	go func() { // a "stop" or a closed stdin ends the run early
		for c := range cmds {
			if c.Op == "stop" {
				rcancel()
			}
		}
		rcancel()
	}()

	var bg sync.WaitGroup
	bg.Go(func() { res.CPU = sampleCPU(rctx, t0, cmd.Seconds) })
	if w.plan.Churn.Rate > 0 {
		ch := &churner{d: w.d, pick: w.pick, first: 1 << 30}
		bg.Go(func() { res.Churn = ch.run(rctx, w.plan.Churn.Rate, cmp.Or(w.plan.Churn.Concurrency, 16)) })
	}
	if st := w.plan.Storm; st.At > 0 {
		defer keepStamping()()
		bg.Go(func() {
			if waitFor(rctx, t0, st.At) {
				res.Storm = w.storm(rctx, st)
			}
		})
	}
	if b := w.plan.Burst; b.Count > 0 {
		bg.Go(func() {
			if waitFor(rctx, t0, b.At) {
				res.Burst = w.connect(rctx, b.First, b.Count)
			}
		})
	}
	<-rctx.Done()
	bg.Wait()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}

	for _, r := range w.readers {
		r.stop.Store(true)
	}
	rwg.Wait()
	var series stats.Series
	perSym := make([]SymbolCounters, len(w.plan.Symbols))
	var pace *paceStats
	res.Lost = map[string]int{}
	res.Busy = make([]float64, cmd.Seconds)
	for _, r := range w.readers {
		wire, err := r.series.Wire()
		if err != nil {
			return nil, err
		}
		if err := series.AddWire(wire); err != nil {
			return nil, err
		}
		for i := range r.perSym {
			perSym[i].Add(r.perSym[i])
		}
		if r.pace != nil {
			r.paces()
			if pace == nil {
				pace = newPaceStats()
			}
			if err := pace.merge(r.pace); err != nil {
				return nil, err
			}
		}
		for k, v := range r.lost {
			res.Lost[k] += v
		}
		for s, b := range r.busy {
			if s < len(res.Busy) {
				res.Busy[s] = max(res.Busy[s], b.Seconds())
			}
		}
		res.FullPolls += r.full
		res.Waits += r.waits
		res.Events += r.events
		res.Backlog += r.backlog
		res.BacklogConns += r.backlogConns
		res.Pings += r.pings
	}
	for i, pc := range perSym {
		if pc != (SymbolCounters{}) {
			res.PerSymbol = append(res.PerSymbol, SymbolCount{Index: i, SymbolCounters: pc})
		}
	}
	var err error
	if res.Series, err = series.Wire(); err != nil {
		return nil, err
	}
	if pace != nil {
		if res.Pace, err = pace.wire(); err != nil {
			return nil, err
		}
	}
	if res.Storm != nil {
		if err := w.finishStorm(res.Storm); err != nil {
			return nil, err
		}
	}
	res.Cores = cores()
	res.Slow = w.checkSlow()
	return res, nil
}

// connect opens count connections with global indexes from first, hands the
// reading ones to the readers and keeps the slow ones aside.
func (w *worker) connect(ctx context.Context, first, count int) *ConnectReport {
	rep := &ConnectReport{Attempted: count, Failures: map[string]int{}}
	lat := stats.NewLatency()
	var mu sync.Mutex
	var lim *rate.Limiter
	if w.plan.ConnectRate > 0 {
		lim = rate.NewLimiter(rate.Limit(w.plan.ConnectRate), max(1, int(w.plan.ConnectRate/20)))
	}
	jobs := make(chan int)
	start := time.Now()
	var wg sync.WaitGroup
	for range cmp.Or(w.plan.DialConcurrency, 32) {
		wg.Go(func() {
			for gidx := range jobs {
				t := time.Now()
				syms := w.pick.Pick(gidx)
				_, _, dc, err := w.d.open(ctx, gidx, syms, false, nil)
				mu.Lock()
				if err != nil {
					rep.Failures[Cause(err)]++
					mu.Unlock()
					continue
				}
				rep.Established++
				rep.Symbols += int64(len(syms))
				stats.Record(lat, time.Since(t).Microseconds())
				mu.Unlock()
				slow := isSlow(gidx, w.plan.Slow)
				if slow && w.plan.Sub.Stall == 0 {
					w.mu.Lock()
					w.slow = append(w.slow, dc.fd)
					w.mu.Unlock()
					continue
				}
				c := w.newConn(gidx, syms, dc)
				if slow {
					// Phases spread over the period, so the slow readers do
					// not all stall at once.
					c.slow, c.phase = true, int64(gidx)*int64(w.plan.Sub.StallEvery)/7%int64(w.plan.Sub.StallEvery)
				}
				w.readers[gidx%len(w.readers)].add(c)
			}
		})
	}
	sent := 0
	for i := range count {
		if lim != nil && lim.Wait(ctx) != nil {
			break
		}
		if ctx.Err() != nil {
			break
		}
		jobs <- first + i
		sent++
	}
	close(jobs)
	wg.Wait()
	if n := count - sent; n > 0 {
		rep.Failures["not_attempted"] += n
	}
	rep.Seconds = time.Since(start).Seconds()
	w.mu.Lock()
	rep.Slow = len(w.slow)
	w.mu.Unlock()
	rep.Latency, _ = stats.Encode(lat) // cannot fail for a valid histogram
	if len(rep.Failures) == 0 {
		rep.Failures = nil
	}
	return rep
}

// waitFor waits until sec seconds after t0 and reports false if ctx ended
// first.
func waitFor(ctx context.Context, t0 time.Time, sec float64) bool {
	tm := time.NewTimer(time.Until(t0.Add(time.Duration(sec * float64(time.Second)))))
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// newConn returns the reading side of connection gidx, dialed as dc and
// subscribed to syms.
func (w *worker) newConn(gidx int, syms []uint32, dc dialed) *conn {
	c := &conn{fd: dc.fd, gidx: gidx, slot: -1, syms: syms, last: make([]uint64, len(syms)), partial: dc.initial, deflate: dc.deflate}
	if w.plan.Sub.MaxRate > 0 {
		c.pace = make([]subPace, len(syms))
	}
	if w.plan.Sub.Channel == protocol.ChannelBook.String() {
		c.books = make([]book.Mirror, len(syms))
	}
	return c
}

// checkSlow looks at the never-read connections: did the server close them
// (FIN or RST), and how much is queued unread.
func (w *worker) checkSlow() SlowReport {
	w.mu.Lock()
	defer w.mu.Unlock()
	rep := SlowReport{Count: len(w.slow)}
	for i := 0; i < len(w.slow); i += 1024 {
		fds := make([]unix.PollFd, 0, 1024)
		for _, fd := range w.slow[i:min(i+1024, len(w.slow))] {
			fds = append(fds, unix.PollFd{Fd: int32(fd), Events: unix.POLLRDHUP})
		}
		if _, err := unix.Poll(fds, 0); err != nil {
			continue
		}
		for _, p := range fds {
			if p.Revents&(unix.POLLRDHUP|unix.POLLHUP|unix.POLLERR) != 0 {
				rep.ClosedByServer++
			}
			if q, err := unix.IoctlGetInt(int(p.Fd), unix.SIOCINQ); err == nil {
				rep.QueuedBytes += int64(q)
			}
		}
	}
	return rep
}

// sampleCPU records the worker's own CPU seconds at t0+s for s = 0..seconds.
func sampleCPU(ctx context.Context, t0 time.Time, seconds int) []float64 {
	out := make([]float64, 0, seconds+1)
	for s := 0; s <= seconds; s++ {
		at := t0.Add(time.Duration(s) * time.Second)
		select {
		case <-time.After(time.Until(at)):
		case <-ctx.Done():
			return out
		}
		ps, err := procstat.Read(0)
		if err != nil {
			return out
		}
		out = append(out, ps.CPUSeconds())
	}
	return out
}

// cores returns how many CPUs this process may run on.
func cores() int {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return runtime.NumCPU()
	}
	return set.Count()
}
