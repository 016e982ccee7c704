package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tickerd/tickerd/bench/internal/load"
	"github.com/tickerd/tickerd/bench/internal/procstat"
	"github.com/tickerd/tickerd/bench/internal/stats"
	"github.com/tickerd/tickerd/bench/internal/svgplot"
)

// report is a run's result; it is written as the JSON result file.
type report struct {
	Scenario string    `json:"scenario"`
	Label    string    `json:"label,omitempty"`
	Command  string    `json:"command"`
	Time     time.Time `json:"time"`
	Machine  machine   `json:"machine"`
	Settings settings  `json:"settings"`

	Connect   connectSummary     `json:"connect"`
	Window    windowSummary      `json:"window"`
	Server    serverSummary      `json:"server"`
	Generator generatorSummary   `json:"generator"`
	Pace      *load.PaceSummary  `json:"pace,omitempty"`     // with -max-rate
	Universe  *universeSummary   `json:"universe,omitempty"` // with -watch-listings
	Slow      *load.SlowReport   `json:"slow,omitempty"`
	Churn     *churnSummary      `json:"churn,omitempty"`
	Burst     *connectSummary    `json:"burst,omitempty"`
	Storm     *load.StormSummary `json:"storm,omitempty"` // with -storm-back
	Cores     []coreSummary      `json:"cores,omitempty"` // every CPU of the machine over the window
	Series    []seriesPoint      `json:"series"`
	Suspect   []string           `json:"suspect,omitempty"`
	Lost      map[string]int     `json:"lost,omitempty"` // connections lost during the run, by cause
	Open      int                `json:"open_at_end"`
	PerSymbol []symbolSummary    `json:"per_symbol,omitempty"`
	// PerSymbolOmitted counts the symbols left out of PerSymbol: above
	// maxPerSymbol, only the busiest and any with a disorder are kept.
	PerSymbolOmitted int `json:"per_symbol_omitted,omitempty"`
	universe         []string
	pids             []int        // per target; 0 = not local
	series           stats.Series // the merged per-second series, for setUniverse
}

// maxPerSymbol bounds the per-symbol entries of a result.
const maxPerSymbol = 1000

type machine struct {
	CPU    string `json:"cpu"`
	Cores  int    `json:"cores"`
	MemGiB int    `json:"mem_gib"`
	Kernel string `json:"kernel"`
	Go     string `json:"go"`
}

type settings struct {
	Conns       int      `json:"conns"`
	K           int      `json:"k"`
	KMax        int      `json:"k_max,omitempty"`
	Dist        string   `json:"dist"`
	MaxRate     float64  `json:"max_rate,omitempty"`
	Universe    int      `json:"universe"`
	Slow        float64  `json:"slow,omitempty"`
	ChurnRate   float64  `json:"churn_rate,omitempty"`
	BurstConns  int      `json:"burst_conns,omitempty"`
	BurstAt     float64  `json:"burst_at_s,omitempty"`
	Warmup      int      `json:"warmup_s"`
	Duration    int      `json:"duration_s"`
	Targets     []string `json:"targets"`
	Spawned     bool     `json:"spawned"`
	ServerArgs  []string `json:"server_args,omitempty"`
	ServerCPUs  string   `json:"server_cpus,omitempty"`
	ServerGOMAX int      `json:"server_gomaxprocs,omitempty"`
	CPUs        string   `json:"generator_cpus,omitempty"`
	ReadEvery   string   `json:"read_every,omitempty"` // readers collect events at most this often
	SrcIPs      int      `json:"src_ips"`
	Channel     string   `json:"channel,omitempty"`
	Depths      []int    `json:"depths,omitempty"`
	Stall       string   `json:"stall,omitempty"` // slow readers stall this long
	StallEvery  string   `json:"stall_every,omitempty"`
	SlowRcvBuf  int      `json:"slow_rcvbuf,omitempty"`
	StormBack   uint64   `json:"storm_back,omitempty"`
	Deflate     bool     `json:"deflate,omitempty"`
}

