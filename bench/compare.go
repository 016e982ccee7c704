package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tickerd/tickerd/feed/sim"
)

// -compare-k runs the same load once per K against a server of exactly K
// symbols (-symbols K, or -universe K above the built-in ones), steady,
// quotes only, at -feed-rate updates per second in all, every connection
// subscribed to all K: each connection is sent -feed-rate messages a
// second whatever K, so the runs deliver the same message rate and differ
// only in how many subscriptions each connection holds (and each symbol's
// share of the updates). The warm-up lasts at least K/-feed-rate seconds,
// so every symbol has updated before the window. Issue 18 asks that CPU per delivered message at
// 1,000 symbols per client stay within 10% of 1 symbol per client:
//
//	go run ./bench -spawn -compare-k 1,1000 -conns 1000 -feed-rate 100 -repeat 3
//
// With -repeat the list runs again, in reverse order every other time
// (1, 1000, 1000, 1, ...), so drift on a shared machine falls on both.

// compareReport is a -compare-k result: every run, in the order made, and
// per K the medians over its runs.
type compareReport struct {
	Command string       `json:"command"`
	Runs    []*report    `json:"runs"`
	Rows    []compareRow `json:"compare"`
}

// compareRow is one K's medians.
type compareRow struct {
	K                  int      `json:"k"`
	ServerArgs         []string `json:"server_args"`
	Runs               int      `json:"runs"`
	MessagesPerSec     float64  `json:"messages_per_s"`
	ServerCPUPercent   float64  `json:"server_cpu_percent"`
	CPUPerMessageUS    float64  `json:"cpu_per_message_us"`
	CPUPerMessageNetUS float64  `json:"cpu_per_message_net_us"` // without the feed's own CPU
	FramesPerWrite     float64  `json:"frames_per_write"`
	P50                float64  `json:"p50_ms"`
	P99                float64  `json:"p99_ms"`
	Jumps              int64    `json:"seq_jumps"` // the most any run saw
	Suspect            int      `json:"suspect_runs"`
	// VsFirst is CPUPerMessageUS over the first K's (and VsFirstNet the
	// same without the feed's CPU): 1.10 is 10% more per message.
	VsFirst    float64 `json:"vs_first"`
	VsFirstNet float64 `json:"vs_first_net"`
}

// parseKs parses the -compare-k list.
func parseKs(list string) ([]int, error) {
	var ks []int
	for _, f := range strings.Split(list, ",") {
		k, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || k < 1 {
			return nil, fmt.Errorf("-compare-k: %q is not a positive count", f)
		}
		ks = append(ks, k)
	}
	return ks, nil
}

func (c *config) validateCompare() error {
	ks, err := parseKs(c.compareK)
	switch {
	case err != nil:
		return err
	case len(ks) < 2:
		return errors.New("-compare-k needs two counts or more")
	case c.repeat < 1:
		return errors.New("-repeat must be at least 1")
	case c.scenario == "hostile":
		return errors.New("-compare-k is not for -scenario hostile")
	case c.feedUniverse != 0 || c.explicitlySet["feed-symbols"] || c.kMax != 0 || c.watchListings:
		return errors.New("-compare-k sets the server's symbols and each connection's: no -feed-universe, -feed-symbols, -k-max or -watch-listings")
	}
	return nil
}

// armConfig returns the settings of the run of k symbols.
func (c *config) armConfig(k int) *config {
	a := *c
	a.compareK, a.repeat = "", 1
	a.k, a.kMax, a.dist, a.universe, a.symbols = k, 0, "same", 0, ""
	a.feedSteady, a.feedQuotesOnly = true, true
	a.feedSymbols, a.feedUniverse = 0, 0
	if builtin := len(sim.Universe()); k <= builtin {
		a.feedSymbols = k
	} else {
		a.feedUniverse = k
	}
	// The window starts once every symbol has updated at least once, so
	// it holds no subscription's first message (a snapshot).
	if c.feedRate > 0 {
		a.warmup = max(a.warmup, time.Duration(math.Ceil(float64(k)/c.feedRate))*time.Second)
	}
	a.out, a.svg = "", ""
	a.label = strings.TrimSpace(fmt.Sprintf("%s k=%d", c.label, k))
	return &a
}

