package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// ServerConfig configures a NATS server embedded in the process, with
// JetStream: for a demo (tickerd -nats-embed) and for tests.
type ServerConfig struct {
	// Name is the server's name, unique in a cluster. Default "tickerd".
	Name string
	// Host and Port are the client listener. Default 127.0.0.1 and 4222;
	// Port -1 picks a free port (see ClientURL on the server).
	Host string
	Port int
	// StoreDir is the JetStream storage directory. Required.
	StoreDir string
	// MaxMemory caps JetStream's memory storage. Default 256 MiB.
	MaxMemory int64

	// Cluster names the cluster to join; empty runs a single server.
	Cluster string
	// ClusterHost and ClusterPort are the route listener.
	ClusterHost string
	ClusterPort int
	// Routes are the other servers' route URLs (nats-route://host:port).
	Routes []string
}

// StartServer starts an embedded NATS server and waits until it accepts
// clients. Stop it with Shutdown, then WaitForShutdown.
func StartServer(cfg ServerConfig, log *slog.Logger) (*server.Server, error) {
	if cfg.StoreDir == "" {
		return nil, errors.New("cluster: embedded NATS server needs a store directory")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Name == "" {
		cfg.Name = "tickerd"
	}
	if cfg.Host == "" {
		cfg.Host = "127.0.0.1"
	}
	if cfg.MaxMemory <= 0 {
		cfg.MaxMemory = 256 << 20
	}
	opts := &server.Options{
		ServerName:         cfg.Name,
		Host:               cfg.Host,
		Port:               cfg.Port,
		JetStream:          true,
		StoreDir:           cfg.StoreDir,
		JetStreamMaxMemory: cfg.MaxMemory,
		NoSigs:             true,
	}
	if cfg.Cluster != "" {
		opts.Cluster = server.ClusterOpts{Name: cfg.Cluster, Host: cfg.ClusterHost, Port: cfg.ClusterPort}
		opts.Routes = server.RoutesFromStr(strings.Join(cfg.Routes, ","))
	}
	s, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("cluster: nats server: %w", err)
	}
	s.SetLoggerV2(natsLog{log.With("nats", cfg.Name)}, log.Enabled(context.Background(), slog.LevelDebug), false, false)
	s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		return nil, errors.New("cluster: nats server did not start in 10s")
	}
	return s, nil
}

// natsLog sends the server's log to slog; its notices (start-up chatter)
// go to debug.
type natsLog struct{ l *slog.Logger }

func (n natsLog) Noticef(format string, v ...any) { n.l.Debug(fmt.Sprintf(format, v...)) }
func (n natsLog) Warnf(format string, v ...any)   { n.l.Warn(fmt.Sprintf(format, v...)) }
func (n natsLog) Fatalf(format string, v ...any)  { n.l.Error(fmt.Sprintf(format, v...)) }
func (n natsLog) Errorf(format string, v ...any)  { n.l.Error(fmt.Sprintf(format, v...)) }
func (n natsLog) Debugf(format string, v ...any)  { n.l.Debug(fmt.Sprintf(format, v...)) }
func (n natsLog) Tracef(format string, v ...any)  { n.l.Debug(fmt.Sprintf(format, v...)) }