type connectSummary struct {
	Attempted   int               `json:"attempted"`
	Established int               `json:"established"`
	Slow        int               `json:"slow,omitempty"`
	Symbols     int64             `json:"symbols"` // subscribed, in all
	Failures    map[string]int    `json:"failures,omitempty"`
	Seconds     float64           `json:"seconds"`
	PerSecond   float64           `json:"per_second"`
	Latency     stats.Percentiles `json:"latency"` // one connection: dial + handshake + subscribe sent
}

type windowSummary struct {
	Seconds int `json:"seconds"`
	stats.Counters
	MessagesPerSec float64           `json:"messages_per_s"`
	TicksPerSec    float64           `json:"ticks_per_s"`
	Latency        stats.Percentiles `json:"latency"` // tick ts to receive
}

type nodeSummary struct {
	URL              string  `json:"url"`
	PID              int     `json:"pid,omitempty"`
	RSSBefore        int64   `json:"rss_before_bytes"`
	HeapBefore       float64 `json:"heap_before_bytes"` // Go heap in use; -1: unknown (no /metrics)
	RSSConnected     int64   `json:"rss_connected_bytes"`
	RSSEnd           int64   `json:"rss_end_bytes"`
	Threads          int     `json:"threads"`
	GoroutinesBefore float64 `json:"goroutines_before"`
	GoroutinesEnd    float64 `json:"goroutines_end"`
	CPUSeconds       float64 `json:"cpu_s_window"`
}

type serverSummary struct {
	Measured        bool          `json:"measured"`
	Nodes           []nodeSummary `json:"nodes"`
	RSSPerConn      float64       `json:"rss_per_conn_bytes"` // (RSS at window end - RSS before connecting) / established
	CPUSeconds      float64       `json:"cpu_s_window"`
	CPUPercent      float64       `json:"cpu_percent"`        // of one core
	CPUPerMessageUS float64       `json:"cpu_per_message_us"` // server CPU / messages received in the window
	Goroutines      float64       `json:"goroutines_end"`     // -1: unknown (no /metrics)
	// IdleCPUPercent is the servers' CPU before any client connected: the
	// feed alone. CPUPerMessageNetUS leaves it out of CPUPerMessageUS.
	IdleCPUPercent     float64 `json:"idle_cpu_percent"`
	CPUPerMessageNetUS float64 `json:"cpu_per_message_net_us"`
	// From /metrics over the window (-1: not exported): updates the hub
	// merged (tickerd_merged_updates_total) and data frames per write.
	Merged         float64 `json:"merged"`
	FramesPerWrite float64 `json:"frames_per_write"`
	Subscriptions  float64 `json:"subscriptions"` // tickerd_subscriptions once connected; -1: unknown
}

type generatorSummary struct {
	Workers       int     `json:"workers"`
	Cores         int     `json:"cores"`
	CPUSeconds    float64 `json:"cpu_s_window"`
	CPUPercent    float64 `json:"cpu_percent_of_cores"`
	BusyMax       float64 `json:"reader_busy_max"`  // busiest reader-second, fraction
	BusyMean      float64 `json:"reader_busy_mean"` // mean over the window of the busiest reader
	FullPolls     int64   `json:"full_polls"`
	EventsPerWait float64 `json:"events_per_wait"`      // mean ready connections per epoll wait
	Backlog       int64   `json:"backlog_bytes_at_end"` // unread by the readers when the run ended
	BacklogConns  int     `json:"backlog_conns_at_end"`
	Saturated     bool    `json:"saturated"`
}

// coreSummary is one CPU's use over the window from /proc/stat, which also
// counts the kernel's softirq work of delivering loopback packets that
// per-process figures miss.
type coreSummary struct {
	CPU            int     `json:"cpu"`
	BusyPercent    float64 `json:"busy_percent"`
	SoftIRQPercent float64 `json:"softirq_percent"`
}

