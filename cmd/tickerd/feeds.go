package main

import (
	"flag"
	"fmt"
	"log/slog"
	"math"
	"os"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/feed/coinbase"
	"github.com/tickerd/tickerd/feed/replay"
	"github.com/tickerd/tickerd/feed/sim"
	"github.com/tickerd/tickerd/feed/source"
	"github.com/tickerd/tickerd/internal/app"
)

// feedFlags select and configure the feed.
type feedFlags struct {
	spec       *string
	speed      *float64
	loop       *bool
	keepTS     *bool
	record     *string
	cbProducts *string
	cbURL      *string
	cbOnDemand *bool
}

func addFeedFlags(fs *flag.FlagSet) *feedFlags {
	return &feedFlags{
		spec:       fs.String("feed", "sim", "where ticks come from: "+source.Usage),
		speed:      fs.Float64("replay-speed", 1, "replay: speed multiplier (2: twice as fast; inf: as fast as possible)"),
		loop:       fs.Bool("replay-loop", false, "replay: start again at the end of the file"),
		keepTS:     fs.Bool("replay-keep-ts", false, "replay: keep the file's ts instead of the time of publishing"),
		record:     fs.String("record", "", "write every published tick to this file as NDJSON (replayable with -feed replay:FILE)"),
		cbProducts: fs.String("coinbase-products", "", "coinbase: products as ID[=SYMBOL][:QUOTE_INC:BASE_INC],... (empty: the built-in list)"),
		cbURL:      fs.String("coinbase-url", coinbase.DefaultURL, "coinbase: WebSocket feed URL"),
		cbOnDemand: fs.Bool("coinbase-on-demand", false, "coinbase: subscribe upstream only to symbols clients watch"),
	}
}

// configure sets cfg.Feed (and cfg.Tee for -record). rate0 is -rate 0: the
// simulator's symbols with no updates. The returned func flushes and
// closes the recording; call it after Serve returns.
func (f *feedFlags) configure(cfg *app.Config, rate0 bool, log *slog.Logger) (finish func() error, err error) {
	finish = func() error { return nil }
	if *f.speed <= 0 || math.IsNaN(*f.speed) {
		return finish, fmt.Errorf("-replay-speed %v: want a positive number or inf", *f.speed)
	}
	opt := source.Options{
		Sim:      cfg.Sim,
		Replay:   replay.Config{Speed: *f.speed, Loop: *f.loop, KeepTS: *f.keepTS},
		Coinbase: coinbase.Config{URL: *f.cbURL, OnDemand: *f.cbOnDemand, Logger: log},
		Logger:   log,
	}
	if *f.cbProducts != "" {
		if opt.Coinbase.Products, err = coinbase.ParseProducts(*f.cbProducts); err != nil {
			return finish, err
		}
	}
	var fd feed.Feed
	if rate0 && (*f.spec == "sim" || *f.spec == "") {
		fd = idleFeed(cfg.Sim)
	} else if fd, err = source.Open(*f.spec, opt); err != nil {
		return finish, err
	}
	cfg.Feed = fd
	if *f.record == "" {
		return finish, nil
	}
	file, err := os.Create(*f.record)
	if err != nil {
		return finish, err
	}
	rec := replay.NewRecorder(file, nil) // buffered; Flush at the end
	cfg.Tee = rec
	return func() error {
		err := rec.Flush()
		if cerr := file.Close(); err == nil {
			err = cerr
		}
		return err
	}, nil
}

// idle is the simulated market's symbols with no updates: -rate 0, for
// measuring what idle connections cost.
type idle struct{ syms []feed.Symbol }

func idleFeed(cfg sim.Config) feed.Feed {
	all := sim.Universe()
	if cfg.Symbols > 0 && cfg.Symbols < len(all) {
		all = all[:cfg.Symbols]
	}
	return idle{syms: all}
}
