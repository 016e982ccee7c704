package main

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tickerd/tickerd/bench/internal/attack"
	"github.com/tickerd/tickerd/bench/internal/stats"
	"github.com/tickerd/tickerd/bench/internal/svgplot"
)

// hostileReport is a hostile run's result; it is written as the JSON file.
type hostileReport struct {
	Scenario string          `json:"scenario"`
	Label    string          `json:"label,omitempty"`
	Command  string          `json:"command"`
	Time     time.Time       `json:"time"`
	Machine  machine         `json:"machine"`
	Settings hostileSettings `json:"settings"`
	Readers  readersSummary  `json:"readers"`
	Attacks  []attackSummary `json:"attacks"`
	Series   []hostilePoint  `json:"series"`
	Suspect  []string        `json:"suspect,omitempty"`
	start    time.Time       // t0: second 0 of the series
}

type hostileSettings struct {
	Readers     int      `json:"readers"`
	K           int      `json:"k"`
	Dist        string   `json:"dist"`
	Universe    int      `json:"universe"`
	Warmup      int      `json:"warmup_s"`
	Quiet       int      `json:"quiet_s"`
	Attack      int      `json:"attack_s"`
	Recover     int      `json:"recover_s"`
	AttackConns int      `json:"attack_conns,omitempty"` // 0: each class's default
	Target      string   `json:"target"`
	PID         int      `json:"pid,omitempty"`
	TLSTarget   string   `json:"tls_target,omitempty"` // the server the wss classes attack
	TLSPID      int      `json:"tls_pid,omitempty"`
	Spawned     bool     `json:"spawned"`
	ServerArgs  []string `json:"server_args,omitempty"`
	SrcIPs      int      `json:"src_ips"`
}

type readersSummary struct {
	Connect connectSummary    `json:"connect"`
	Quiet   stats.Percentiles `json:"quiet_latency"` // every quiet window merged
	Lost    map[string]int    `json:"lost,omitempty"`
	Open    int               `json:"open_at_end"`
}

// attackSummary is one attack class's window.
type attackSummary struct {
	attack.Report
	What       string       `json:"what"`
	QuietFrom  int          `json:"quiet_from_s"`
	AttackFrom int          `json:"attack_from_s"`
	AttackTo   int          `json:"attack_to_s"`
	Server     serverPhase  `json:"server"`
	Readers    readersPhase `json:"readers"`
}

// serverPhase is the server over one attack; -1 marks what is unknown.
// GoMem is the Go heap in use plus goroutine stacks; socket buffers are
// kernel memory and count in neither it nor RSS.
type serverPhase struct {
	RSSBefore       int64   `json:"rss_before_bytes"`
	RSSPeak         int64   `json:"rss_peak_bytes"`
	RSSEnd          int64   `json:"rss_end_bytes"` // last reading before the attack window ended
	RSSAfter        int64   `json:"rss_after_bytes"`
	RSSPerConn      float64 `json:"rss_per_conn_bytes"` // (peak - before) / opened
	GoMemBefore     float64 `json:"go_mem_before_bytes"`
	GoMemPeak       float64 `json:"go_mem_peak_bytes"`
	GoMemAfter      float64 `json:"go_mem_after_bytes"`
	GoMemPerConn    float64 `json:"go_mem_per_conn_bytes"` // (peak - before) / opened
	SentPerConn     float64 `json:"sent_per_conn_bytes"`   // what each attacker really sent
	FDsBefore       int     `json:"fds_before"`
	FDsPeak         int     `json:"fds_peak"`
	FDsEnd          int     `json:"fds_end"`   // last reading before the attack window ended, attackers still connected
	FDsAfter        int     `json:"fds_after"` // the fewest during the recovery
	FDsBack         bool    `json:"fds_back"`  // after <= before
	ConnsBefore     float64 `json:"ws_conns_before"`
	ConnsPeak       float64 `json:"ws_conns_peak"`
	CPUQuiet        float64 `json:"cpu_percent_quiet"`
	CPUAttack       float64 `json:"cpu_percent_attack"`
	CPUPerRequestUS float64 `json:"cpu_per_request_us,omitempty"` // CPU above the quiet rate / requests
}