type churnSummary struct {
	Cycles    int64             `json:"cycles"`
	PerSecond float64           `json:"cycles_per_s"`
	OpsPerSec float64           `json:"ops_per_s"` // connect, subscribe, unsubscribe, close
	Failures  map[string]int    `json:"failures,omitempty"`
	Latency   stats.Percentiles `json:"latency"`
}

type seriesPoint struct {
	T          int       `json:"t"`
	Messages   int64     `json:"messages"`
	Ticks      int64     `json:"ticks"`
	Merged     int64     `json:"merged"`
	Delisted   int64     `json:"delisted,omitempty"`
	P50        float64   `json:"p50_ms"`
	P90        float64   `json:"p90_ms"`
	P99        float64   `json:"p99_ms"`
	P999       float64   `json:"p99_9_ms"`
	Max        float64   `json:"max_ms"`
	ServerCPU  float64   `json:"server_cpu_percent"`
	ServerRSS  int64     `json:"server_rss_bytes"`
	ServerP99  float64   `json:"server_p99_ms,omitempty"` // tick-to-write, bucket bound (-server-series)
	GenCPU     float64   `json:"generator_cpu_percent"`
	ReaderBusy float64   `json:"reader_busy"`
	CoreBusy   []float64 `json:"core_busy_percent,omitempty"`
}

type symbolSummary struct {
	Symbol string `json:"symbol"`
	load.SymbolCounters
}

func newReport(c *config, nodes []*node, universe []string) *report {
	r := &report{
		Scenario: c.scenario, Label: c.label, Command: c.command, Time: time.Now().UTC(),
		Machine:  machineInfo(),
		universe: universe,
		Settings: settings{
			Conns: c.conns, K: c.k, KMax: c.kMax, Dist: c.dist, MaxRate: c.maxRate, Universe: len(universe), Slow: c.slow,
			ChurnRate: c.churnRate, BurstConns: c.burstConns,
			Warmup: int(c.warmup / time.Second), Duration: int(c.duration / time.Second),
			Spawned: c.spawn, CPUs: c.cpus, SrcIPs: c.srcIPs,
		},
	}
	if c.readEvery > 0 {
		r.Settings.ReadEvery = c.readEvery.String()
	}
	r.Settings.Channel, r.Settings.Depths, r.Settings.StormBack, r.Settings.Deflate = c.channel, c.depthList(), c.stormBack, c.deflate
	if c.stall > 0 {
		r.Settings.Stall, r.Settings.StallEvery = c.stall.String(), c.stallEvery.String()
		r.Settings.SlowRcvBuf = c.slowRcvBuf
	}
	if c.burstConns > 0 {
		r.Settings.BurstAt = c.burstAt.Seconds()
	}
	if c.spawn {
		r.Settings.ServerArgs = c.spawnArgs()
		r.Settings.ServerCPUs = orAll(c.serverCPUs)
		r.Settings.ServerGOMAX = c.serverGOMAX
	}
	for _, n := range nodes {
		r.Settings.Targets = append(r.Settings.Targets, n.url)
		r.pids = append(r.pids, n.pid)
	}
	return r
}

func machineInfo() machine {
	m := machine{Cores: runtime.NumCPU(), Go: runtime.Version()}
	// NumCPU counts our affinity mask, which -cpus narrows; count the machine.
	if b, err := os.ReadFile("/sys/devices/system/cpu/online"); err == nil {
		if set, err := parseCPUs(strings.TrimSpace(string(b))); err == nil {
			m.Cores = set.Count()
		}
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		m.Kernel = unix.ByteSliceToString(u.Release[:])
	}
	var si unix.Sysinfo_t
	if unix.Sysinfo(&si) == nil {
		m.MemGiB = int(math.Round(float64(si.Totalram) * float64(si.Unit) / (1 << 30)))
	}
	return m
}

