package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tickerd/tickerd/bench/internal/attack"
	"github.com/tickerd/tickerd/bench/internal/load"
	"github.com/tickerd/tickerd/bench/internal/procstat"
)

// serverSample is one reading of one server; -1 marks a counter of
// /metrics that was not read.
type serverSample struct {
	ok         bool
	cpu        float64 // seconds
	rss        int64
	threads    int
	goroutines float64 // -1: unknown (no /metrics)
	heap       float64 // Go heap in use, bytes
	subs       float64 // tickerd_subscriptions
	msgs       float64 // tickerd_messages_sent_total
	merged     float64 // tickerd_merged_updates_total
	writes     float64 // tickerd_writes_total
	gcs        float64 // go_gc_duration_seconds_count: GC cycles completed
	lat        procstat.Buckets
}

// sampleNode reads n's CPU, memory and threads from /proc (or /metrics
// when it is not local), and with withMetrics the hub's counters too.
func sampleNode(n *node, withMetrics bool) serverSample {
	s := serverSample{goroutines: -1, heap: -1, subs: -1, msgs: -1, merged: -1, writes: -1, gcs: -1}
	if n.pid > 0 {
		if ps, err := procstat.Read(n.pid); err == nil {
			s.ok, s.cpu, s.rss, s.threads = true, ps.CPUSeconds(), ps.RSS, ps.Threads
		}
	}
	if !withMetrics && (s.ok || n.pid > 0) {
		return s
	}
	m, lat := scrapeMetrics(n.http)
	if m == nil {
		return s
	}
	s.lat = lat
	for _, f := range []struct {
		dst  *float64
		name string
	}{
		{&s.goroutines, "go_goroutines"}, {&s.heap, "go_memstats_heap_inuse_bytes"}, {&s.subs, "tickerd_subscriptions"},
		{&s.msgs, "tickerd_messages_sent_total"}, {&s.merged, "tickerd_merged_updates_total"}, {&s.writes, "tickerd_writes_total"},
		{&s.gcs, "go_gc_duration_seconds_count"},
	} {
		if v, ok := m[f.name]; ok {
			*f.dst = v
		}
	}
	if !s.ok {
		if v, ok := m["process_cpu_seconds_total"]; ok {
			s.cpu, s.ok = v, true
			s.rss = int64(m["process_resident_memory_bytes"])
		}
	}
	return s
}

// run performs one benchmark run and returns its report. log receives
// progress lines.
func run(ctx context.Context, c *config, log io.Writer) (rep *report, err error) {
	err = onNodes(ctx, c, log, 1, func(ctx context.Context, nodes []*node, logf func(string, ...any)) error {
		rep, err = measure(ctx, c, nodes, logf)
		return err
	})
	return rep, err
}

