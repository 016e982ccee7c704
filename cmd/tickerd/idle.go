package main

import (
	"context"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/feed/sim"
)

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

func (f idle) Symbols() []feed.Symbol { return f.syms }

func (f idle) Run(ctx context.Context, _ feed.Sink) error {
	<-ctx.Done()
	return nil
}