func mergeConnect(reps []*load.ConnectReport, wall time.Duration) (connectSummary, error) {
	s := connectSummary{Failures: map[string]int{}}
	h := stats.NewLatency()
	for _, r := range reps {
		if r == nil {
			continue
		}
		s.Attempted += r.Attempted
		s.Established += r.Established
		s.Slow += r.Slow
		s.Symbols += r.Symbols
		for k, v := range r.Failures {
			s.Failures[k] += v
		}
		s.Seconds = max(s.Seconds, r.Seconds)
		lh, err := stats.Decode(r.Latency)
		if err != nil {
			return s, err
		}
		if err := stats.Merge(h, lh); err != nil {
			return s, err
		}
	}
	if wall > 0 {
		s.Seconds = wall.Seconds()
	}
	if s.Seconds > 0 {
		s.PerSecond = float64(s.Established) / s.Seconds
	}
	s.Latency = stats.Summarize(h)
	if len(s.Failures) == 0 {
		s.Failures = nil
	}
	return s, nil
}

func (r *report) setConnect(reps []*load.ConnectReport, wall time.Duration) {
	r.Connect, _ = mergeConnect(reps, wall) // a bad histogram only loses the connect latency
}

// setResults merges the workers' results and the server samples.
func (r *report) setResults(results []*load.Result, base, connected []serverSample, samples [][]serverSample, from, seconds int) error {
	series := &r.series
	perSym := make([]load.SymbolCounters, len(r.universe))
	var paces []*load.PaceReport
	r.Lost = map[string]int{}
	genCPU := make([]float64, seconds+1)
	genOK := true
	busy := make([]float64, seconds)
	var slow load.SlowReport
	var churn []load.ChurnReport
	var bursts []*load.ConnectReport
	var waits, events int64
	for _, res := range results {
		if err := series.AddWire(res.Series); err != nil {
			return err
		}
		for _, ps := range res.PerSymbol {
			if ps.Index >= 0 && ps.Index < len(perSym) {
				perSym[ps.Index].Add(ps.SymbolCounters)
			}
		}
		paces = append(paces, res.Pace)
		for k, v := range res.Lost {
			r.Lost[k] += v
		}
		r.Open += res.Open
		if len(res.CPU) != seconds+1 {
			genOK = false
		} else {
			for i, v := range res.CPU {
				genCPU[i] += v
			}
		}
		for i, b := range res.Busy {
			if i < len(busy) {
				busy[i] = max(busy[i], b)
			}
		}
		r.Generator.FullPolls += res.FullPolls
		waits += res.Waits
		r.Generator.Backlog += res.Backlog
		r.Generator.BacklogConns += res.BacklogConns
		events += res.Events
		r.Generator.Cores = max(r.Generator.Cores, res.Cores)
		slow.Count += res.Slow.Count
		slow.ClosedByServer += res.Slow.ClosedByServer
		slow.QueuedBytes += res.Slow.QueuedBytes
		churn = append(churn, res.Churn)
		if res.Burst != nil {
			bursts = append(bursts, res.Burst)
		}
	}
	if len(r.Lost) == 0 {
		r.Lost = nil
	}
	r.Generator.Workers = len(results)
	if waits > 0 {
		r.Generator.EventsPerWait = float64(events) / float64(waits)
	}

	// The window.
	c, h, err := series.Window(from, seconds)
	if err != nil {
		return err
	}
	win := float64(seconds - from)
	r.Window = windowSummary{Seconds: seconds - from, Counters: c, Latency: stats.Summarize(h),
		MessagesPerSec: float64(c.Messages()) / win, TicksPerSec: float64(c.Ticks) / win}
	r.setPerSymbol(perSym)
	if r.Pace, err = load.MergePace(paces); err != nil {
		return err
	}

	// The servers.
	sv := &r.Server
	sv.Goroutines = 0
	measured := true
	var rssDelta float64
	for i := range base {
		ns := nodeSummary{URL: r.Settings.Targets[i], PID: r.pids[i], RSSBefore: base[i].rss, RSSConnected: connected[i].rss,
			GoroutinesBefore: base[i].goroutines, HeapBefore: base[i].heap}
		sm := samples[i]
		if len(sm) == seconds+1 && base[i].ok && sm[from].ok && sm[seconds].ok {
			ns.RSSEnd = sm[seconds].rss
			ns.Threads = sm[seconds].threads
			ns.GoroutinesEnd = sm[seconds].goroutines
			ns.CPUSeconds = sm[seconds].cpu - sm[from].cpu
			rssDelta += float64(ns.RSSEnd - ns.RSSBefore)
		} else {
			measured = false
		}
		if ns.GoroutinesEnd < 0 || sv.Goroutines < 0 {
			sv.Goroutines = -1
		} else {
			sv.Goroutines += ns.GoroutinesEnd
		}
		sv.CPUSeconds += ns.CPUSeconds
		sv.Nodes = append(sv.Nodes, ns)
	}
	sv.Measured = measured
	if measured {
		sv.CPUPercent = 100 * sv.CPUSeconds / win
		if n := r.Connect.Established; n > 0 {
			sv.RSSPerConn = rssDelta / float64(n)
		}
		if m := c.Messages(); m > 0 {
			sv.CPUPerMessageUS = sv.CPUSeconds / float64(m) * 1e6
			net := max(sv.CPUSeconds-sv.IdleCPUPercent/100*win, 0)
			sv.CPUPerMessageNetUS = net / float64(m) * 1e6
		}
	}
	sv.Merged, sv.FramesPerWrite, sv.Subscriptions = hubCounters(samples, connected, from, seconds)

	// The generator.
	g := &r.Generator
	if genOK {
		g.CPUSeconds = genCPU[seconds] - genCPU[from]
		if g.Cores > 0 {
			g.CPUPercent = 100 * g.CPUSeconds / win / float64(g.Cores)
		}
	}
	for s := from; s < seconds; s++ {
		g.BusyMax = max(g.BusyMax, busy[s])
		g.BusyMean += busy[s] / win
	}
	if g.CPUPercent > 90 {
		r.Suspect = append(r.Suspect, fmt.Sprintf("generator CPU at %.0f%% of its %d core(s): it may be the bottleneck", g.CPUPercent, g.Cores))
		g.Saturated = true
	}
	if n := r.Open; n > 0 && g.Backlog/int64(n) > 4096 {
		r.Suspect = append(r.Suspect, fmt.Sprintf("readers left %s unread at the end (%.0f B per connection): they fell behind", bytesH(float64(g.Backlog)), float64(g.Backlog)/float64(n)))
		g.Saturated = true
	}
	if g.BusyMean > 0.9 {
		r.Suspect = append(r.Suspect, fmt.Sprintf("generator readers busy %.0f%% of the window: receive times lag", 100*g.BusyMean))
		g.Saturated = true
	}

	// Per-second series.
	for s := range seconds {
		sc, sh := series.At(s)
		p := stats.Summarize(sh)
		pt := seriesPoint{T: s, Messages: sc.Messages(), Ticks: sc.Ticks, Merged: sc.Merged, Delisted: sc.Delisted,
			P50: p.P50, P90: p.P90, P99: p.P99, P999: p.P999, Max: p.Max, ReaderBusy: busy[s]}
		if q, _, ok := serverLatency(samples, []int{s}).Quantile(0.99); ok {
			pt.ServerP99 = 1000 * q
		}
		for i := range samples {
			if sm := samples[i]; len(sm) > s+1 && sm[s].ok && sm[s+1].ok {
				pt.ServerCPU += 100 * (sm[s+1].cpu - sm[s].cpu)
				pt.ServerRSS += sm[s+1].rss
			}
		}
		if genOK && g.Cores > 0 {
			pt.GenCPU = 100 * (genCPU[s+1] - genCPU[s]) / float64(g.Cores)
		}
		r.Series = append(r.Series, pt)
	}

	if slow.Count > 0 {
		r.Slow = &slow
	}
	if r.Settings.ChurnRate > 0 {
		cs := &churnSummary{Failures: map[string]int{}}
		ch := stats.NewLatency()
		secs := 0.0
		for _, c := range churn {
			cs.Cycles += c.Cycles
			for k, v := range c.Failures {
				cs.Failures[k] += v
			}
			secs = max(secs, c.Seconds)
			lh, err := stats.Decode(c.Latency)
			if err != nil {
				return err
			}
			if err := stats.Merge(ch, lh); err != nil {
				return err
			}
		}
		if secs > 0 {
			cs.PerSecond = float64(cs.Cycles) / secs
			cs.OpsPerSec = 4 * cs.PerSecond
		}
		cs.Latency = stats.Summarize(ch)
		if len(cs.Failures) == 0 {
			cs.Failures = nil
		}
		r.Churn = cs
	}
	if len(bursts) > 0 {
		b, err := mergeConnect(bursts, 0)
		if err != nil {
			return err
		}
		r.Burst = &b
	}
	if n := len(r.Connect.Failures); n > 0 {
		r.Suspect = append(r.Suspect, fmt.Sprintf("%d connection(s) failed to open", r.Connect.Attempted-r.Connect.Established))
	}
	if c.Negative > 0 {
		r.Suspect = append(r.Suspect, fmt.Sprintf("%d tick(s) had ts after the receive time", c.Negative))
	}
	return nil
}

