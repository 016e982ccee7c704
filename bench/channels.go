package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/tickerd/tickerd/bench/internal/load"
	"github.com/tickerd/tickerd/protocol"
)

// The trades and book channels: what a run subscribes to (-channel), the
// book depths (-depths), slow readers that stall (-stall), a resume storm
// after the window (-storm-back), and the same run on the quote channel
// first for comparison (-compare-quotes).

func (c *config) validateChannel() error {
	ch, ok := protocol.ParseChannel(c.channel)
	switch {
	case !ok || ch == protocol.ChannelCandles:
		return fmt.Errorf("-channel %q: want quotes, trades or book", c.channel)
	case ch != protocol.ChannelQuotes && c.query:
		return errors.New("-channel trades and book need a subscribe message: not with -query")
	case ch == protocol.ChannelTrades && c.maxRate != 0:
		return errors.New("-max-rate does not go with trades, which are never merged")
	case c.depths != "" && ch != protocol.ChannelBook:
		return errors.New("-depths goes with -channel book")
	case c.stall < 0 || c.stall > 0 && c.stall >= c.stallEvery:
		return errors.New("-stall must be shorter than -stall-every")
	case c.slowRcvBuf < 0:
		return errors.New("-slow-rcvbuf must be 0 or more")
	case c.stormBack > 0 && ch != protocol.ChannelTrades:
		return errors.New("-storm-back goes with -channel trades")
	case c.stormBack > 0 && (c.stormWindow < time.Second || c.stormWindow%time.Second != 0):
		return errors.New("-storm-window must be whole seconds, at least 1s")
	case c.stormConc < 1:
		return errors.New("-storm-concurrency must be at least 1")
	case c.compareQuotes && ch == protocol.ChannelQuotes:
		return errors.New("-compare-quotes goes with -channel trades or book")
	case c.compareQuotes && c.compareK != "":
		return errors.New("-compare-quotes and -compare-k cannot both be set")
	case ch != protocol.ChannelQuotes && c.scenario == "hostile":
		return errors.New("-scenario hostile reads quotes")
	}
	_, err := parseDepths(c.depths)
	return err
}

func parseDepths(list string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(list, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		d, err := strconv.Atoi(f)
		if err != nil || !protocol.IsBookDepth(d) {
			return nil, fmt.Errorf("-depths: %q is not a book depth (10, 50, 200)", f)
		}
		out = append(out, d)
	}
	return out, nil
}

// depthList returns -depths, checked by validate.
func (c *config) depthList() []int {
	d, _ := parseDepths(c.depths)
	return d
}

// stormSeconds is how long a run goes on after its window for the storm.
func (c *config) stormSeconds() time.Duration {
	if c.stormBack == 0 {
		return 0
	}
	return c.stormWindow
}

// stormPlan is each of nw workers' part of the storm: at the window's end.
func (c *config) stormPlan(nw int) load.StormPlan {
	if c.stormBack == 0 {
		return load.StormPlan{}
	}
	return load.StormPlan{At: (c.warmup + c.duration).Seconds(), Back: c.stormBack, Concurrency: c.stormConc}
}

// setStorm merges the workers' storm reports into r.Storm.
func (r *report) setStorm(results []*load.Result) error {
	var reps []*load.StormReport
	for _, res := range results {
		reps = append(reps, res.Storm)
	}
	s, err := load.MergeStorm(reps)
	if err != nil {
		return err
	}
	r.Storm = s
	if s == nil {
		return errors.New("the storm did not run")
	}
	if s.Errors > 0 {
		r.Suspect = append(r.Suspect, fmt.Sprintf("resume storm: %d errors (holes, duplicates, wrong first trades, late replays): the server lost or repeated trades", s.Errors))
	}
	return nil
}

