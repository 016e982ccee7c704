package tickerd

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/internal/cluster"
)

// natsNode is a server's part of a cluster: its NATS connection and, with
// ClusterConfig.EmbedAddr, the NATS server it runs. Owned by the Server:
// made in New, closed when Run returns (or by Shutdown if Run never ran).
type natsNode struct {
	cfg ClusterConfig
	log *slog.Logger
	nc  *nats.Conn
	srv *server.Server // the embedded server, or nil
	tmp string         // the embedded server's temporary store, removed at close
}

// joinCluster starts the embedded NATS server if there is one and
// connects to NATS. The connection retries on its own: a NATS server that
// is not up yet is no error.
func joinCluster(cfg ClusterConfig, log *slog.Logger) (n *natsNode, err error) {
	n = &natsNode{cfg: cfg, log: log}
	defer func() {
		if err != nil {
			n.close()
		}
	}()
	urls := strings.Join(cfg.NATS, ",")
	if cfg.EmbedAddr != "" {
		if err := n.embed(); err != nil {
			return nil, err
		}
		if urls == "" {
			urls = n.srv.ClientURL()
		}
	}
	host, _ := os.Hostname()
	if n.nc, err = cluster.Connect(urls, "tickerd-"+string(cfg.Role)+"@"+host, log); err != nil {
		return nil, fmt.Errorf("tickerd: %w", err) // it names the URLs, redacted
	}
	return n, nil
}

// embed starts the NATS server of EmbedAddr.
func (n *natsNode) embed() error {
	host, portStr, err := net.SplitHostPort(n.cfg.EmbedAddr)
	if err != nil {
		return fmt.Errorf("tickerd: Cluster.EmbedAddr %q: %w", n.cfg.EmbedAddr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return fmt.Errorf("tickerd: Cluster.EmbedAddr %q: port is not a number", n.cfg.EmbedAddr)
	}
	store := n.cfg.EmbedStoreDir
	if store == "" {
		if n.tmp, err = os.MkdirTemp("", "tickerd-nats-"); err != nil {
			return fmt.Errorf("tickerd: %w", err)
		}
		store = n.tmp
	}
	n.srv, err = cluster.StartServer(cluster.ServerConfig{
		Name: "tickerd-embedded", Host: host, Port: port, StoreDir: store, MaxMemory: n.embedMemory(),
	}, n.log)
	if err != nil {
		return fmt.Errorf("tickerd: %w", err)
	}
	n.log.Info("embedded NATS server listening", "url", n.srv.ClientURL(), "store", store)
	return nil
}

// embedMemory is the JetStream memory of the embedded server: 256 MiB,
// enough for the default stream bounds (160 MiB reserved), plus each
// bound the config sets.
func (n *natsNode) embedMemory() int64 {
	return 256<<20 + n.cfg.LastBytes + n.cfg.TradeBytes + n.cfg.CandleBytes
}

func (n *natsNode) clusterConfig() cluster.Config {
	c := n.cfg
	return cluster.Config{
		Prefix: c.Prefix, Replicas: c.Replicas, FileStorage: c.FileStorage, PublishOnly: c.Role == RoleFeed,
		LastBytes: c.LastBytes, TradeBytes: c.TradeBytes, CandleBytes: c.CandleBytes,
		TradeHistory: c.TradeHistory, TradeAge: c.TradeAge, CandleHistory: c.CandleHistory,
	}
}

// publisher wraps a feed node's feed.
func (n *natsNode) publisher(f feed.Feed) (feed.Feed, error) {
	p, err := cluster.NewPublisher(n.nc, f, n.clusterConfig(), n.log)
	if err != nil {
		return nil, fmt.Errorf("tickerd: %w", err)
	}
	return p, nil
}

// edge waits up to Wait (or until ctx ends) for the feed node's symbol
// list and returns the edge's feed.
func (n *natsNode) edge(ctx context.Context) (feed.Feed, error) {
	ctx, cancel := context.WithTimeout(ctx, n.cfg.Wait)
	defer cancel()
	n.log.Info("edge: waiting for the feed node's symbol list", "nats", redactURLs(n.cfg.NATS), "timeout", n.cfg.Wait)
	e, err := cluster.NewEdge(ctx, n.nc, n.clusterConfig(), n.log)
	if err != nil {
		return nil, fmt.Errorf("tickerd: %w (NATS connection %s)", err, n.nc.Status())
	}
	return e, nil
}

// close flushes and closes the connection, then stops the embedded
// server.
func (n *natsNode) close() {
	if n.nc != nil {
		if n.nc.IsConnected() { // else a flush only waits out its timeout
			_ = n.nc.FlushTimeout(2 * time.Second)
		}
		n.nc.Close()
	}
	if n.srv != nil {
		n.srv.Shutdown()
		n.srv.WaitForShutdown()
	}
	if n.tmp != "" {
		_ = os.RemoveAll(n.tmp)
	}
}
