// Package source opens a feed by name, so a command can select one with a
// flag:
//
//	f, err := source.Open(*feedFlag, source.Options{Sim: simCfg, Replay: replayCfg, Logger: logger})
//
// It is a package of its own, not part of feed, because it imports every
// adapter, and every adapter imports feed for Symbol and Sink.
package source

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/feed/coinbase"
	"github.com/tickerd/tickerd/feed/replay"
	"github.com/tickerd/tickerd/feed/sim"
)

// Usage describes the accepted specs, for flag help.
const Usage = "sim | replay:FILE | coinbase[:PRODUCTS]"

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
//	replay:FILE          the recording in FILE (NDJSON or CSV), played per opt.Replay
//	coinbase             Coinbase Exchange, products from opt.Coinbase
//	coinbase:PRODUCTS    the same with these products, as coinbase.ParseProducts reads them
//
// Every feed it returns implements feed.HealthReporter; coinbase also
// implements feed.Watcher.
func Open(spec string, opt Options) (feed.Feed, error) {
	name, arg, hasArg := strings.Cut(spec, ":")
	switch name {
	case "", "sim":
		if hasArg {
			return nil, fmt.Errorf("source: sim takes no argument, got %q", spec)
		}
		return sim.New(opt.Sim)
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
