// Package source opens a feed by name, so a command can select one with a
// flag:
//
//	f, err := source.Open(*feedFlag, source.Options{Sim: simCfg, Replay: replayCfg, Logger: logger})
//
// It is a package of its own, not part of feed, because it imports every
// adapter, and every adapter imports feed for Symbol and Sink.
package source

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/feed/coinbase"
	"github.com/tickerd/tickerd/feed/replay"
	"github.com/tickerd/tickerd/feed/sim"
)

// Usage describes the accepted specs, for flag help.
const Usage = "sim[:KEY=VALUE,...] | replay:FILE | coinbase[:PRODUCTS]"

// Options configures whichever feed the spec names; the others are ignored.
type Options struct {
	Sim      sim.Config
	Replay   replay.Config
	Coinbase coinbase.Config

	// Logger is given to feeds that log (coinbase) unless their own config
	// sets one; nil discards.
	Logger *slog.Logger
}

// Open returns the feed spec names:
//
//	sim                  the simulated market, configured by opt.Sim ("" too)
//	sim:KEY=VALUE,...    the same with these fields of opt.Sim replaced (see SimKeys)
//	replay:FILE          the recording in FILE (NDJSON or CSV), played per opt.Replay
//	coinbase             Coinbase Exchange, products from opt.Coinbase
//	coinbase:PRODUCTS    the same with these products, as coinbase.ParseProducts reads them
//
// For example "sim:universe=100000,day=5m" runs a universe of 100,000
// symbols with five-minute trading days, and "sim:quotes-only,rate=50000"
// a quotes-only market for load tests.
//
// Every feed it returns implements feed.HealthReporter; coinbase also
// implements feed.Watcher.
func Open(spec string, opt Options) (feed.Feed, error) {
	name, arg, hasArg := strings.Cut(spec, ":")
	switch name {
	case "", "sim":
		cfg := opt.Sim
		if hasArg {
			if err := parseSim(arg, &cfg); err != nil {
				return nil, fmt.Errorf("source: %q: %w", spec, err)
			}
		}
		return sim.New(cfg)
	case "replay":
		if arg == "" {
			return nil, fmt.Errorf("source: %q names no file: want replay:FILE", spec)
		}
		return replay.Open(arg, opt.Replay)
	case "coinbase":
		cfg := opt.Coinbase
		if hasArg {
			products, err := coinbase.ParseProducts(arg)
			if err != nil {
				return nil, err
			}
			cfg.Products = products
		}
		if cfg.Logger == nil {
			cfg.Logger = opt.Logger
		}
		return coinbase.New(cfg)
	}
	return nil, fmt.Errorf("source: unknown feed %q, want %s", spec, Usage)
}

// SimKeys describes the keys of a "sim:" spec, each a field of sim.Config,
// for flag help. A boolean key alone means true.
const SimKeys = "seed=N, rate=UPDATES_PER_S, symbols=N, steady[=BOOL], book-depth=LEVELS, quotes-only[=BOOL], universe=N, day=DURATION"

// parseSim sets the fields of cfg that arg names, as KEY=VALUE pairs
// separated by commas.
func parseSim(arg string, cfg *sim.Config) error {
	if arg == "" {
		return errors.New("no KEY=VALUE after the colon")
	}
	for kv := range strings.SplitSeq(arg, ",") {
		key, val, hasVal := strings.Cut(kv, "=")
		var err error
		switch key {
		case "seed":
			cfg.Seed, err = strconv.ParseInt(val, 10, 64)
		case "rate":
			cfg.Rate, err = strconv.ParseFloat(val, 64)
		case "symbols":
			cfg.Symbols, err = strconv.Atoi(val)
		case "book-depth":
			cfg.BookDepth, err = strconv.Atoi(val)
		case "universe":
			cfg.Universe, err = strconv.Atoi(val)
		case "day":
			cfg.DayLength, err = time.ParseDuration(val)
		case "steady", "quotes-only":
			b := true
			if hasVal {
				b, err = strconv.ParseBool(val)
			}
			if key == "steady" {
				cfg.Steady = b
			} else {
				cfg.QuotesOnly = b
			}
		default:
			return fmt.Errorf("unknown sim key %q, want %s", key, SimKeys)
		}
		if err != nil {
			return fmt.Errorf("sim key %s: %q is not a valid value", key, val)
		}
	}
	return nil
}
