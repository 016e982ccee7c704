// Package cluster shares one feed between tickerd nodes through NATS.
//
// A feed node wraps its feed in a Publisher; edge nodes serve clients from
// an Edge; a node with no NATS keeps everything in-process and uses
// neither.
//
//	nc, err := cluster.Connect("nats://127.0.0.1:4222", "tickerd-feed", log)
//	pub, err := cluster.NewPublisher(nc, simMarket, cluster.Config{}, log)
//	a, err := app.New(app.Config{Feed: pub}) // the feed node (it may serve clients too)
//
//	nc, err := cluster.Connect("nats://127.0.0.1:4222", "tickerd-edge", log)
//	edge, err := cluster.NewEdge(ctx, nc, cluster.Config{}, log) // waits for the symbol list
//	a, err := app.New(app.Config{Feed: edge}) // an edge: the hub tells it what to watch
//
// # On the wire
//
// Each tick is encoded once, by the feed node, with protocol.AppendTick, and
// published as is (no headers) on PREFIX.tick.TOKEN, where TOKEN is the
// symbol made subject-safe by SubjectToken ("EUR/USD" is "EUR_2FUSD").
// Edges read seq and ts with protocol.ScanTick and hand the same bytes to
// the hub, so a client sees the same frame on any node.
//
// The stream PREFIX_last (memory storage, 3 replicas on a cluster) captures
// PREFIX.tick.> and PREFIX.symbols with at most one message per subject:
// the feed node's plain publishes land in it, so keeping the last value
// costs no second publish and no acknowledgement round trip. An edge gets a
// symbol's current state with a JetStream direct get, which any replica
// answers. PREFIX.symbols holds the symbol list (JSON); PREFIX.heartbeat
// carries the feed node's liveness and its feed's health once a second, not
// stored.
//
// # Failures
//
// Connections reconnect forever, to any server of the cluster. An edge
// keeps serving the last state while NATS or the feed node is gone,
// reports why in Health, refetches every watched symbol's last value
// after a reconnect, and never hands the hub a seq that is not above the
// last one. A restarted feed node continues each symbol's seq from the
// stored one.
package cluster
