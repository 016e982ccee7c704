package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"sync"
	"time"

	"github.com/tickerd/tickerd/bench/internal/attack"
	"github.com/tickerd/tickerd/bench/internal/load"
	"github.com/tickerd/tickerd/bench/internal/procstat"
	"github.com/tickerd/tickerd/bench/internal/stats"
)

// The hostile scenario runs each attack class of package attack beside
// well-behaved readers (the load workers), on one timeline of whole
// seconds:
//
//	warm-up | quiet | attack 1 | recover | quiet | attack 2 | recover | ...
//
// The readers' latency in each attack window is set against the quiet
// window just before it (for the wss classes, which attack the second,
// TLS server, the readers are on the other: their p99 shows the machine's
// load, not the attacked server's); the server is sampled four times a second, and
// once at each boundary, for RSS, Go heap and stacks, fds, connections and
// CPU. Memory per attacking connection is the peak during the attack less
// the value at its start, over the connections the attack opened. The
// fds "after" are the fewest seen during the recovery, once the attackers
// have closed their side.

// sampleEvery is how often the server is sampled during a hostile run.
const sampleEvery = 250 * time.Millisecond

// hostileSample is one reading of the server; -1 marks what is unknown.
type hostileSample struct {
	at    time.Time
	rss   int64
	goMem float64 // Go heap in use + goroutine stacks
	fds   int
	conns float64 // open WebSocket connections (tickerd_connections)
	cpu   float64 // seconds
}

func sampleHostile(n *node) hostileSample {
	s := hostileSample{at: time.Now(), rss: -1, goMem: -1, fds: -1, conns: -1, cpu: -1}
	if n.pid > 0 {
		if ps, err := procstat.Read(n.pid); err == nil {
			s.rss, s.cpu = ps.RSS, ps.CPUSeconds()
		}
		if fds, err := procstat.FDs(n.pid); err == nil {
			s.fds = fds
		}
	}
	m := fetchMetrics(n.http)
	if m == nil {
		return s
	}
	heap, ok1 := m["go_memstats_heap_inuse_bytes"]
	stack, ok2 := m["go_memstats_stack_inuse_bytes"]
	if ok1 && ok2 {
		s.goMem = heap + stack
	}
	if v, ok := m["tickerd_connections"]; ok {
		s.conns = v
	}
	if v, ok := m["process_resident_memory_bytes"]; ok && s.rss < 0 {
		s.rss = int64(v)
	}
	if v, ok := m["process_open_fds"]; ok && s.fds < 0 {
		s.fds = int(v)
	}
	if v, ok := m["process_cpu_seconds_total"]; ok && s.cpu < 0 {
		s.cpu = v
	}
	return s
}

// sampler samples a node every sampleEvery until stopped.
type sampler struct {
	n    *node
	mu   sync.Mutex
	all  []hostileSample // guarded by mu
	stop context.CancelFunc
	wg   sync.WaitGroup
}

func startSampler(ctx context.Context, n *node) *sampler {
	ctx, cancel := context.WithCancel(ctx)
	s := &sampler{n: n, stop: cancel}
	s.wg.Go(func() {
		t := time.NewTicker(sampleEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			v := sampleHostile(n)
			s.mu.Lock()
			s.all = append(s.all, v)
			s.mu.Unlock()
		}
	})
	return s
}

// close stops the sampler, waits for it and returns its samples.
func (s *sampler) close() []hostileSample {
	s.stop()
	s.wg.Wait()
	return s.all
}

// slot is one attack class's place on the timeline, in seconds since t0.
type slot struct {
	class              attack.Class
	n                  *node // the server attacked
	conns              int
	quiet, from, until int       // quiet window [quiet, from), attack window [from, until)
	deadline           time.Time // when the attack window ends: t0 + until
	// Synchronous samples: quiet start, attack start, attack end (after
	// the attackers closed), end of recovery.
	atQuiet, atStart, atEnd, atAfter hostileSample
	rep                              *attack.Report
}