// printChannels prints the trades, book, compression and storm lines of a
// summary, for what the run saw.
func (r *report) printChannels(p func(string, ...any)) {
	win := r.Window
	secs := float64(max(win.Seconds, 1))
	if win.Trades+win.Replays+win.Gaps > 0 {
		p("trades     %.0f trades/s delivered (%d live, %d replayed); %d gap notices naming %d trades; holes (seqs skipped without a gap) %d, duplicates %d, out of order %d (all three must be 0)",
			float64(win.Trades)/secs, win.Trades, win.Replays, win.Gaps, win.GapMissed, win.Holes, win.Duplicates, win.OutOfOrder)
	}
	if win.BookSnapshots+win.BookDeltas > 0 {
		p("book       %.0f deltas/s delivered, %d snapshots (%d resyncs of a book already held; %d to slow readers); checksum mismatches %d, messages that did not apply %d (both must be 0)",
			float64(win.BookDeltas)/secs, win.BookSnapshots, win.Resyncs, win.SlowSnapshots, win.Mismatches, win.BadBooks)
	}
	if r.Settings.Deflate {
		ratio := 0.0
		if win.Bytes > 0 {
			ratio = 100 * float64(win.WireBytes) / float64(win.Bytes)
		}
		perMsg := 0.0
		if m := win.Messages(); m > 0 {
			perMsg = float64(win.WireBytes) / float64(m)
		}
		p("deflate    %d of %d messages came compressed; payload %s on the wire for %s inflated (%.1f%%), %.1f bytes a message on the wire; %.2f µs server CPU per message",
			win.Compressed, win.Messages(), bytesH(float64(win.WireBytes)), bytesH(float64(win.Bytes)), ratio, perMsg, r.Server.CPUPerMessageUS)
	}
	if s := r.Storm; s != nil {
		l := s.Latency
		p("storm      %d of %d clients reconnected at once, subscribing with since %d trades back over %s (first to last subscribe); failures %s; %d subscriptions had no trade to resume from",
			s.Reconnected, s.Clients, r.Settings.StormBack, ms(1000*s.Seconds), counts(s.Failures), s.NoHistory)
		a := s.Arrival
		p("           subscribe to last replayed trade at the client's socket (kernel receive time; %d of %d clients resumed): p50 %s p90 %s p99 %s max %s",
			s.Stamped, s.Resumed, ms(a.P50), ms(a.P90), ms(a.P99), ms(a.Max))
		w := s.Whole
		p("           reconnect (dial) to last replayed trade at the client's socket, the handshake's wait included: p50 %s p90 %s p99 %s max %s",
			ms(w.P50), ms(w.P90), ms(w.P99), ms(w.Max))
		p("           subscribe to last replayed trade read by the generator: p50 %s p90 %s p99 %s max %s; replays per subscription min %d, %d in all; %d gap notices",
			ms(l.P50), ms(l.P90), ms(l.P99), ms(l.Max), s.MinReplays, s.Replays, s.Gaps)
		p("           errors %d (must be 0): %d wrong first trades, %d holes, %d duplicates, %d out of order, %d replays after a live trade",
			s.Errors, s.WrongFirst, s.Holes, s.Duplicates, s.OutOfOrder, s.LateReplay)
	}
}

// channelReport is a -compare-quotes run: the quote channel, then the
// channel asked for, against the same server.
type channelReport struct {
	Command string  `json:"command"`
	Quotes  *report `json:"quotes"`
	Channel *report `json:"channel"`
}

// runCompareQuotes makes the run of c on the quote channel, then as asked,
// against the same servers.
func runCompareQuotes(ctx context.Context, c *config, log io.Writer) (cr *channelReport, err error) {
	cr = &channelReport{Command: c.command}
	err = onNodes(ctx, c, log, 2, func(ctx context.Context, nodes []*node, logf func(string, ...any)) error {
		q := *c
		q.channel, q.depths, q.stormBack, q.compareQuotes = "quotes", "", 0, false
		q.out, q.svg = "", ""
		logf("== the quote channel first")
		var err error
		if cr.Quotes, err = measure(ctx, &q, nodes, logf); err != nil {
			return fmt.Errorf("quotes: %w", err)
		}
		logf("== then %s", c.channel)
		cr.Channel, err = measure(ctx, c, nodes, logf)
		return err
	})
	if cr.Channel == nil {
		return nil, err
	}
	return cr, err
}

func (cr *channelReport) write(c *config, w io.Writer) error {
	cr.Quotes.printSummary(w)
	cr.Channel.printSummary(w)
	q, t := cr.Quotes.Server, cr.Channel.Server
	ratio := "?"
	if q.CPUPerMessageNetUS > 0 && t.Measured {
		ratio = fmt.Sprintf("%.2fx", t.CPUPerMessageNetUS/q.CPUPerMessageNetUS)
	}
	fmt.Fprintf(w, "compare    same server, same load: quotes %.0f msg/s, %.2f µs CPU per message (%.2f without the feed); %s %.0f msg/s, %.2f µs (%.2f): %s the quotes' per message\n\n",
		cr.Quotes.Window.MessagesPerSec, q.CPUPerMessageUS, q.CPUPerMessageNetUS,
		c.channel, cr.Channel.Window.MessagesPerSec, t.CPUPerMessageUS, t.CPUPerMessageNetUS, ratio)
	return writeFiles(c, w, cr, len(cr.Channel.Series) > 0, cr.Channel.plot)
}
