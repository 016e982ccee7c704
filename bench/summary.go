package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/tickerd/tickerd/bench/internal/svgplot"
)

func (r *report) printSummary(w io.Writer) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	s := r.Settings
	p("")
	p("== tickerd bench: %s ==", r.Scenario)
	p("machine    %s, %d cores, %d GiB, Linux %s, %s", r.Machine.CPU, r.Machine.Cores, r.Machine.MemGiB, r.Machine.Kernel, r.Machine.Go)
	p("command    %s", r.Command)
	if s.Spawned {
		p("server     tickerd %s (cpus %s, GOMAXPROCS %s) x%d", strings.Join(s.ServerArgs, " "), s.ServerCPUs, gomax(s.ServerGOMAX), len(s.Targets))
	} else {
		p("server     %s", strings.Join(s.Targets, ", "))
	}
	k := fmt.Sprint(s.K)
	if s.KMax > s.K {
		k = fmt.Sprintf("%d..%d", s.K, s.KMax)
	}
	rate := ""
	if s.MaxRate > 0 {
		rate = fmt.Sprintf(" at max_rate %g/s", s.MaxRate)
	}
	ch := ""
	if s.Channel != "" && s.Channel != "quotes" {
		ch = " on " + s.Channel
		if len(s.Depths) > 0 {
			ch += fmt.Sprintf(" (depths %v)", s.Depths)
		}
	}
	if s.Stall != "" {
		ch += fmt.Sprintf(", %.0f%% slow readers stalling %s every %s", 100*s.Slow, s.Stall, s.StallEvery)
		if s.SlowRcvBuf > 0 {
			ch += fmt.Sprintf(" (SO_RCVBUF %d)", s.SlowRcvBuf)
		}
	}
	if s.Deflate {
		ch += ", permessage-deflate offered"
	}
	p("load       %d conns x %s symbols (%s of %d)%s%s, warm-up %ds, window %ds, %d worker(s), generator cpus %s",
		s.Conns, k, s.Dist, s.Universe, rate, ch, s.Warmup, s.Duration, r.Generator.Workers, orAll(s.CPUs))
	c := r.Connect
	p("connect    %d/%d established in %.2fs (%.0f/s); per conn p50 %.2f ms p99 %.2f ms; failures %s",
		c.Established, c.Attempted, c.Seconds, c.PerSecond, c.Latency.P50, c.Latency.P99, counts(c.Failures))
	subs := ""
	if v := r.Server.Subscriptions; v >= 0 {
		subs = fmt.Sprintf("; server counts %.0f subscriptions", v)
	}
	p("watch      %d symbols subscribed in all (%.1f per conn)%s", c.Symbols, float64(c.Symbols)/float64(max(c.Established, 1)), subs)
	win := r.Window
	p("messages   %.0f msg/s (%.0f ticks/s), %d ticks + %d snapshots + %d other in %ds",
		win.MessagesPerSec, win.TicksPerSec, win.Ticks, win.Snapshots, win.Other, win.Seconds)
	p("sequence   %d out-of-order, %d duplicates, %d unexpected, %d error replies", win.OutOfOrder, win.Duplicates, win.Unexpected, win.Errors)
	r.printChannels(p)
	srvMerged := "not exported"
	if v := r.Server.Merged; v >= 0 {
		srvMerged = fmt.Sprintf("%.0f updates", v)
	}
	p("merges     %d seq jumps seen by the readers (%d updates merged); the server merged %s (tickerd_merged_updates_total)",
		win.Jumps, win.Merged, srvMerged)
	if win.Delisted > 0 || win.AfterDelisted > 0 {
		p("delisted   %d notices (each the end of a subscription); %d data messages after a notice (must be 0)", win.Delisted, win.AfterDelisted)
	}
	l := win.Latency
	p("latency    p50 %s  p90 %s  p99 %s  p99.9 %s  max %s  (ts to receive, %d ticks, live trades or book deltas)",
		ms(l.P50), ms(l.P90), ms(l.P99), ms(l.P999), ms(l.Max), l.Count)
	if pc := r.Pace; pc != nil {
		p("max_rate   %d subscriptions paced (%d with under two messages): delivered/s min %.3g p1 %.3g p50 %.3g p99 %.3g max %.3g against %g",
			pc.Subs, pc.Few, pc.Rate.Min, pc.Rate.P1, pc.Rate.P50, pc.Rate.P99, pc.Rate.Max, s.MaxRate)
		p("           delivered / min(max_rate, offered): p1 %.3f p50 %.3f p99 %.3f; %d within ±10%%, %d over max_rate by >10%%; between messages p50 %s p99 %s max %s",
			pc.Ratio.P1, pc.Ratio.P50, pc.Ratio.P99, pc.Within, pc.Over, ms(pc.Interval.P50), ms(pc.Interval.P99), ms(pc.Interval.Max))
		p("           value age (receive - ts) p50 %s p99 %s p99.9 %s max %s; bound 1/max_rate + a pass = %s + a pass",
			ms(l.P50), ms(l.P99), ms(l.P999), ms(l.Max), ms(1000/s.MaxRate))
	}
	sv := r.Server
	if sv.Measured {
		p("server     RSS %s -> %s (%s per conn), CPU %.1f%% of a core, %.2f µs CPU per message, %s goroutines, %d threads",
			mib(sumRSS(sv.Nodes, true)), mib(sumRSS(sv.Nodes, false)), bytesH(sv.RSSPerConn), sv.CPUPercent, sv.CPUPerMessageUS,
			goroutines(sv.Goroutines), sumThreads(sv.Nodes))
		fpw := "?"
		if sv.FramesPerWrite > 0 {
			fpw = fmt.Sprintf("%.2f", sv.FramesPerWrite)
		}
		p("           feed alone (before clients) %.1f%% of a core; %.2f µs CPU per message without it; %s frames per write",
			sv.IdleCPUPercent, sv.CPUPerMessageNetUS, fpw)
	} else {
		p("server     not measured (not local and no /metrics)")
	}
	g := r.Generator
	every := ""
	if r.Settings.ReadEvery != "" {
		every = " (reading every " + r.Settings.ReadEvery + ")"
	}
	p("generator  CPU%s %.1f%% of %d core(s), readers busy mean %.0f%% max %.0f%%, %.1f conns ready per epoll wait, %s unread in %d conns at the end, saturated %v",
		every, g.CPUPercent, g.Cores, 100*g.BusyMean, 100*g.BusyMax, g.EventsPerWait, bytesH(float64(g.Backlog)), g.BacklogConns, g.Saturated)
	if len(r.Cores) > 0 {
		var parts []string
		for _, c := range r.Cores {
			parts = append(parts, fmt.Sprintf("cpu%d %.0f%% (softirq %.0f%%)", c.CPU, c.BusyPercent, c.SoftIRQPercent))
		}
		p("cores      %s busy over the window (/proc/stat)", strings.Join(parts, ", "))
	}
	if r.Slow != nil {
		p("slow       %d never-reading conns; %d closed by the server; %s unread in their sockets",
			r.Slow.Count, r.Slow.ClosedByServer, bytesH(float64(r.Slow.QueuedBytes)))
	}
	if r.Churn != nil {
		p("churn      %d cycles (%.1f/s, %.0f ops/s), cycle p50 %s p99 %s, failures %s",
			r.Churn.Cycles, r.Churn.PerSecond, r.Churn.OpsPerSec, ms(r.Churn.Latency.P50), ms(r.Churn.Latency.P99), counts(r.Churn.Failures))
	}
	if b := r.Burst; b != nil {
		p("burst      %d/%d connected in %.2fs at t=%gs; per conn p50 %.2f ms p99 %.2f ms; failures %s",
			b.Established, b.Attempted, b.Seconds, s.BurstAt+float64(s.Warmup), b.Latency.P50, b.Latency.P99, counts(b.Failures))
	}
	if u := r.Universe; u != nil {
		r.printUniverse(p)
	}
	p("lost       %s; %d reading conns open at the end", counts(r.Lost), r.Open)
	for _, m := range r.Suspect {
		p("SUSPECT    %s", m)
	}
	p("")
}

