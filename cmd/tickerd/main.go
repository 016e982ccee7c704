// Command tickerd serves real-time market data over WebSocket.
//
//	go run ./cmd/tickerd                 # simulated market, dashboard at http://localhost:8080/
//	go run ./cmd/tickerd -rate 10000     # a busier market
//
// Every flag can also be set with an environment variable named TICKERD_
// and the flag's name in capitals with - as _ (TICKERD_MAX_CONNS=50000).
// A flag given on the command line wins.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/tickerd/tickerd/feed/sim"
	"github.com/tickerd/tickerd/hub"
	"github.com/tickerd/tickerd/internal/app"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "tickerd:", err)
		os.Exit(2)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("tickerd", flag.ContinueOnError)
	var (
		addr     = fs.String("addr", ":8080", "listen address")
		seed     = fs.Int64("seed", 1, "simulated market: random seed (same seed, same ticks)")
		rate     = fs.Float64("rate", 1000, "simulated market: total updates per second (0: no updates)")
		symbols  = fs.Int("symbols", 0, "simulated market: run only the first N symbols (0: all)")
		steady   = fs.Bool("steady", false, "simulated market: uniform rate, symbols round-robin")
		logLevel = fs.String("log-level", "info", "log level: debug, info, warn, error")

		shards     = fs.Int("shards", 0, "hub shards (0: GOMAXPROCS)")
		maxConns   = fs.Int("max-conns", 100_000, "maximum WebSocket connections")
		maxSymbols = fs.Int("max-symbols", 1000, "maximum subscriptions per connection")
		maxPerReq  = fs.Int("max-request-symbols", 1000, "maximum symbols in one request")
		maxMessage = fs.Int("max-message", 64<<10, "maximum client message size in bytes (larger: close 1009)")
		backlog    = fs.Duration("backlog-timeout", 30*time.Second, "close a client backlogged this long (1008 slow consumer)")
		ping       = fs.Duration("ping-interval", 30*time.Second, "ping every client this often; close after two silent intervals")
		handshake  = fs.Duration("handshake-timeout", 5*time.Second, "time allowed to send the HTTP/WebSocket handshake request")
		maxHeader  = fs.Int("max-header-bytes", 8<<10, "maximum HTTP request header size")
		drain      = fs.Duration("drain", 5*time.Second, "at shutdown, close clients with 1001 spread over this window (0: at once)")
		pprofAddr  = fs.String("pprof", "", "serve net/http/pprof on this separate address (e.g. 127.0.0.1:6060); empty: off")
	)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := fromEnv(fs); err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	if *rate < 0 {
		return errors.New("-rate must be 0 or more")
	}

	cfg := app.Config{
		Sim: sim.Config{Seed: *seed, Rate: *rate, Symbols: *symbols, Steady: *steady},
		Hub: hub.Config{
			Shards:               *shards,
			MaxConns:             *maxConns,
			MaxSymbolsPerConn:    *maxSymbols,
			MaxSymbolsPerRequest: *maxPerReq,
			MaxMessageBytes:      *maxMessage,
			BacklogTimeout:       *backlog,
			PingInterval:         *ping,
			HandshakeTimeout:     *handshake,
		},
		Logger:            log,
		ReadHeaderTimeout: *handshake,
		MaxHeaderBytes:    *maxHeader,
		DrainWindow:       *drain,
	}
	if *drain == 0 {
		cfg.DrainWindow = -1
	}
	if *rate == 0 {
		cfg.Feed = idleFeed(cfg.Sim)
	}
	a, err := app.New(cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		_ = a.Close()
		return err
	}
	logConfig(log, fs)
	checkFileLimit(log, *maxConns)
	if *pprofAddr != "" {
		stopPprof, err := servePprof(*pprofAddr, log)
		if err != nil {
			_ = ln.Close()
			_ = a.Close()
			return err
		}
		defer stopPprof()
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stopSignals := onSignals(cancel, log)
	defer stopSignals()
	return a.Serve(ctx, ln)
}

// onSignals cancels the server on SIGTERM or SIGINT, which starts the
// drain; a second SIGINT exits at once.
func onSignals(cancel func(), log *slog.Logger) (stop func()) {
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		draining := false
		for {
			select {
			case <-done:
				return
			case sig := <-ch:
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
	return func() {
		signal.Stop(ch)
		close(done)
		<-exited
	}
}

// fromEnv sets every flag not given on the command line from TICKERD_NAME.
func fromEnv(fs *flag.FlagSet) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] || err != nil {
			return
		}
		env := "TICKERD_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(env); ok {
			if serr := f.Value.Set(v); serr != nil {
				err = fmt.Errorf("%s=%q: %w", env, v, serr)
			}
		}
	})
	return err
}

// logConfig prints the effective configuration once.
func logConfig(log *slog.Logger, fs *flag.FlagSet) {
	var attrs []any
	fs.VisitAll(func(f *flag.Flag) { attrs = append(attrs, f.Name, f.Value.String()) })
	log.Info("config", attrs...)
}
