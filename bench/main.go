// Command bench is tickerd's load generator. It opens many WebSocket
// connections to a tickerd, subscribes each to K symbols, and measures for a
// steady window after a warm-up: connections and failures, messages per
// second, per-symbol seq jumps (merged updates), out-of-order and duplicate
// messages, tick latency (ts to receive) percentiles, and the server's RSS,
// CPU and goroutines. It prints a summary and can write a JSON result and an
// SVG of latency over time.
//
//	go run ./bench -scenario fan-out -spawn                       # one command, full result
//	go run ./bench -scenario idle-memory -spawn -conns 19000 -out idle.json
//	go run ./bench -url ws://127.0.0.1:8080/ws -conns 2000 -k 5 -dist zipf
//
// Scenarios: idle-memory, fan-out, market, slow-consumers, churn, burst,
// universe, trades, book, hostile; each sets defaults that explicit flags
// override (-h lists them). trades compares the trade tape's CPU per
// message with quotes' on the same server, then makes every client
// reconnect at once and resume 100 trades back ("since"), timing each
// resume and checking for holes and duplicates; book subscribes at depths
// 10, 50 and 200 with a tenth of the readers stalling, and verifies every
// checksum; -deflate negotiates permessage-deflate and reports bytes on
// the wire against inflated:
//
//	go run ./bench -scenario trades -spawn
//	go run ./bench -scenario book -spawn
//	go run ./bench -scenario market -spawn -deflate
//
// universe runs 100,000 simulated symbols whose options are
// listed and expire every 10 s, watchlists of 10 to 1,000 symbols, and a
// probe that times each change of the symbol list as a client sees it and
// splits the quote path's p99 into the seconds with changes and without:
//
//	go run ./bench -scenario universe -spawn
//
// -max-rate R subscribes at max_rate R and reports each subscription's
// delivered rate against it, and the value age; -compare-k runs the same
// delivered rate with K symbols per connection for each K and compares
// CPU per message:
//
//	go run ./bench -scenario fan-out -spawn -conns 1000 -feed-rate 100 -max-rate 1
//	go run ./bench -spawn -compare-k 1,1000 -conns 1000 -feed-rate 100 -repeat 3
//
// hostile runs each attack of package attack (idle keep-alive HTTP, slow
// headers, huge queries, partial frames, fragments, reply floods, pings,
// stalled readers, idle and stalled wss:// connections) in turn beside
// well-behaved readers, and reports the server's memory per attacking
// connection, its fds during and after, and the readers' p99 in each
// attack against the quiet window before it. The wss classes attack a
// second server that serves TLS (with -spawn, a tickerd started with a
// certificate made for the run; else -wss-url):
//
//	go run ./bench -scenario hostile -spawn
//	go run ./bench -scenario hostile -spawn -attacks reply-flood,partial-frame -attack-conns 20
//	go run ./bench -scenario hostile -spawn -attacks idle-wss,stalled-wss -attack-conns 400
//
// Connections are read by a few goroutines per process over edge-triggered
// epoll, with one buffer each, and spread over the source addresses
// 127.0.0.2 and up. With -read-every the readers collect events at most
// that often, sparing the server's core the work of waking them, which
// loopback bills to it. Above
// -per-worker connections the load is split over worker processes (this
// binary, re-executed) whose results are merged. Only loopback targets are
// allowed without -allow-remote, and every run ends by -deadline.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/tickerd/tickerd/bench/internal/attack"
	"github.com/tickerd/tickerd/bench/internal/load"
	"github.com/tickerd/tickerd/protocol"
)