// setIdle notes the servers' CPU use over d before any client connected:
// what the feed costs alone.
func (r *report) setIdle(pre, base []serverSample, d time.Duration) {
	var cpu float64
	ok := d > 0
	for i := range pre {
		ok = ok && pre[i].ok && base[i].ok
		cpu += base[i].cpu - pre[i].cpu
	}
	if ok {
		r.Server.IdleCPUPercent = 100 * cpu / d.Seconds()
	}
}

// setPerSymbol keeps the per-symbol counters with a count: all of them up
// to maxPerSymbol, else the busiest and those with a disorder.
func (r *report) setPerSymbol(perSym []load.SymbolCounters) {
	var all []symbolSummary
	for i, pc := range perSym {
		if pc != (load.SymbolCounters{}) {
			all = append(all, symbolSummary{Symbol: r.universe[i], SymbolCounters: pc})
		}
	}
	if len(all) > maxPerSymbol {
		slices.SortStableFunc(all, func(a, b symbolSummary) int {
			ba, bb := a.OutOfOrder+a.Duplicates > 0, b.OutOfOrder+b.Duplicates > 0
			switch {
			case ba != bb && ba:
				return -1
			case ba != bb:
				return 1
			}
			return cmp.Compare(b.Ticks, a.Ticks)
		})
		r.PerSymbolOmitted = len(all) - maxPerSymbol
		all = all[:maxPerSymbol]
	}
	r.PerSymbol = all
}