// readersPhase is the well-behaved readers' tick latency in the quiet
// window before an attack and in the attack window.
type readersPhase struct {
	Quiet  stats.Percentiles `json:"quiet"`
	Attack stats.Percentiles `json:"attack"`
	Ratio  float64           `json:"p99_ratio"` // attack p99 / quiet p99
}

type hostilePoint struct {
	T     int     `json:"t"`
	P99   float64 `json:"p99_ms"`
	RSS   int64   `json:"server_rss_bytes"`
	GoMem float64 `json:"server_go_mem_bytes"`
	FDs   int     `json:"server_fds"`
	Conns float64 `json:"server_ws_conns"`
}

func newHostileReport(c *config, n, tlsNode *node, universe []string) *hostileReport {
	r := &hostileReport{
		Scenario: c.scenario, Label: c.label, Command: c.command, Time: time.Now().UTC(), Machine: machineInfo(),
		Settings: hostileSettings{
			Readers: c.conns, K: c.k, Dist: c.dist, Universe: len(universe),
			Warmup: int(c.warmup / time.Second), Quiet: int(c.quiet / time.Second),
			Attack: int(c.duration / time.Second), Recover: int(c.recover / time.Second),
			AttackConns: c.attackConns, Target: n.url, PID: n.pid, Spawned: c.spawn, SrcIPs: c.srcIPs,
		},
	}
	if c.spawn {
		r.Settings.ServerArgs = c.spawnArgs()
	}
	if tlsNode != nil {
		r.Settings.TLSTarget, r.Settings.TLSPID = tlsNode.url, tlsNode.pid
	}
	return r
}

// write prints the summary and writes the JSON and SVG files asked for.
func (r *hostileReport) write(c *config, w io.Writer) error {
	r.printSummary(w)
	return writeFiles(c, w, r, len(r.Series) > 0, r.plot)
}

func (r *hostileReport) printSummary(w io.Writer) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	s := r.Settings
	p("")
	p("== tickerd bench: hostile ==")
	p("machine    %s, %d cores, %d GiB, Linux %s, %s", r.Machine.CPU, r.Machine.Cores, r.Machine.MemGiB, r.Machine.Kernel, r.Machine.Go)
	p("command    %s", r.Command)
	if s.Spawned {
		p("server     tickerd %s (pid %d)", strings.Join(s.ServerArgs, " "), s.PID)
	} else {
		p("server     %s (pid %d)", s.Target, s.PID)
	}
	if s.TLSTarget != "" {
		p("wss server %s (pid %d): the wss classes attack it, with the same flags and a certificate of its own; the readers stay on the server above", s.TLSTarget, s.TLSPID)
	}
	rd := r.Readers
	p("readers    %d/%d connected, %d symbols each (%s of %d); p99 %s over all quiet windows (%d ticks); lost %s",
		rd.Connect.Established, s.Readers, s.K, s.Dist, s.Universe, ms(rd.Quiet.P99), rd.Quiet.Count, counts(rd.Lost))
	p("timeline   warm-up %ds, then per attack %ds quiet, %ds attack, %ds recovery", s.Warmup, s.Quiet, s.Attack, s.Recover)
	p("")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "attack\tconns\theld\tclosed\tsent/conn\tRSS/conn\tGo mem/conn\tfds before>peak>end>after\tCPU quiet>attack\tp99 quiet>attack\tratio\t")
	for _, a := range r.Attacks {
		v := a.Server
		back := ""
		if !v.FDsBack {
			back = " !"
		}
		fmt.Fprintf(tw, "%s\t%d/%d\t%d\t%d\t%s\t%s\t%s\t%s>%s>%s>%s%s\t%s>%s\t%s>%s\t%.1fx\t\n",
			a.Class, a.Opened, a.Attempted, a.Held, sumCounts(a.Closed), bytesH(v.SentPerConn),
			knownBytes(v.RSSPerConn, v.RSSBefore >= 0), knownBytes(v.GoMemPerConn, v.GoMemBefore >= 0),
			count(v.FDsBefore), count(v.FDsPeak), count(v.FDsEnd), count(v.FDsAfter), back,
			pct(v.CPUQuiet), pct(v.CPUAttack), ms(a.Readers.Quiet.P99), ms(a.Readers.Attack.P99), a.Readers.Ratio)
	}
	tw.Flush()
	p("")
	for _, a := range r.Attacks {
		line := fmt.Sprintf("%-16s %s", a.Class, a.What)
		notes := []string{fmt.Sprintf("%d requests", a.Requests)}
		if len(a.Answers) > 0 {
			notes[0] += ", answers: " + counts64(a.Answers)
		}
		if len(a.Closed) > 0 {
			notes = append(notes, "closed by the server: "+counts(a.Closed))
		}
		if len(a.Failures) > 0 {
			notes = append(notes, "failed to open: "+counts(a.Failures))
		}
		if a.Server.CPUPerRequestUS > 0 {
			notes = append(notes, fmt.Sprintf("%s µs of server CPU per request above the quiet rate", num(a.Server.CPUPerRequestUS)))
		}
		p("%s\n%s%s", line, strings.Repeat(" ", 17), strings.Join(notes, "; "))
	}
	p("")
	p("per conn: (peak during the attack - value at its start) / connections opened; Go mem = heap in use + stacks;")
	p("socket buffers are kernel memory, in neither. fds after: the fewest during the recovery (! = not back to before).")
	for _, m := range r.Suspect {
		p("SUSPECT    %s", m)
	}
	p("")
}