// runCompare makes the runs of -compare-k with runArm (run, or a test's
// stand-in that starts its own server).
func runCompare(ctx context.Context, c *config, log io.Writer, runArm func(context.Context, *config, io.Writer) (*report, error)) (*compareReport, error) {
	ks, err := parseKs(c.compareK)
	if err != nil {
		return nil, err
	}
	cr := &compareReport{Command: c.command}
	for round := range c.repeat {
		order := slices.Clone(ks)
		if round%2 == 1 {
			slices.Reverse(order)
		}
		for _, k := range order {
			fmt.Fprintf(log, "== compare: k=%d (round %d of %d)\n", k, round+1, c.repeat)
			r, err := runArm(ctx, c.armConfig(k), log)
			if r != nil {
				cr.Runs = append(cr.Runs, r)
			}
			if err != nil {
				return cr, fmt.Errorf("k=%d: %w", k, err)
			}
		}
	}
	cr.Rows = compareRows(ks, cr.Runs)
	return cr, nil
}

// compareRows takes, per K, the medians of its runs.
func compareRows(ks []int, runs []*report) []compareRow {
	var rows []compareRow
	for _, k := range ks {
		row := compareRow{K: k}
		var mps, cpu, per, net, fpw, p50, p99 []float64
		for _, r := range runs {
			if r.Settings.K != k {
				continue
			}
			row.Runs++
			row.ServerArgs = r.Settings.ServerArgs
			mps = append(mps, r.Window.MessagesPerSec)
			cpu = append(cpu, r.Server.CPUPercent)
			per = append(per, r.Server.CPUPerMessageUS)
			net = append(net, r.Server.CPUPerMessageNetUS)
			fpw = append(fpw, r.Server.FramesPerWrite)
			p50 = append(p50, r.Window.Latency.P50)
			p99 = append(p99, r.Window.Latency.P99)
			row.Jumps = max(row.Jumps, r.Window.Jumps)
			if len(r.Suspect) > 0 {
				row.Suspect++
			}
		}
		row.MessagesPerSec, row.ServerCPUPercent = median(mps), median(cpu)
		row.CPUPerMessageUS, row.CPUPerMessageNetUS = median(per), median(net)
		row.FramesPerWrite, row.P50, row.P99 = median(fpw), median(p50), median(p99)
		rows = append(rows, row)
	}
	// Each ratio on its own: a run whose feed measured busier alone than
	// with clients has no net figure, and its gross one still compares.
	for i := range rows {
		if f := rows[0]; f.CPUPerMessageUS > 0 {
			rows[i].VsFirst = rows[i].CPUPerMessageUS / f.CPUPerMessageUS
		}
		if f := rows[0]; f.CPUPerMessageNetUS > 0 {
			rows[i].VsFirstNet = rows[i].CPUPerMessageNetUS / f.CPUPerMessageNetUS
		}
	}
	return rows
}

// median returns the median of v (the mean of the middle two for an even
// count), 0 for none.
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(v))
	if n := len(s); n%2 == 1 {
		return s[n/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// write prints every run's summary, then the comparison.
func (cr *compareReport) write(c *config, w io.Writer) error {
	for _, r := range cr.Runs {
		r.printSummary(w)
	}
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	p("== tickerd bench: compare-k ==")
	p("command    %s", cr.Command)
	p("%7s %5s %11s %8s %9s %9s %8s %8s %8s %7s %8s %8s", "k", "runs", "msg/s", "cpu%", "µs/msg", "net µs", "fr/write", "p50", "p99", "jumps", "vs first", "net vs")
	for _, r := range cr.Rows {
		fpw := "?"
		if r.FramesPerWrite > 0 {
			fpw = fmt.Sprintf("%.2f", r.FramesPerWrite)
		}
		p("%7d %5d %11.0f %8.1f %9.3f %9.3f %8s %8s %8s %7d %8.3f %8.3f", r.K, r.Runs, r.MessagesPerSec, r.ServerCPUPercent,
			r.CPUPerMessageUS, r.CPUPerMessageNetUS, fpw, ms(r.P50), ms(r.P99), r.Jumps, r.VsFirst, r.VsFirstNet)
	}
	for _, r := range cr.Rows {
		if r.Suspect > 0 {
			p("SUSPECT    k=%d: %d of %d runs flagged (see their summaries)", r.K, r.Suspect, r.Runs)
		}
	}
	p("")
	return writeFiles(c, w, cr, false, nil)
}