// onNodes opens c's servers, runs f against them within c's deadline (by
// default room for runs measurements, the storm and a minute each to
// stop), and stops the servers after.
func onNodes(ctx context.Context, c *config, log io.Writer, runs int, f func(ctx context.Context, nodes []*node, logf func(string, ...any)) error) error {
	deadline := c.deadline
	if deadline <= 0 {
		deadline = time.Duration(runs)*(c.connectTimeout+c.warmup+c.duration) + c.stormSeconds() + time.Duration(runs+1)*time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()
	logf := logger(log)

	nodes, stopNodes, err := openNodes(ctx, c, logf)
	defer stopNodes()
	if err != nil {
		return err
	}
	return f(ctx, nodes, logf)
}

// measure makes one run against nodes: connect, warm up, measure the
// window, and with -storm-back a resume storm after it.
func measure(ctx context.Context, c *config, nodes []*node, logf func(string, ...any)) (*report, error) {
	if err := checkServes(ctx, c, nodes[0].url); err != nil {
		return nil, err
	}
	universe, err := symbolUniverse(ctx, c, nodes[0])
	if err != nil {
		return nil, err
	}
	rep := newReport(c, nodes, universe)

	// The servers before any client: what the feed alone costs, and
	// (after the settle) the baseline of memory.
	pre, preAt := sampleNodes(nodes, false), time.Now()
	if c.settle > 0 {
		sleep(ctx, c.settle)
	}
	base, baseAt := sampleNodes(nodes, true), time.Now()
	rep.setIdle(pre, base, baseAt.Sub(preAt))

	workers, conns, took, err := connectWorkers(c, nodes, universe, logf)
	defer killWorkers(&workers) // the ones left at return: after an error
	if err != nil {
		return nil, err
	}
	rep.setConnect(conns, took)
	logf("connected %d of %d in %.1fs; failures %v", rep.Connect.Established, rep.Connect.Attempted, rep.Connect.Seconds, rep.Connect.Failures)
	if rep.Connect.Established == 0 {
		return rep, errors.New("no connection could be established")
	}
	if c.settle > 0 {
		sleep(ctx, c.settle)
	}
	connected := sampleNodes(nodes, true)

	from := int(c.warmup / time.Second)
	to := from + int(c.duration/time.Second)
	seconds := to + int(c.stormSeconds()/time.Second)
	t0 := time.Now().Add(300 * time.Millisecond).Truncate(time.Millisecond)
	var probe *listingProbe
	if c.watchListings {
		if probe, err = startProbe(ctx, nodes[0].url, c.seed, logf); err != nil {
			return nil, fmt.Errorf("watch listings: %w", err)
		}
		defer probe.stop()
	}
	if err := startRun(workers, load.Command{Op: "start", T0: t0.UnixNano(), Seconds: seconds, WindowFrom: from, WindowTo: to}); err != nil {
		return nil, err
	}
	logf("running: %ds warm-up, %ds window", from, to-from)
	if seconds > to {
		logf("then a resume storm: every client reconnects at once with since %d trades back, watched for %ds", c.stormBack, seconds-to)
	}

	// Sample the servers at every second boundary of the run, with the
	// hub's counters at the window's ends (every second with
	// -server-series).
	samples := make([][]serverSample, len(nodes))
	var cpus [][]procstat.CPUTimes // machine CPUs, per second
	var swg sync.WaitGroup
	swg.Go(func() {
		for s := 0; s <= seconds; s++ {
			if !sleepUntil(ctx, t0.Add(time.Duration(s)*time.Second)) {
				return
			}
			ct, _ := procstat.ReadCPUs() // nil on error: the core figures are left out
			cpus = append(cpus, ct)
			for i, n := range nodes {
				samples[i] = append(samples[i], sampleNode(n, c.serverSeries || s == from || s == to))
			}
		}
	})
	results, err := collectResults(workers, time.Until(t0)+time.Duration(seconds)*time.Second+time.Minute, logf)
	swg.Wait()
	if err != nil {
		return nil, err
	}
	workers = nil
	if seconds > to { // the storm's seconds are not the window's
		if err := rep.setStorm(results); err != nil {
			return rep, err
		}
		for _, res := range results {
			res.CPU = res.CPU[:min(len(res.CPU), to+1)]
		}
		for i := range samples {
			samples[i] = samples[i][:min(len(samples[i]), to+1)]
		}
		cpus = cpus[:min(len(cpus), to+1)]
	}
	if err := rep.setResults(results, base, connected, samples, from, to); err != nil {
		return rep, err
	}
	if err := rep.setCores(cpus, from, to); err != nil {
		return rep, err
	}
	if probe != nil {
		if err := rep.setUniverse(probe.stop(), t0, samples, from, to); err != nil {
			return rep, err
		}
	}
	return rep, ctx.Err()
}

// logger returns a printf for progress lines on log, each with the time.
func logger(log io.Writer) func(format string, args ...any) {
	return func(format string, args ...any) {
		fmt.Fprintf(log, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
	}
}

// sampleNodes samples every node.
func sampleNodes(nodes []*node, withMetrics bool) []serverSample {
	out := make([]serverSample, len(nodes))
	for i, n := range nodes {
		out[i] = sampleNode(n, withMetrics)
	}
	return out
}

// openNodes starts the servers of a -spawn run, or parses -url; stop ends
// the spawned ones by PID.
func openNodes(ctx context.Context, c *config, logf func(string, ...any)) (nodes []*node, stop func(), err error) {
	nodes, _, stop, err = openNodesTLS(ctx, c, logf, false)
	return nodes, stop, err
}

// openNodesTLS is openNodes, and with wss one more server that serves
// wss:// only: with -spawn a tickerd like the others with a certificate
// made for the run, else the one of -wss-url.
func openNodesTLS(ctx context.Context, c *config, logf func(string, ...any), wss bool) (nodes []*node, tlsNode *node, stop func(), err error) {
	stop = func() {
		for _, n := range nodes {
			n.stop()
		}
		if tlsNode != nil {
			tlsNode.stop()
		}
	}
	if !c.spawn {
		if nodes, err = parseTargets(c.urls, c.allowRemote); err != nil {
			return nil, nil, stop, err
		}
		if wss {
			ns, err := parseTargets(c.wssURL, false)
			if err != nil {
				return nil, nil, stop, fmt.Errorf("-wss-url: %w", err)
			}
			tlsNode = ns[0]
		}
		for i, n := range append(nodes, tlsNode) {
			if n == nil {
				continue
			}
			if len(nodes) == 1 && c.serverPID > 0 && n != tlsNode {
				n.pid = c.serverPID
			} else if u, err := url.Parse(n.url); err == nil && checkLoopback(u.Hostname()) == nil {
				if p, err := strconv.Atoi(u.Port()); err == nil {
					n.pid = listenerPID(p)
				}
			}
			logf("target %d: %s (local pid %d)", i, n.url, n.pid)
		}
		return nodes, tlsNode, stop, nil
	}
	tmp, err := os.MkdirTemp("", "tickbench-")
	if err != nil {
		return nil, nil, stop, err
	}
	bin := c.serverBin
	if bin == "" {
		logf("building tickerd into %s", tmp)
		if bin, err = buildServer(ctx, tmp); err != nil {
			return nil, nil, stop, err
		}
	}
	sc := spawnConfig{bin: bin, cpus: c.serverCPUs, gomaxprocs: c.serverGOMAX, args: c.spawnArgs(), logDir: tmp}
	for i := range c.nodes {
		port, err := freePort()
		if err != nil {
			return nodes, nil, stop, err
		}
		n, err := startNode(ctx, sc, port)
		if err != nil {
			return nodes, nil, stop, err
		}
		nodes = append(nodes, n)
		logf("started tickerd %d: pid %d, %s %s (cpus %s, log %s)", i, n.pid, n.url, strings.Join(sc.args, " "), orAll(c.serverCPUs), n.logPath)
	}
	if !wss {
		return nodes, nil, stop, nil
	}
	certFile, keyFile, err := writeSelfSigned(tmp)
	if err != nil {
		return nodes, nil, stop, err
	}
	sc.args = append(slices.Clip(sc.args), "-tls-cert", certFile, "-tls-key", keyFile)
	sc.tls = true
	port, err := freePort()
	if err != nil {
		return nodes, nil, stop, err
	}
	if tlsNode, err = startNode(ctx, sc, port); err != nil {
		return nodes, nil, stop, err
	}
	logf("started tickerd for wss://: pid %d, %s (log %s)", tlsNode.pid, tlsNode.url, tlsNode.logPath)
	return nodes, tlsNode, stop, nil
}

// writeSelfSigned writes a certificate and key for 127.0.0.1 into dir.
func writeSelfSigned(dir string) (certFile, keyFile string, err error) {
	certPEM, keyPEM, err := attack.SelfSigned()
	if err != nil {
		return "", "", err
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
		return "", "", err
	}
	return certFile, keyFile, os.WriteFile(keyFile, keyPEM, 0o600)
}

// startWorkers starts enough worker processes that none holds more than
// -per-worker connections, and sends each its plan. The caller kills the
// workers returned, also on error.
func startWorkers(c *config, nodes []*node, universe []string) ([]*workerProc, error) {
	nw := workerCount(c.conns+c.burstConns+c.churnConc, c.perWorker, c.workers)
	sizes, bursts := split(c.conns, nw), split(c.burstConns, nw)
	churn := split(int(c.churnRate*1000), nw)
	var src []string
	if !c.allowRemote {
		src = srcIPs(c.srcIPs)
	}
	targets := make([]string, len(nodes))
	for i, n := range nodes {
		targets[i] = n.url
	}
	var workers []*workerProc
	first, burstFirst := 0, c.conns
	for i := range nw {
		p := load.Plan{
			Worker: i, Targets: targets, First: first, Count: sizes[i], SrcIPs: src,
			Symbols: universe, K: c.k, KMax: c.kMax, Dist: c.dist, Seed: c.seed, Query: c.query, Slow: c.slow,
			Sub: load.Subscription{MaxRate: c.maxRate, Channel: c.channel, Depths: c.depthList(), Deflate: c.deflate,
				Stall: c.stall, StallEvery: c.stallEvery, SlowRcvBuf: c.slowRcvBuf},
			Storm:   c.stormPlan(nw),
			Readers: c.readers, ReadEvery: c.readEvery, DialConcurrency: c.dialConc, ConnectRate: c.connectRate / float64(nw),
			DialTimeout: c.dialTimeout, ConnectTimeout: c.connectTimeout,
			Churn: load.ChurnPlan{Rate: float64(churn[i]) / 1000, Concurrency: max(1, c.churnConc/nw)},
			Burst: load.BurstPlan{First: burstFirst, Count: bursts[i], At: (c.warmup + c.burstAt).Seconds()},
		}
		first += sizes[i]
		burstFirst += bursts[i]
		w, err := startWorker(i, p)
		if err != nil {
			return workers, err
		}
		workers = append(workers, w)
	}
	return workers, nil
}

// connectWorkers starts the workers and waits until each has opened its
// connections; it returns their reports and how long that took. The
// caller kills the workers returned, also on error.
func connectWorkers(c *config, nodes []*node, universe []string, logf func(string, ...any)) ([]*workerProc, []*load.ConnectReport, time.Duration, error) {
	workers, err := startWorkers(c, nodes, universe)
	if err != nil {
		return workers, nil, 0, err
	}
	k := strconv.Itoa(c.k)
	if c.kMax > c.k {
		k += ".." + strconv.Itoa(c.kMax)
	}
	logf("%d worker process(es) connecting %d connections (k=%s, %s over %d symbols)", len(workers), c.conns, k, c.dist, len(universe))
	start := time.Now()
	var reps []*load.ConnectReport
	for _, w := range workers {
		ev, err := w.next("connected", c.connectTimeout+time.Minute)
		if err != nil {
			return workers, nil, 0, err
		}
		reps = append(reps, ev.Connected)
	}
	return workers, reps, time.Since(start), nil
}

// startRun sends every worker the start command.
func startRun(workers []*workerProc, cmd load.Command) error {
	for _, w := range workers {
		if err := w.send(cmd); err != nil {
			return fmt.Errorf("worker %d: %w", w.id, err)
		}
	}
	return nil
}

// collectResults waits for every worker's result and lets the workers
// exit; on error the caller kills them.
func collectResults(workers []*workerProc, timeout time.Duration, logf func(string, ...any)) ([]*load.Result, error) {
	var results []*load.Result
	for _, w := range workers {
		ev, err := w.next("result", timeout)
		if err != nil {
			return nil, err
		}
		results = append(results, ev.Result)
	}
	for _, w := range workers {
		if err := w.finish(); err != nil {
			logf("worker %d: %v", w.id, err)
		}
	}
	return results, nil
}

func orAll(s string) string {
	if s == "" {
		return "all"
	}
	return s
}

// symbolUniverse returns the symbols to choose from: -symbols, or the
// server's, cut to -universe. A server whose universe changes
// (-feed-universe, -watch-listings) is asked until two answers a second
// apart have as many symbols, so a simulated universe still listing its
// first day is not cut short.
func symbolUniverse(ctx context.Context, c *config, n *node) ([]string, error) {
	var syms []string
	if c.symbols != "" {
		for _, s := range strings.Split(c.symbols, ",") {
			if s = strings.TrimSpace(s); s != "" {
				syms = append(syms, s)
			}
		}
	} else {
		var err error
		if syms, err = fetchSymbols(ctx, n.url, n.http); err != nil {
			return nil, err
		}
		for stable := !(c.feedUniverse > 0 || c.watchListings); !stable; {
			if !sleepUntil(ctx, time.Now().Add(time.Second)) {
				return nil, ctx.Err()
			}
			again, err := fetchSymbols(ctx, n.url, n.http)
			if err != nil {
				return nil, err
			}
			stable, syms = len(again) == len(syms), again
		}
	}
	if c.universe > 0 && c.universe < len(syms) {
		syms = syms[:c.universe]
	}
	if len(syms) == 0 {
		return nil, errors.New("empty symbol universe")
	}
	return syms, nil
}

func sleep(ctx context.Context, d time.Duration) { sleepUntil(ctx, time.Now().Add(d)) }

// sleepUntil waits until t and reports false if ctx ended first.
func sleepUntil(ctx context.Context, t time.Time) bool {
	tm := time.NewTimer(time.Until(t))
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-ctx.Done():
		return false
	}
}