// runHostile performs a hostile run and returns its report.
func runHostile(ctx context.Context, c *config, log io.Writer) (*hostileReport, error) {
	classes, err := attack.Select(c.attacks)
	if err != nil {
		return nil, err
	}
	per := c.quiet + c.duration + c.recover
	seconds := int((c.warmup + time.Duration(len(classes))*per) / time.Second)
	deadline := c.deadline
	if deadline <= 0 {
		deadline = c.connectTimeout + time.Duration(seconds)*time.Second + 2*time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()
	logf := logger(log)

	nodes, tlsNode, stopNodes, err := openNodesTLS(ctx, c, logf, needsTLS(classes))
	defer stopNodes()
	if err != nil {
		return nil, err
	}
	n := nodes[0]
	universe, err := symbolUniverse(ctx, c, n)
	if err != nil {
		return nil, err
	}
	rep := newHostileReport(c, n, tlsNode, universe)

	workers, conns, took, err := connectWorkers(c, nodes, universe, logf)
	defer killWorkers(&workers) // the ones left at return: after an error
	if err != nil {
		return nil, err
	}
	rep.Readers.Connect, _ = mergeConnect(conns, took) // a bad histogram only loses the connect latency
	if rep.Readers.Connect.Established == 0 {
		return rep, errors.New("no reader could connect")
	}
	if c.settle > 0 {
		sleep(ctx, c.settle)
	}

	u, err := url.Parse(n.url)
	if err != nil {
		return nil, err
	}
	target := attack.Target{Addr: u.Host, Path: u.Path, Symbols: universe, Timeout: c.dialTimeout}
	for _, s := range srcIPs(c.srcIPs) {
		target.SrcIPs = append(target.SrcIPs, net.ParseIP(s))
	}
	tlsTarget := target
	if tlsNode != nil {
		u, err := url.Parse(tlsNode.url)
		if err != nil {
			return nil, err
		}
		// Our own certificate (or -wss-url's), on loopback: not verified.
		tlsTarget.Addr, tlsTarget.Path, tlsTarget.TLS = u.Host, u.Path, &tls.Config{InsecureSkipVerify: true}
	}
	slots := make([]*slot, len(classes))
	at := int(c.warmup / time.Second)
	for i, cl := range classes {
		s := &slot{class: cl, n: n, conns: cl.Conns, quiet: at}
		if cl.TLS {
			s.n = tlsNode
		}
		if c.attackConns > 0 {
			s.conns = c.attackConns
		}
		s.from = at + int(c.quiet/time.Second)
		s.until = s.from + int(c.duration/time.Second)
		at = s.until + int(c.recover/time.Second)
		slots[i] = s
	}

	t0 := time.Now().Add(300 * time.Millisecond).Truncate(time.Millisecond)
	if err := startRun(workers, load.Command{Op: "start", T0: t0.UnixNano(), Seconds: seconds, WindowFrom: 0, WindowTo: seconds}); err != nil {
		return nil, err
	}
	sec := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	smp := startSampler(ctx, n)
	var tlsSmp *sampler
	if tlsNode != nil {
		tlsSmp = startSampler(ctx, tlsNode)
	}
	rep.start = t0
	logf("running %d attack(s) over %ds: %v quiet, %v attack, %v recovery each", len(slots), seconds, c.quiet, c.duration, c.recover)
	for _, s := range slots {
		if !sleepUntil(ctx, sec(s.quiet)) {
			break
		}
		s.atQuiet = sampleHostile(s.n)
		if !sleepUntil(ctx, sec(s.from)) {
			break
		}
		s.atStart = sampleHostile(s.n)
		s.deadline = sec(s.until)
		actx, acancel := context.WithDeadline(ctx, s.deadline)
		tg := target
		if s.class.TLS {
			tg = tlsTarget
		}
		s.rep = attack.Run(actx, s.class, tg, s.conns)
		acancel()
		sleepUntil(ctx, s.deadline) // the window lasts its length even when the server ended every attacker
		s.atEnd = sampleHostile(s.n)
		logf("%s: %d of %d opened, %d held to the end, closed by the server %v", s.class.Name, s.rep.Opened, s.conns, s.rep.Held, s.rep.Closed)
		if !sleepUntil(ctx, sec(s.until+int(c.recover/time.Second))) {
			break
		}
		s.atAfter = sampleHostile(s.n)
	}
	samples := smp.close()
	var tlsSamples []hostileSample
	if tlsSmp != nil {
		tlsSamples = tlsSmp.close()
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	results, err := collectResults(workers, time.Until(sec(seconds))+time.Minute, logf)
	if err != nil {
		return nil, err
	}
	workers = nil
	return rep, rep.set(results, slots, samples, tlsSamples, seconds)
}

// set fills the report from the readers' results, the slots and the
// periodic samples of the plain server and of the TLS one (which the
// classes with TLS attack).
func (r *hostileReport) set(results []*load.Result, slots []*slot, samples, tlsSamples []hostileSample, seconds int) error {
	var series stats.Series
	r.Readers.Lost = map[string]int{}
	for _, res := range results {
		if err := series.AddWire(res.Series); err != nil {
			return err
		}
		for k, v := range res.Lost {
			r.Readers.Lost[k] += v
		}
		r.Readers.Open += res.Open
	}
	if len(r.Readers.Lost) == 0 {
		r.Readers.Lost = nil
	}
	quiet := stats.NewLatency()
	for _, s := range slots {
		if s.rep == nil {
			continue
		}
		a := attackSummary{Report: *s.rep, What: s.class.What, QuietFrom: s.quiet, AttackFrom: s.from, AttackTo: s.until}
		_, qh, err := series.Window(s.quiet, s.from)
		if err != nil {
			return err
		}
		_, ah, err := series.Window(s.from, s.until)
		if err != nil {
			return err
		}
		if err := stats.Merge(quiet, qh); err != nil {
			return err
		}
		a.Readers.Quiet, a.Readers.Attack = stats.Summarize(qh), stats.Summarize(ah)
		if a.Readers.Quiet.P99 > 0 {
			a.Readers.Ratio = a.Readers.Attack.P99 / a.Readers.Quiet.P99
		}
		if s.class.TLS {
			a.Server = serverPhaseOf(s, tlsSamples)
		} else {
			a.Server = serverPhaseOf(s, samples)
		}
		if a.Server.FDsAfter > a.Server.FDsBefore {
			r.Suspect = append(r.Suspect, fmt.Sprintf("%s: the server holds %d more fds after the attack than before it",
				a.Class, a.Server.FDsAfter-a.Server.FDsBefore))
		}
		if a.Opened < a.Attempted {
			r.Suspect = append(r.Suspect, fmt.Sprintf("%s: %d of %d attacking connections failed to open: %v",
				a.Class, a.Attempted-a.Opened, a.Attempted, a.Failures))
		}
		r.Attacks = append(r.Attacks, a)
	}
	r.Readers.Quiet = stats.Summarize(quiet)
	if len(r.Readers.Lost) > 0 {
		r.Suspect = append(r.Suspect, fmt.Sprintf("readers were lost during the run: %s", counts(r.Readers.Lost)))
	}

	// Per second: the readers' p99 and the server's last sample in it.
	for t := range seconds {
		_, h := series.At(t)
		pt := hostilePoint{T: t, P99: stats.Summarize(h).P99, RSS: -1, GoMem: -1, FDs: -1}
		for _, sm := range samples {
			if d := sm.at.Sub(r.start); d >= time.Duration(t)*time.Second && d < time.Duration(t+1)*time.Second {
				pt.RSS, pt.GoMem, pt.FDs, pt.Conns = sm.rss, sm.goMem, sm.fds, sm.conns
			}
		}
		r.Series = append(r.Series, pt)
	}
	return nil
}

// serverPhaseOf summarises the server over one slot.
func serverPhaseOf(s *slot, samples []hostileSample) serverPhase {
	p := serverPhase{
		RSSBefore: s.atStart.rss, RSSPeak: s.atStart.rss, RSSEnd: -1, RSSAfter: s.atAfter.rss,
		GoMemBefore: s.atStart.goMem, GoMemPeak: s.atStart.goMem, GoMemAfter: s.atAfter.goMem,
		FDsBefore: s.atStart.fds, FDsPeak: s.atStart.fds, FDsEnd: -1, FDsAfter: s.atAfter.fds,
		ConnsBefore: s.atStart.conns, ConnsPeak: s.atStart.conns,
	}
	for _, sm := range samples {
		if sm.at.Before(s.atStart.at) || sm.at.After(s.atEnd.at) {
			continue
		}
		p.RSSPeak = max(p.RSSPeak, sm.rss)
		p.GoMemPeak = max(p.GoMemPeak, sm.goMem)
		p.FDsPeak = max(p.FDsPeak, sm.fds)
		p.ConnsPeak = max(p.ConnsPeak, sm.conns)
		if !sm.at.After(s.deadline) { // the last reading with the attackers still there
			p.RSSEnd, p.FDsEnd = sm.rss, sm.fds
		}
	}
	// After: the fewest fds during the recovery, so that a connection of
	// our own sampler, or another passing one, does not count as left over.
	for _, sm := range samples {
		if sm.at.After(s.atEnd.at) && sm.at.Before(s.atAfter.at) && sm.fds >= 0 && sm.fds < p.FDsAfter {
			p.FDsAfter = sm.fds
		}
	}
	if n := float64(s.rep.Opened); n > 0 {
		if p.RSSBefore >= 0 {
			p.RSSPerConn = float64(p.RSSPeak-p.RSSBefore) / n
		}
		if p.GoMemBefore >= 0 {
			p.GoMemPerConn = (p.GoMemPeak - p.GoMemBefore) / n
		}
		p.SentPerConn = float64(s.rep.SentBytes) / n
	}
	p.FDsBack = p.FDsAfter >= 0 && p.FDsAfter <= p.FDsBefore
	quiet, attacked := cpuPercent(s.atQuiet, s.atStart), cpuPercent(s.atStart, s.atEnd)
	p.CPUQuiet, p.CPUAttack = quiet, attacked
	if r := s.rep.Requests; r > 0 && quiet >= 0 && attacked >= 0 {
		extra := (attacked - quiet) / 100 * s.atEnd.at.Sub(s.atStart.at).Seconds()
		p.CPUPerRequestUS = max(extra, 0) / float64(r) * 1e6
	}
	return p
}

// cpuPercent is the server's CPU use between two samples, in percent of
// a core; -1 when unknown.
func cpuPercent(a, b hostileSample) float64 {
	d := b.at.Sub(a.at).Seconds()
	if a.cpu < 0 || b.cpu < 0 || d <= 0 {
		return -1
	}
	return 100 * (b.cpu - a.cpu) / d
}