// hubCounters returns, over the window, the updates the hub merged and
// its data frames per write, and its subscriptions once connected; -1
// for each /metrics did not give.
func hubCounters(samples [][]serverSample, connected []serverSample, from, seconds int) (merged, perWrite, subs float64) {
	merged, perWrite, subs = 0, -1, 0
	var msgs, writes float64
	for i, sm := range samples {
		if subs >= 0 && connected[i].subs >= 0 {
			subs += connected[i].subs
		} else {
			subs = -1
		}
		if merged < 0 || len(sm) != seconds+1 {
			merged = -1
			continue
		}
		a, b := sm[from], sm[seconds]
		if a.merged < 0 || b.merged < 0 || a.msgs < 0 || b.msgs < 0 || a.writes < 0 || b.writes < 0 {
			merged = -1
			continue
		}
		merged += b.merged - a.merged
		msgs += b.msgs - a.msgs
		writes += b.writes - a.writes
	}
	if merged >= 0 && writes > 0 {
		perWrite = msgs / writes
	}
	return merged, perWrite, subs
}

// serverLatency returns the server's tick-to-write observations during
// the given seconds of the run, over every node; empty when they were not
// scraped (-server-series).
func serverLatency(samples [][]serverSample, secs []int) procstat.Buckets {
	var all procstat.Buckets
	for _, sm := range samples {
		for _, s := range secs {
			if s+1 >= len(sm) {
				continue
			}
			if d, ok := sm[s+1].lat.Sub(sm[s].lat); ok {
				all.Add(d)
			}
		}
	}
	return all
}

