// Command tickerd serves real-time market data over WebSocket.
//
//	go run ./cmd/tickerd                 # simulated market, dashboard at http://localhost:8080/
//	go run ./cmd/tickerd -rate 10000     # a busier market
//
// It turns its flags into a tickerd.Config and runs a tickerd.Server; the
// server is the library in the module's root package. Every flag can also
// be set with an environment variable named TICKERD_ and the flag's name
// in capitals with - as _ (TICKERD_MAX_CONNS=50000); a flag given on the
// command line wins. docs/flags.md lists them all (tickerd -flags-markdown
// writes it).
//
// SIGTERM or SIGINT drains the server and exits; a second SIGINT exits at
// once. SIGHUP reloads the -auth-* keys.
package main

//go:generate sh -c "go run . -flags-markdown > ../../docs/flags.md"

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"syscall"

	"github.com/tickerd/tickerd"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "tickerd:", err)
		os.Exit(2)
	}
}

func run(args []string) error {
	o, fs, err := parseFlags(args, os.LookupEnv)
	if err != nil {
		return err
	}
	if o.flagsMarkdown {
		return writeFlagsMarkdown(os.Stdout, fs)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: o.logLevel}))
	cfg, closeRecord, err := o.config(log)
	if err != nil {
		return err
	}
	defer func() {
		if err := closeRecord(); err != nil {
			log.Error("-record", "err", err)
		}
	}()
	if _, set := os.LookupEnv("GOGC"); !set {
		// The publish path allocates per update, not per delivered
		// message, so collections are rare and a lower target is cheap.
		debug.SetGCPercent(o.gcPercent)
	}
	if _, set := os.LookupEnv("GOMAXPROCS"); !set {
		runtime.GOMAXPROCS(minProcs(runtime.NumCPU(), runtime.GOMAXPROCS(0)))
	}
	checkFileLimit(log, o.maxConns)
	if o.pprof != "" {
		stopPprof, err := servePprof(o.pprof, log)
		if err != nil {
			return err
		}
		defer stopPprof()
	}
	ctx, stop := onSignals(cfg.Auth, log)
	defer stop()
	srv, err := tickerd.New(cfg)
	if err != nil {
		return err
	}
	return srv.ListenAndServe(ctx)
}

// onSignals returns a context that SIGTERM or SIGINT ends, which starts
// the drain; a second SIGINT exits at once. SIGHUP reloads the auth keys
// when auth can reload. stop ends the handler and waits for it.
func onSignals(auth tickerd.Authenticator, log *slog.Logger) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	done := make(chan struct{})
	exited := make(chan struct{})
	keys, _ := auth.(interface{ Reload() error })
	go func() {
		defer close(exited)
		draining := false
		for {
			select {
			case <-done:
				return
			case sig := <-ch:
				if sig == syscall.SIGHUP {
					if keys == nil {
						log.Info("SIGHUP: nothing to reload")
					} else if err := keys.Reload(); err != nil {
						log.Error("SIGHUP: auth keys not reloaded, the old ones stay", "err", err)
					} else {
						log.Info("SIGHUP: auth keys reloaded")
					}
					continue
				}
				if draining && sig == os.Interrupt {
					log.Warn("second interrupt: exiting now")
					os.Exit(130)
				}
				log.Info("signal: draining", "signal", sig.String())
				draining = true
				cancel()
			}
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		close(done)
		<-exited
		cancel()
	}
}

// minProcs returns the GOMAXPROCS tickerd runs with when the environment
// does not set one: at least 2 when the process may use only one CPU
// (cpus, from its affinity mask: taskset, a cpuset, a Kubernetes pod with
// an exclusive CPU), else procs, Go's choice.
//
// With one P, a goroutine that the scheduler preempted after its 10 ms
// slice (a shard writing to 10,000 sockets), or that returns from a
// blocking system call while the P is busy, waits on the global run
// queue, which a busy P reads once every 61 schedules, and the core idles
// while the P's thread sits in a blocking call until the runtime hands
// the P off. Two Ps on the one CPU leave the sharing to the kernel's
// scheduler. A CPU quota (cgroup) that makes Go
// choose one P on a machine of several CPUs is left alone: two Ps there
// could run at once and spend the quota twice as fast.
func minProcs(cpus, procs int) int {
	if cpus == 1 && procs < 2 {
		return 2
	}
	return procs
}
