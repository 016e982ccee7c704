package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/tickerd/tickerd/feed/sim"
	"github.com/tickerd/tickerd/internal/app"
	"github.com/tickerd/tickerd/internal/cluster"
)

// clusterFlags are the flags of a node that shares its feed through NATS.
type clusterFlags struct {
	urls     *string
	role     *string
	embed    *string
	store    *string
	replicas *int
	file     *bool
	wait     *time.Duration
}

func addClusterFlags(fs *flag.FlagSet) *clusterFlags {
	return &clusterFlags{
		urls:     fs.String("nats", "", "NATS server URLs, comma-separated: share the feed between nodes (empty: single node, all in-process)"),
		role:     fs.String("role", "both", "with NATS: feed (publish the feed, serve no clients), edge (serve clients from NATS), both (publish and serve)"),
		embed:    fs.String("nats-embed", "", "start a NATS server with JetStream in this process, listening on this address (e.g. 127.0.0.1:4222); -nats defaults to it"),
		store:    fs.String("nats-store", "", "JetStream directory of the -nats-embed server (empty: a temporary directory, removed at exit)"),
		replicas: fs.Int("nats-replicas", 0, "feed node: replicas of the last-value stream (0: keep an existing stream's; new: 3 on a cluster, 1 on a single server)"),
		file:     fs.Bool("nats-file", false, "feed node: keep the last-value stream on disk instead of in memory"),
		wait:     fs.Duration("nats-wait", 30*time.Second, "edge: how long to wait at start for the feed node's symbol list"),
	}
}

// configure makes cfg a cluster node when -nats or -nats-embed is set:
// the feed is wrapped in a cluster.Publisher (roles feed and both) or
// replaced by a cluster.Edge (role edge). cleanup closes the NATS
// connection and stops the embedded server; call it after Serve returns.
func (c *clusterFlags) configure(cfg *app.Config, log *slog.Logger) (cleanup func(), err error) {
	cleanup = func() {}
	if *c.urls == "" && *c.embed == "" {
		if *c.role != "both" {
			return cleanup, errors.New("-role needs -nats or -nats-embed")
		}
		return cleanup, nil
	}
	switch *c.role {
	case "feed", "edge", "both":
	default:
		return cleanup, fmt.Errorf("-role %q: want feed, edge or both", *c.role)
	}
	var undo []func()
	cleanup = func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}
	defer func() {
		if err != nil {
			cleanup()
			cleanup = func() {}
		}
	}()

	urls := *c.urls
	if *c.embed != "" {
		stop, url, err := startEmbedded(*c.embed, *c.store, log)
		if err != nil {
			return cleanup, err
		}
		undo = append(undo, stop)
		if urls == "" {
			urls = url
		}
	}
	host, _ := os.Hostname()
	nc, err := cluster.Connect(urls, "tickerd-"+*c.role+"@"+host, log)
	if err != nil {
		return cleanup, fmt.Errorf("-nats: %w", err)
	}
	undo = append(undo, func() {
		_ = nc.FlushTimeout(2 * time.Second)
		nc.Close()
	})
	ccfg := cluster.Config{Replicas: *c.replicas, FileStorage: *c.file, PublishOnly: *c.role == "feed"}

	if *c.role == "edge" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		ctx, cancel := context.WithTimeout(ctx, *c.wait)
		defer cancel()
		log.Info("edge: waiting for the feed node's symbol list", "nats", urls, "timeout", *c.wait)
		edge, err := cluster.NewEdge(ctx, nc, ccfg, log)
		if err != nil {
			return cleanup, fmt.Errorf("%w (status %s)", err, nc.Status())
		}
		cfg.Feed = edge
		return cleanup, nil
	}

	inner := cfg.Feed
	if inner == nil {
		m, err := sim.New(cfg.Sim)
		if err != nil {
			return cleanup, err
		}
		inner = m
	}
	pub, err := cluster.NewPublisher(nc, inner, ccfg, log)
	if err != nil {
		return cleanup, err
	}
	cfg.Feed = pub
	if *c.role == "feed" {
		// A dedicated feed node: its hub gets no ticks, so refuse
		// WebSocket clients (403) rather than serve them nothing.
		cfg.Hub.CheckOrigin = refuseClients
	}
	return cleanup, nil
}

// refuseClients is the CheckOrigin of a feed-only node.
func refuseClients(*http.Request) bool { return false }

// startEmbedded starts the -nats-embed server and returns how to stop it
// and its client URL.
func startEmbedded(addr, store string, log *slog.Logger) (stop func(), url string, err error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, "", fmt.Errorf("-nats-embed %q: %w", addr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, "", fmt.Errorf("-nats-embed %q: bad port", addr)
	}
	var tmp string
	if store == "" {
		if tmp, err = os.MkdirTemp("", "tickerd-nats-"); err != nil {
			return nil, "", err
		}
		store = tmp
	}
	s, err := cluster.StartServer(cluster.ServerConfig{Name: "tickerd-embedded", Host: host, Port: port, StoreDir: store}, log)
	if err != nil {
		if tmp != "" {
			_ = os.RemoveAll(tmp)
		}
		return nil, "", err
	}
	log.Info("embedded NATS server listening", "url", s.ClientURL(), "store", store)
	return func() {
		s.Shutdown()
		s.WaitForShutdown()
		if tmp != "" {
			_ = os.RemoveAll(tmp)
		}
	}, s.ClientURL(), nil
}