func knownBytes(v float64, known bool) string {
	if !known {
		return "?"
	}
	return bytesH(v)
}

// num formats v with three significant digits, without an exponent.
func num(v float64) string {
	if v >= 100 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

// count formats a count, -1 as unknown.
func count(v int) string {
	if v < 0 {
		return "?"
	}
	return strconv.Itoa(v)
}

func pct(v float64) string {
	if v < 0 {
		return "?"
	}
	return fmt.Sprintf("%.0f%%", v)
}

func sumCounts(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func counts64(m map[string]int64) string {
	c := make(map[string]int, len(m))
	for k, v := range m {
		c[k] = int(v)
	}
	return counts(c)
}

// plot draws the readers' p99, the server's memory and its fds per
// second, with each attack window shaded.
func (r *hostileReport) plot() svgplot.Plot {
	col := func(f func(hostilePoint) float64) []float64 { return column(r.Series, f) }
	x := col(func(p hostilePoint) float64 { return float64(p.T) + 0.5 })
	known := func(v float64) float64 {
		if v <= 0 {
			return math.NaN()
		}
		return v
	}
	var bands []svgplot.Band
	for _, a := range r.Attacks {
		bands = append(bands, svgplot.Band{From: float64(a.AttackFrom), To: float64(a.AttackTo), Label: a.Class})
	}
	s := r.Settings
	return svgplot.Plot{
		Title:    fmt.Sprintf("tickerd hostile: %d readers x %d symbols beside each attack", s.Readers, s.K),
		Subtitle: fmt.Sprintf("quiet p99 %s; %s", ms(r.Readers.Quiet.P99), r.Machine.CPU),
		XLabel:   "seconds since start (after connecting)", X: x, Bands: bands,
		Panels: []svgplot.Panel{
			{Title: "readers' tick latency p99 (per second)", YLabel: "ms (log)", LogY: true, Lines: []svgplot.Line{
				{Name: "p99", Y: col(func(p hostilePoint) float64 { return known(p.P99) })},
			}},
			{Title: "server memory", YLabel: "MiB", Height: 160, Lines: []svgplot.Line{
				{Name: "RSS", Y: col(func(p hostilePoint) float64 { return known(float64(p.RSS)) / (1 << 20) })},
				{Name: "Go heap+stacks", Y: col(func(p hostilePoint) float64 { return known(p.GoMem) / (1 << 20) })},
			}},
			{Title: "server file descriptors and WebSocket connections", YLabel: "count", Height: 160, Lines: []svgplot.Line{
				{Name: "fds", Y: col(func(p hostilePoint) float64 { return known(float64(p.FDs)) })},
				{Name: "ws conns", Y: col(func(p hostilePoint) float64 { return known(p.Conns) })},
			}},
		},
	}
}
