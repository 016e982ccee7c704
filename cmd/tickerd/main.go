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
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/tickerd/tickerd/feed/sim"
	"github.com/tickerd/tickerd/hub"
	"github.com/tickerd/tickerd/internal/app"
	"github.com/tickerd/tickerd/internal/auth"
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
		readyAge   = fs.Duration("ready-max-feed-age", app.DefaultReadyMaxFeedAge, "/readyz says 503 when the feed published nothing for this long (negative: not checked; default off with -rate 0)")
		gcPercent  = fs.Int("gc-percent", 50, "Go GC target (as GOGC): lower trades a little CPU for less memory per connection; a GOGC environment variable wins")
		pprofAddr  = fs.String("pprof", "", "serve net/http/pprof on this separate address (e.g. 127.0.0.1:6060); empty: off")

		msgRate    = fs.Float64("message-rate", 20, "client messages per second per connection (token bucket; -1: unlimited)")
		msgBurst   = fs.Int("message-burst", 40, "client messages allowed at once above -message-rate")
		perIP      = fs.Int("max-conns-per-ip", 0, "connections from one source address (0: no cap; behind a proxy all clients share its address)")
		origins    = fs.String("allowed-origins", "", "comma-separated browser Origins allowed (host, https://host, or *); empty: same host, or any with -auth-*")
		authSecret = fs.String("auth-hs256-secret-file", "", "require JWTs signed with the HS256 secret in this file")
		authPub    = fs.String("auth-public-key-file", "", "require JWTs signed with this PEM public key (RS256 or ES256)")
		authJWKS   = fs.String("auth-jwks-file", "", "require JWTs signed with a key of this JWKS file")
		authIss    = fs.String("auth-issuer", "", "with -auth-*: required iss claim")
		authAud    = fs.String("auth-audience", "", "with -auth-*: required aud claim")
		authWait   = fs.Duration("auth-timeout", 10*time.Second, "with -auth-*: time a client has to send its auth message")
		tlsCert    = fs.String("tls-cert", "", "serve HTTPS and wss:// with this PEM certificate (with -tls-key)")
		tlsKey     = fs.String("tls-key", "", "PEM private key for -tls-cert")
	)
	cl := addClusterFlags(fs)
	ff := addFeedFlags(fs)
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
	if err := validate(fs); err != nil {
		return err
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
		ReadyMaxFeedAge:   *readyAge,
		TLSCertFile:       *tlsCert,
		TLSKeyFile:        *tlsKey,
	}
	cfg.Hub.MessageRate, cfg.Hub.MessageBurst = *msgRate, *msgBurst
	cfg.Hub.MaxConnsPerIP, cfg.Hub.AuthTimeout = *perIP, *authWait
	if *origins != "" {
		cfg.AllowedOrigins = strings.Split(*origins, ",")
	}
	if *authSecret != "" || *authPub != "" || *authJWKS != "" {
		v, err := auth.New(auth.Config{
			HMACSecretFile: *authSecret, PublicKeyFile: *authPub, JWKSFile: *authJWKS,
			Issuer: *authIss, Audience: *authAud, Logger: log,
		})
		if err != nil {
			return err
		}
		cfg.Auth = v
	}
	if *drain == 0 {
		cfg.DrainWindow = -1
	}
	if *rate == 0 && !flagGiven(fs, "ready-max-feed-age") {
		cfg.ReadyMaxFeedAge = -1 // an idle market is quiet by design
	}
	finishFeed, err := ff.configure(&cfg, *rate == 0, log)
	if err != nil {
		return err
	}
	defer func() {
		if err := finishFeed(); err != nil {
			log.Error("recording", "err", err)
		}
	}()
	stopCluster, err := cl.configure(&cfg, log)
	if err != nil {
		return err
	}
	defer stopCluster() // after Serve has returned
	a, err := app.New(cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		_ = a.Close()
		return err
	}
	if _, set := os.LookupEnv("GOGC"); !set {
		// The publish path allocates per update, not per delivered
		// message, so collections are rare and a lower target is cheap.
		debug.SetGCPercent(*gcPercent)
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
	stopSignals := onSignals(cancel, cfg.Auth, log)
	defer stopSignals()
	return a.Serve(ctx, ln)
}

// onSignals cancels the server on SIGTERM or SIGINT, which starts the
// drain; a second SIGINT exits at once. SIGHUP reloads the auth keys.
func onSignals(cancel func(), keys *auth.Verifier, log *slog.Logger) (stop func()) {
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
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
	return func() {
		signal.Stop(ch)
		close(done)
		<-exited
	}
}

// validate refuses values no server can run with, naming the flag.
func validate(fs *flag.FlagSet) error {
	positive := []string{"max-conns", "max-symbols", "max-request-symbols", "max-header-bytes",
		"backlog-timeout", "ping-interval", "handshake-timeout", "auth-timeout", "message-burst"}
	atLeastZero := []string{"rate", "symbols", "shards", "drain", "max-conns-per-ip"}
	for _, name := range positive {
		if v := fs.Lookup(name).Value.String(); strings.HasPrefix(v, "-") || v == "0" || v == "0s" {
			return fmt.Errorf("-%s %s: must be more than 0", name, v)
		}
	}
	for _, name := range atLeastZero {
		if v := fs.Lookup(name).Value.String(); strings.HasPrefix(v, "-") {
			return fmt.Errorf("-%s %s: must be 0 or more", name, v)
		}
	}
	if v := fs.Lookup("max-message").Value.(flag.Getter).Get().(int); v < 125 {
		return fmt.Errorf("-max-message %d: must be at least 125 (a control frame's payload)", v)
	}
	if v := fs.Lookup("message-rate").Value.(flag.Getter).Get().(float64); v == 0 || (v < 0 && v != -1) {
		return fmt.Errorf("-message-rate %v: must be more than 0, or -1 for unlimited", v)
	}
	return nil
}

// flagGiven reports whether the flag was set on the command line or from
// the environment.
func flagGiven(fs *flag.FlagSet, name string) bool {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
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
