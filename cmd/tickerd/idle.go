package main

import (
	"context"

	"github.com/tickerd/tickerd/feed"
)

func (f idle) Symbols() []feed.Symbol { return f.syms }

// Run publishes nothing until ctx is done.
func (f idle) Run(ctx context.Context, _ feed.Sink) error {
	<-ctx.Done()
	return nil
}