func main() {
	switch {
	case os.Getenv(envPinExec) != "":
		// Trampoline for a spawned server: pin, then become it.
		err := pinExec(os.Getenv(envPinCPUs), os.Getenv(envPinExec), os.Args, nil)
		fmt.Fprintln(os.Stderr, "bench: pin:", err)
		os.Exit(2)
	case os.Getenv(envWorker) == "1":
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err := load.Run(ctx, os.Stdin, os.Stdout)
		stop()
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench worker:", err)
			os.Exit(1)
		}
		return
	}
	cfg, err := parseFlags(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	if cfg.cpus != "" && os.Getenv(envPinned) == "" {
		self, err := os.Executable()
		if err == nil {
			err = pinExec(cfg.cpus, self, os.Args, []string{envPinned + "=1"})
		}
		fmt.Fprintln(os.Stderr, "bench: -cpus:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := runScenario(ctx, cfg, os.Stderr)
	if rep != nil {
		if werr := rep.write(cfg, os.Stdout); werr != nil && err == nil {
			err = werr
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		stop()
		os.Exit(1)
	}
}

// result is a finished run's report.
type result interface {
	write(c *config, w io.Writer) error
}

// runScenario performs the run c asks for; the result may come with an
// error, for a run that ended early.
func runScenario(ctx context.Context, c *config, log io.Writer) (result, error) {
	if c.compareQuotes {
		r, err := runCompareQuotes(ctx, c, log)
		if r == nil {
			return nil, err
		}
		return r, err
	}
	if c.scenario == "hostile" {
		r, err := runHostile(ctx, c, log)
		if r == nil {
			return nil, err
		}
		return r, err
	}
	if c.compareK != "" {
		if !c.spawn {
			return nil, errors.New("-compare-k needs -spawn: each K runs its own server")
		}
		r, err := runCompare(ctx, c, log, run)
		if r == nil {
			return nil, err
		}
		return r, err
	}
	r, err := run(ctx, c, log)
	if r == nil {
		return nil, err
	}
	return r, err
}

// config is a run's settings, from flags.
type config struct {
	scenario    string
	urls        string
	wssURL      string
	allowRemote bool

	conns    int
	k, kMax  int
	dist     string
	universe int
	symbols  string
	query    bool
	seed     uint64
	maxRate  float64

	channel           string
	depths            string
	stall, stallEvery time.Duration
	slowRcvBuf        int
	stormBack         uint64
	stormWindow       time.Duration
	stormConc         int
	compareQuotes     bool
	deflate           bool

	watchListings bool
	serverSeries  bool
	compareK      string
	repeat        int

	slow       float64
	churnRate  float64
	churnConc  int
	burstConns int
	burstAt    time.Duration

	attacks        string
	attackConns    int
	quiet, recover time.Duration

	warmup, duration, deadline time.Duration

	perWorker, workers, readers int
	readEvery                   time.Duration
	dialConc                    int
	connectRate                 float64
	dialTimeout, connectTimeout time.Duration
	srcIPs                      int
	cpus                        string

	out, svg, label string

	spawn          bool
	nodes          int
	serverBin      string
	serverCPUs     string
	serverGOMAX    int
	serverArgs     string
	feedRate       float64
	feedSymbols    int
	feedSteady     bool
	feedUniverse   int
	feedDay        time.Duration
	feedQuotesOnly bool
	serverPID      int
	settle         time.Duration
	command        string // the command line, for the report
	explicitlySet  map[string]bool
}

// scenarios holds each scenario's flag defaults; explicit flags win.
var scenarios = map[string]map[string]string{
	// (a) server memory per idle connection: 19,000 connections x 10 symbols, no updates.
	"idle-memory": {"conns": "19000", "k": "10", "dist": "uniform", "feed-rate": "0", "warmup": "5s", "duration": "10s"},
	// (b)/(c) one symbol to every client at a steady rate.
	"fan-out": {"conns": "10000", "k": "1", "dist": "same", "feed-symbols": "1", "feed-steady": "true", "feed-rate": "10", "warmup": "5s", "duration": "20s"},
	// (d) watchlists: 10 of 100 symbols, skewed, 1,000 updates/s in all.
	"market": {"conns": "10000", "k": "10", "dist": "zipf", "feed-symbols": "100", "feed-steady": "true", "feed-rate": "1000", "warmup": "5s", "duration": "20s"},
	// A fifth of the clients stop reading; the others' latency should not move.
	"slow-consumers": {"conns": "5000", "slow": "0.2", "k": "1", "dist": "same", "feed-symbols": "1", "feed-steady": "true", "feed-rate": "100", "warmup": "5s", "duration": "40s"},
	// Connect/subscribe/unsubscribe/close storms beside steady readers.
	"churn": {"conns": "2000", "k": "5", "dist": "zipf", "feed-symbols": "100", "feed-steady": "true", "feed-rate": "1000", "churn-rate": "200", "churn-conc": "32", "warmup": "5s", "duration": "20s"},
	// Market open: a bursty feed, and as many clients again log on at once.
	"burst": {"conns": "5000", "burst-conns": "5000", "burst-at": "10s", "k": "10", "dist": "zipf", "feed-symbols": "100", "feed-steady": "false", "feed-rate": "2000", "warmup": "5s", "duration": "25s"},
	// A large universe changing while it runs: 100,000 symbols, options
	// listed and expired every simulated day (10 s), watchlists of 10 to
	// 1,000 symbols, the symbol list watched for each change.
	"universe": {"conns": "10000", "k": "10", "k-max": "1000", "dist": "zipf", "feed-universe": "100000", "feed-day": "10s",
		"feed-quotes-only": "true", "feed-rate": "100", "watch-listings": "true", "server-series": "true", "warmup": "5s", "duration": "30s"},
	// The trade tape to everyone, against quotes on the same server, then
	// every client reconnects at once and resumes 100 trades back, the
	// clients spread over four processes.
	"trades": {"conns": "10000", "k": "1", "dist": "same", "feed-symbols": "1", "feed-steady": "true", "feed-rate": "10",
		"channel": "trades", "compare-quotes": "true", "storm-back": "100", "storm-window": "5s", "workers": "4", "warmup": "5s", "duration": "20s"},
	// Order books at depths 10, 50 and 200, about 160 deltas a second
	// per connection (3 per update); a tenth of the readers stall 6 s out
	// of every 12 s with small socket buffers, long enough to fall behind
	// the server's send buffer; every checksum verified.
	"book": {"conns": "1000", "k": "1", "dist": "same", "feed-symbols": "1", "feed-steady": "true", "feed-rate": "50",
		"channel": "book", "depths": "10,50,200", "slow": "0.1", "stall": "6s", "stall-every": "12s", "slow-rcvbuf": "4096",
		"warmup": "5s", "duration": "20s"},
	// Each attack class of issue 13 in turn beside well-behaved readers;
	// -duration is each attack's window.
	"hostile": {"conns": "500", "k": "10", "dist": "zipf", "feed-symbols": "100", "feed-steady": "true", "feed-rate": "1000", "warmup": "3s", "duration": "10s"},
}

func parseFlags(args []string) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.StringVar(&c.scenario, "scenario", "fan-out", "scenario: idle-memory, fan-out, market, slow-consumers, churn, burst, universe, trades, book, hostile")
	fs.StringVar(&c.urls, "url", "ws://127.0.0.1:8080/ws", "tickerd WebSocket URL(s), comma-separated; ignored with -spawn")
	fs.StringVar(&c.wssURL, "wss-url", "", "hostile: the wss:// URL the TLS classes (idle-wss, stalled-wss) attack; with -spawn a second tickerd with a certificate made for the run serves it")
	fs.BoolVar(&c.allowRemote, "allow-remote", false, "allow non-loopback targets")

	fs.IntVar(&c.conns, "conns", 1000, "connections")
	fs.IntVar(&c.k, "k", 1, "symbols per connection")
	fs.IntVar(&c.kMax, "k-max", 0, "above -k: each connection takes -k to -k-max symbols, the count drawn log-uniformly")
	fs.StringVar(&c.dist, "dist", "same", "symbol choice: same (first K), uniform, zipf (skewed like watchlists)")
	fs.IntVar(&c.universe, "universe", 0, "choose from the first N of the server's symbols (0: all)")
	fs.StringVar(&c.symbols, "symbols", "", "comma-separated symbol universe instead of GET /api/symbols")
	fs.BoolVar(&c.query, "query", false, "subscribe with /ws?symbols= instead of a subscribe message")
	fs.Uint64Var(&c.seed, "seed", 1, "seed for the symbol choice")
	fs.Float64Var(&c.maxRate, "max-rate", 0, "subscribe with this max_rate (updates/s per symbol, 0.1..1000); the report gives each subscription's delivered rate against it (0: none)")
	fs.StringVar(&c.channel, "channel", "quotes", "what every connection subscribes to: quotes, trades (holes and duplicates checked) or book (kept and every checksum verified)")
	fs.StringVar(&c.depths, "depths", "", "with -channel book: comma-separated depths (10, 50, 200), connection i taking the i-th modulo (empty: the server's default)")
	fs.DurationVar(&c.stall, "stall", 0, "with -slow: the slow fraction reads, but stops reading for this long out of every -stall-every (0: it never reads)")
	fs.DurationVar(&c.stallEvery, "stall-every", 5*time.Second, "with -stall: the period of a slow reader's stalls")
	fs.IntVar(&c.slowRcvBuf, "slow-rcvbuf", 0, "with -slow: the receive buffer (SO_RCVBUF) of the slow connections' sockets, so that a stall backs up into the server quickly (0: the kernel's)")
	fs.Uint64Var(&c.stormBack, "storm-back", 0, "with -channel trades: after the window every client reconnects at once and subscribes with since this many trades before the last it had, and the resume is timed and checked (0: no storm)")
	fs.DurationVar(&c.stormWindow, "storm-window", 5*time.Second, "with -storm-back: how long the resumed tapes are watched (whole seconds)")
	fs.IntVar(&c.stormConc, "storm-concurrency", 256, "with -storm-back: reconnects in flight per worker")
	fs.BoolVar(&c.compareQuotes, "compare-quotes", false, "with -channel trades or book: first the same run on the quote channel, against the same server, for CPU per message side by side")
	fs.BoolVar(&c.deflate, "deflate", false, "offer permessage-deflate (no context takeover); the readers inflate, and the summary gives bytes on the wire against inflated")
	fs.BoolVar(&c.watchListings, "watch-listings", false, "watch the server's symbol list during the run: each change's span, symbols listed and delisted, and the quote path's p99 during changes and outside them")
	fs.BoolVar(&c.serverSeries, "server-series", false, "scrape /metrics every second for the server's tick-to-write percentiles per second (costs the server a scrape a second)")
	fs.StringVar(&c.compareK, "compare-k", "", "with -spawn: one run per K in this comma-separated list (e.g. 1,1000), each against a server of exactly K symbols at -feed-rate, steady, quotes only, every connection subscribed to all K: the same delivered rate, and CPU per message compared")
	fs.IntVar(&c.repeat, "repeat", 1, "with -compare-k: run the list this many times, interleaved")

	fs.Float64Var(&c.slow, "slow", 0, "fraction of connections that subscribe and then never read")
	fs.Float64Var(&c.churnRate, "churn-rate", 0, "connect/subscribe/unsubscribe/close cycles per second during the run")
	fs.IntVar(&c.churnConc, "churn-conc", 16, "churn cycles in flight")
	fs.IntVar(&c.burstConns, "burst-conns", 0, "connections opened at once at -burst-at")
	fs.DurationVar(&c.burstAt, "burst-at", 10*time.Second, "when the burst connects, after the end of the warm-up")

	fs.StringVar(&c.attacks, "attacks", "all", "hostile: comma-separated attack classes: "+attackNames())
	fs.IntVar(&c.attackConns, "attack-conns", 0, "hostile: connections per attack (0: each class's default)")
	fs.DurationVar(&c.quiet, "quiet", 5*time.Second, "hostile: window without attackers before each attack (whole seconds)")
	fs.DurationVar(&c.recover, "recover", 3*time.Second, "hostile: pause after each attack before the fds are read again (whole seconds)")

	fs.DurationVar(&c.warmup, "warmup", 5*time.Second, "warm-up before the measurement window (whole seconds)")
	fs.DurationVar(&c.duration, "duration", 20*time.Second, "measurement window (whole seconds)")
	fs.DurationVar(&c.deadline, "deadline", 0, "hard limit for the whole run (0: connect-timeout + warmup + duration + 2m)")

	fs.IntVar(&c.perWorker, "per-worker", 12000, "most connections per process (the open-file limit is 20,000)")
	fs.IntVar(&c.workers, "workers", 0, "at least this many worker processes")
	fs.IntVar(&c.readers, "readers", 0, "epoll reader goroutines per worker (0: GOMAXPROCS)")
	fs.DurationVar(&c.readEvery, "read-every", 0, "readers collect epoll events at most this often, like a NIC's interrupt moderation (0: as they come); on loopback this spares the server's core from waking them")
	fs.IntVar(&c.dialConc, "dial-concurrency", 32, "dials in flight per worker")
	fs.Float64Var(&c.connectRate, "connect-rate", 0, "dials per second in all (0: as fast as dial-concurrency allows)")
	fs.DurationVar(&c.dialTimeout, "dial-timeout", 10*time.Second, "connect+handshake limit per connection")
	fs.DurationVar(&c.connectTimeout, "connect-timeout", 3*time.Minute, "limit for opening all connections")
	fs.IntVar(&c.srcIPs, "src-ips", 8, "source addresses 127.0.0.2 and up to spread connections over (loopback only)")
	fs.StringVar(&c.cpus, "cpus", "", "pin the generator (and its workers) to these CPUs, e.g. 1")

	fs.StringVar(&c.out, "out", "", "write the JSON result here")
	fs.StringVar(&c.svg, "svg", "", "write an SVG of latency percentiles per second here")
	fs.StringVar(&c.label, "label", "", "free text stored in the result")

	fs.BoolVar(&c.spawn, "spawn", false, "start tickerd(s) for the run and stop them after")
	fs.IntVar(&c.nodes, "spawn-nodes", 1, "with -spawn: independent tickerd processes; connections are spread over them")
	fs.StringVar(&c.serverBin, "server-bin", "", "with -spawn: tickerd binary (default: go build ./cmd/tickerd once)")
	fs.StringVar(&c.serverCPUs, "server-cpus", "", "with -spawn: pin tickerd to these CPUs, e.g. 0")
	fs.IntVar(&c.serverGOMAX, "server-gomaxprocs", 0, "with -spawn: GOMAXPROCS for tickerd")
	fs.StringVar(&c.serverArgs, "server-args", "", "with -spawn: extra tickerd flags, space-separated")
	fs.Float64Var(&c.feedRate, "feed-rate", 1000, "with -spawn: tickerd -rate (updates/s in all)")
	fs.IntVar(&c.feedSymbols, "feed-symbols", 0, "with -spawn: tickerd -symbols (0: all)")
	fs.BoolVar(&c.feedSteady, "feed-steady", false, "with -spawn: tickerd -steady")
	fs.IntVar(&c.feedUniverse, "feed-universe", 0, "with -spawn: tickerd -universe (a simulated universe of N symbols, options listed and expired each simulated day)")
	fs.DurationVar(&c.feedDay, "feed-day", 0, "with -spawn and -feed-universe: tickerd -universe-day (0: tickerd's default)")
	fs.BoolVar(&c.feedQuotesOnly, "feed-quotes-only", false, "with -spawn: tickerd -quotes-only")
	fs.IntVar(&c.serverPID, "server-pid", 0, "PID of a local tickerd to sample (default: found from the listening port)")
	fs.DurationVar(&c.settle, "settle", 2*time.Second, "pause before sampling the server's baseline and after connecting")

	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	c.explicitlySet = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { c.explicitlySet[f.Name] = true })
	defaults, ok := scenarios[c.scenario]
	if !ok {
		return nil, fmt.Errorf("unknown -scenario %q", c.scenario)
	}
	for name, v := range defaults {
		if !c.explicitlySet[name] {
			if err := fs.Set(name, v); err != nil {
				return nil, fmt.Errorf("scenario default %s=%s: %w", name, v, err)
			}
		}
	}
	c.command = "go run ./bench " + strings.Join(args, " ")
	return c, c.validate()
}

func (c *config) validate() error {
	switch {
	case c.conns < 1:
		return errors.New("-conns must be at least 1")
	case c.k < 0:
		return errors.New("-k must be 0 or more")
	case c.slow < 0 || c.slow >= 1:
		return errors.New("-slow must be in [0, 1)")
	case c.warmup < 0 || c.warmup%time.Second != 0:
		return errors.New("-warmup must be whole seconds")
	case c.duration < time.Second || c.duration%time.Second != 0:
		return errors.New("-duration must be whole seconds, at least 1s")
	case c.perWorker < 1 || c.perWorker > 18000:
		return errors.New("-per-worker must be in 1..18000 (the open-file limit is 20,000)")
	case c.nodes < 1 || c.nodes > 16:
		return errors.New("-spawn-nodes must be in 1..16")
	case c.churnRate < 0 || c.burstConns < 0:
		return errors.New("-churn-rate and -burst-conns must be 0 or more")
	case c.burstConns > 0 && (c.burstAt < 0 || c.burstAt >= c.duration):
		return errors.New("-burst-at must fall inside the measurement window")
	case c.kMax != 0 && c.kMax < c.k:
		return errors.New("-k-max must be 0 or at least -k")
	case c.maxRate != 0 && (c.maxRate < protocol.MinMaxRate || c.maxRate > protocol.MaxMaxRate):
		return fmt.Errorf("-max-rate must be 0 or in %v..%v", protocol.MinMaxRate, protocol.MaxMaxRate)
	case c.maxRate != 0 && c.query:
		return errors.New("-max-rate needs a subscribe message: not with -query")
	case c.feedUniverse != 0 && c.feedSymbols != 0:
		return errors.New("-feed-universe and -feed-symbols cannot both be set")
	case strings.Contains(c.urls, "wss://"):
		return errors.New("-url takes ws:// URLs; wss:// goes in -wss-url, for the hostile TLS classes")
	}
	if err := c.validateChannel(); err != nil {
		return err
	}
	if c.compareK != "" {
		if err := c.validateCompare(); err != nil {
			return err
		}
	}
	if c.scenario == "hostile" {
		if err := c.validateHostile(); err != nil {
			return err
		}
	}
	if c.cpus != "" {
		if _, err := parseCPUs(c.cpus); err != nil {
			return fmt.Errorf("-cpus: %w", err)
		}
	}
	if c.serverCPUs != "" {
		if _, err := parseCPUs(c.serverCPUs); err != nil {
			return fmt.Errorf("-server-cpus: %w", err)
		}
	}
	return load.CheckDist(c.dist)
}

// validateHostile checks the settings of a hostile run: one local server,
// and whole-second windows.
func (c *config) validateHostile() error {
	classes, err := attack.Select(c.attacks)
	switch {
	case err != nil:
		return fmt.Errorf("-attacks: %w", err)
	case c.allowRemote:
		return errors.New("-scenario hostile runs against loopback only")
	case c.nodes != 1 || strings.Contains(c.urls, ",") && !c.spawn:
		return errors.New("-scenario hostile takes one server")
	case c.quiet < time.Second || c.quiet%time.Second != 0:
		return errors.New("-quiet must be whole seconds, at least 1s")
	case c.recover < 0 || c.recover%time.Second != 0:
		return errors.New("-recover must be whole seconds")
	case c.slow > 0 || c.churnRate > 0 || c.burstConns > 0:
		return errors.New("-scenario hostile takes no -slow, -churn-rate or -burst-conns")
	case c.attackConns < 0:
		return errors.New("-attack-conns must be 0 or more")
	case c.wssURL != "" && !strings.HasPrefix(c.wssURL, "wss://"):
		return errors.New("-wss-url must be a wss:// URL")
	case c.wssURL != "" && c.spawn:
		return errors.New("-wss-url is for a running server: -spawn starts its own")
	case needsTLS(classes) && !c.spawn && c.wssURL == "":
		return errors.New("the wss classes (idle-wss, stalled-wss) need -wss-url, or -spawn")
	}
	for _, cl := range classes {
		n := cl.Conns
		if c.attackConns > 0 {
			n = c.attackConns
		}
		if c.conns+n > 19000 {
			return fmt.Errorf("%d readers and %d %s connections: more than the server's 20,000 fds allow", c.conns, n, cl.Name)
		}
	}
	return nil
}

// needsTLS reports whether a class of classes connects over wss://.
func needsTLS(classes []attack.Class) bool {
	for _, cl := range classes {
		if cl.TLS {
			return true
		}
	}
	return false
}

func attackNames() string {
	names := make([]string, len(attack.Classes))
	for i, cl := range attack.Classes {
		names[i] = cl.Name
	}
	return strings.Join(names, ", ")
}

// spawnArgs returns the tickerd flags of a spawned server.
func (c *config) spawnArgs() []string {
	args := []string{"-rate", fmt.Sprint(c.feedRate)}
	if c.feedSymbols > 0 {
		args = append(args, "-symbols", fmt.Sprint(c.feedSymbols))
	}
	if c.feedSteady {
		args = append(args, "-steady")
	}
	if c.feedUniverse > 0 {
		args = append(args, "-universe", fmt.Sprint(c.feedUniverse))
		if c.feedDay > 0 {
			args = append(args, "-universe-day", c.feedDay.String())
		}
	}
	if c.feedQuotesOnly {
		args = append(args, "-quotes-only")
	}
	return append(args, strings.Fields(c.serverArgs)...)
}