// setCores derives per-CPU use from per-second /proc/stat samples.
func (r *report) setCores(cpus [][]procstat.CPUTimes, from, seconds int) error {
	if len(cpus) != seconds+1 || cpus[from] == nil || cpus[seconds] == nil || len(cpus[from]) != len(cpus[seconds]) {
		return nil // not sampled: leave the core figures out
	}
	pct := func(a, b procstat.CPUTimes, part func(procstat.CPUTimes) uint64) float64 {
		if t := b.Total() - a.Total(); t > 0 {
			return 100 * float64(part(b)-part(a)) / float64(t)
		}
		return 0
	}
	busy := procstat.CPUTimes.Busy
	soft := func(t procstat.CPUTimes) uint64 { return t.SoftIRQ }
	for i, a := range cpus[from] {
		b := cpus[seconds][i]
		r.Cores = append(r.Cores, coreSummary{CPU: a.CPU, BusyPercent: pct(a, b, busy), SoftIRQPercent: pct(a, b, soft)})
	}
	for s := range r.Series {
		if s+1 < len(cpus) && len(cpus[s]) == len(cpus[s+1]) {
			for i := range cpus[s] {
				r.Series[s].CoreBusy = append(r.Series[s].CoreBusy, pct(cpus[s][i], cpus[s+1][i], busy))
			}
		}
	}
	if g := r.Settings.CPUs; g != "" {
		if set, err := parseCPUs(g); err == nil {
			for _, c := range r.Cores {
				// The core counts every process on the machine; only blame
				// it when the generator itself used most of it.
				if set.IsSet(c.CPU) && c.BusyPercent > 95 && r.Generator.CPUPercent > 75 {
					g := r.Generator
					r.Suspect = append(r.Suspect, fmt.Sprintf("generator core cpu%d was %.0f%% busy (softirq %.0f%%): no headroom left, though readers were busy %.0f%% and left %s unread at the end",
						c.CPU, c.BusyPercent, c.SoftIRQPercent, 100*g.BusyMean, bytesH(float64(g.Backlog))))
				}
			}
		}
	}
	return nil
}

// write prints the summary and writes the JSON and SVG files asked for.
func (r *report) write(c *config, w io.Writer) error {
	r.printSummary(w)
	return writeFiles(c, w, r, len(r.Series) > 0, r.plot)
}

// writeFiles writes v as the JSON result to -out and, when there is
// something to draw, plot's picture to -svg, and says so on w.
func writeFiles(c *config, w io.Writer, v any, draw bool, plot func() svgplot.Plot) error {
	if c.out != "" {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(c.out, append(b, '\n'), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(w, "result: %s\n", c.out)
	}
	if c.svg != "" && draw {
		f, err := os.Create(c.svg)
		if err != nil {
			return err
		}
		if err := plot().Write(f); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		fmt.Fprintf(w, "picture: %s\n", c.svg)
	}
	return nil
}

func sortedKeys(m map[string]int) []string { return slices.Sorted(maps.Keys(m)) }
