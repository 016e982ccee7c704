package testutil

import (
	"bytes"
	"log/slog"
	"sync"
)

// Logs collects what a server logs, or a process prints, from any number
// of goroutines.
//
//	var logs testutil.Logs
//	s := apptest.Start(t, tickerd.Config{Logger: logs.Logger()})
//	... strings.Contains(logs.String(), `level=WARN msg="accept failed`)
type Logs struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (l *Logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns everything written so far.
func (l *Logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Logger returns a debug-level text logger that writes to l.
func (l *Logs) Logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