func gomax(n int) string {
	if n == 0 {
		return "default"
	}
	return fmt.Sprint(n)
}

func counts(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	var parts []string
	for _, k := range sortedKeys(m) {
		parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
	}
	return strings.Join(parts, " ")
}

func ms(v float64) string {
	if v >= 100 {
		return fmt.Sprintf("%.0f ms", v)
	}
	return fmt.Sprintf("%.2f ms", v)
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func bytesH(b float64) string {
	switch {
	case math.Abs(b) >= 1<<20:
		return fmt.Sprintf("%.1f MiB", b/(1<<20))
	case math.Abs(b) >= 1<<10:
		return fmt.Sprintf("%.1f KiB", b/(1<<10))
	}
	return fmt.Sprintf("%.0f B", b)
}

func goroutines(v float64) string {
	if v < 0 {
		return "? (no /metrics)"
	}
	return fmt.Sprintf("%.0f", v)
}

func sumRSS(ns []nodeSummary, before bool) int64 {
	var t int64
	for _, n := range ns {
		if before {
			t += n.RSSBefore
		} else {
			t += n.RSSEnd
		}
	}
	return t
}

func sumThreads(ns []nodeSummary) int {
	t := 0
	for _, n := range ns {
		t += n.Threads
	}
	return t
}

// plot draws latency percentiles, throughput and CPU per second.
func (r *report) plot() svgplot.Plot {
	col := func(f func(seriesPoint) float64) []float64 { return column(r.Series, f) }
	x := col(func(p seriesPoint) float64 { return float64(p.T) + 0.5 }) // the middle of the second
	nan := func(v float64) float64 {
		if v == 0 {
			return math.NaN()
		}
		return v
	}
	s := r.Settings
	title := fmt.Sprintf("tickerd %s: %d conns x %d symbols (%s)", r.Scenario, s.Conns, s.K, s.Dist)
	l := r.Window.Latency
	sub := fmt.Sprintf("window p50 %s, p99 %s, p99.9 %s, max %s; %.0f msg/s; %s",
		ms(l.P50), ms(l.P99), ms(l.P999), ms(l.Max), r.Window.MessagesPerSec, r.Machine.CPU)
	panels := []svgplot.Panel{
		{Title: "tick latency, ts to receive (per second)", YLabel: "ms (log)", LogY: true, Lines: []svgplot.Line{
			{Name: "p50", Y: col(func(p seriesPoint) float64 { return nan(p.P50) })},
			{Name: "p90", Y: col(func(p seriesPoint) float64 { return nan(p.P90) })},
			{Name: "p99", Y: col(func(p seriesPoint) float64 { return nan(p.P99) })},
			{Name: "p99.9", Y: col(func(p seriesPoint) float64 { return nan(p.P999) })},
			{Name: "max", Y: col(func(p seriesPoint) float64 { return nan(p.Max) })},
		}},
		{Title: "messages received per second", YLabel: "msg/s", Height: 150, Lines: []svgplot.Line{
			{Name: "messages", Y: col(func(p seriesPoint) float64 { return float64(p.Messages) })},
		}},
		{Title: "CPU", YLabel: "% of a core", Height: 150, Lines: []svgplot.Line{
			{Name: "server", Y: col(func(p seriesPoint) float64 { return p.ServerCPU })},
			{Name: "generator", Y: col(func(p seriesPoint) float64 { return p.GenCPU * float64(max(r.Generator.Cores, 1)) })},
		}},
	}
	cpu := &panels[len(panels)-1]
	for i := range r.Cores {
		cpu.Lines = append(cpu.Lines, svgplot.Line{Name: fmt.Sprintf("cpu%d busy", r.Cores[i].CPU), Y: col(func(p seriesPoint) float64 {
			if i < len(p.CoreBusy) {
				return p.CoreBusy[i]
			}
			return math.NaN()
		})})
	}
	if slices.ContainsFunc(r.Series, func(p seriesPoint) bool { return p.ServerP99 > 0 }) {
		panels[0].Lines = append(panels[0].Lines, svgplot.Line{Name: "server p99 (bucket)", Y: col(func(p seriesPoint) float64 { return nan(p.ServerP99) })})
	}
	bands := []svgplot.Band{{From: 0, To: float64(s.Warmup), Label: "warm-up"}}
	if u := r.Universe; u != nil {
		for _, ch := range u.Probe.Changes {
			bands = append(bands, svgplot.Band{From: ch.At, To: ch.At + math.Max(0.2, ch.Span().Seconds()), Label: "listing"})
		}
	}
	if r.Burst != nil {
		at := float64(s.Warmup) + s.BurstAt
		bands = append(bands, svgplot.Band{From: at, To: at + math.Max(1, r.Burst.Seconds), Label: "burst"})
	}
	return svgplot.Plot{Title: title, Subtitle: sub, XLabel: "seconds since start (after connecting)", X: x, Bands: bands, Panels: panels}
}

// column returns f of every point, one line of a plot.
func column[P any](points []P, f func(P) float64) []float64 {
	out := make([]float64, len(points))
	for i, p := range points {
		out[i] = f(p)
	}
	return out
}
