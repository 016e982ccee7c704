package testutil

import (
	"context"
	"testing"
	"time"

	"github.com/tickerd/tickerd/feed"
)

// DrivenFeed is a feed.Feed the test drives: each step given to Do runs
// on Run's goroutine with Run's sink, in order, as a feed publishes.
//
//	f := testutil.NewDrivenFeed(feed.Symbol{Name: "AAPL", PricePrec: 2})
//	s := apptest.Start(t, tickerd.Config{Feed: f})
//	f.Do(t, func(s feed.Sink) { s.Publish(testutil.Tick("AAPL", 1, "187.20")) })
type DrivenFeed struct {
	syms  []feed.Symbol
	steps chan func(feed.Sink) // unbuffered, never closed
}

// NewDrivenFeed returns a feed of syms that publishes only what Do says.
func NewDrivenFeed(syms ...feed.Symbol) *DrivenFeed {
	return &DrivenFeed{syms: syms, steps: make(chan func(feed.Sink))}
}

// Symbols returns the symbols given to NewDrivenFeed.
func (f *DrivenFeed) Symbols() []feed.Symbol { return f.syms }

// Run runs the steps given to Do until ctx is done, then returns nil.
func (f *DrivenFeed) Run(ctx context.Context, sink feed.Sink) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case step := <-f.steps:
			step(sink)
		}
	}
}

// Do runs step on Run's goroutine and returns once it has run. It fails
// the test if no Run takes the step within 10 s.
func (f *DrivenFeed) Do(t testing.TB, step func(feed.Sink)) {
	t.Helper()
	done := make(chan struct{})
	select {
	case f.steps <- func(s feed.Sink) { step(s); close(done) }:
	case <-time.After(10 * time.Second):
		t.Fatal("the driven feed is not running")
	}
	<-done
}
