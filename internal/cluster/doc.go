// Package cluster shares one feed between tickerd nodes through NATS
// JetStream (nats-server 2.11 or later).
//
// A feed node wraps its feed in a Publisher; edge nodes serve clients from
// an Edge; a node with no NATS keeps everything in-process and uses
// neither.
//
//	nc, err := cluster.Connect("nats://127.0.0.1:4222", "tickerd-feed", log)
//	pub, err := cluster.NewPublisher(nc, market, cluster.Config{}, log)
//	// the feed node runs pub as its feed (it may serve clients too)
//
//	nc, err := cluster.Connect("nats://127.0.0.1:4222", "tickerd-edge", log)
//	edge, err := cluster.NewEdge(ctx, nc, cluster.Config{}, log) // waits for the symbol list
//	// an edge runs edge as its feed: the hub tells it what to watch, and
//	// GET /api/symbols answers from edge.AppendSnapshots
//
// A candle builder belongs in front of the Publisher (the feed publishes
// into the builder, the builder into the Publisher's sink), so that the
// feed node publishes its candles; an edge gets them from NATS and builds
// none.
//
// # On the wire
//
// TOKEN is the symbol made subject-safe by SubjectToken ("EUR/USD" is
// "EUR_2FUSD"), IV an interval ("1s", "1m", "5m", "1h"):
//
//	subject                         message                                   stream
//	PREFIX.sym.TOKEN.def            the symbol's definition (JSON); empty     PREFIX_last
//	                                when delisted, for Config.DelistTTL
//	PREFIX.sym.TOKEN.tick           EPOCH and the tick frame                  PREFIX_last
//	PREFIX.sym.TOKEN.snap           the whole book (binary), every            PREFIX_last
//	                                Config.BookSnapshot when it changed
//	PREFIX.sym.TOKEN.book           a book update (binary)                    none
//	PREFIX.trade.TOKEN              EPOCH and the trade frame                 PREFIX_trades
//	PREFIX.candle.TOKEN.IV.closed   EPOCH and the closed candle's frame       PREFIX_candles
//	PREFIX.candle.TOKEN.IV.open     EPOCH and the open candle's frame,        PREFIX_candles
//	                                replacing the one before (a rollup)
//	PREFIX.want.TOKEN               empty: an edge asks for a book snapshot   none
//	PREFIX.heartbeat                the feed node's liveness, epoch, streams  none
//	                                and feed health (JSON), every Heartbeat
//
// and the streams, each memory (or file, Config.FileStorage), replicated
// (Config.Replicas), with direct gets, and bounded:
//
//	stream          keeps                                           bounds (Config)
//	PREFIX_last     the last message of each subject                LastBytes (64 MiB)
//	PREFIX_trades   each symbol's recent trades                     TradeHistory (10,000) a symbol, TradeAge (5 min), TradeBytes (64 MiB)
//	PREFIX_candles  each symbol's closed candles per interval,      CandleHistory (500) a subject, CandleBytes (32 MiB)
//	                and the open one
//
// Ticks, trades and candles travel as the client frames the feed node
// encoded once (protocol.AppendTick, AppendTrade, AppendCandle), after the
// epoch of their seq space in decimal and a space ("1763718000123
// {"type":"tick",…}"): a text head rather than a NATS header costs no
// allocation on either side and is stored with the message. An edge hands
// a tick's frame to the hub as it is, and decodes trades and candles into
// values its hub encodes again to the same bytes (the protocol's decoders
// keep each decimal's precision). Book updates travel in a compact binary
// form (see appendBookWire), in the fixed point the books keep.
//
// The feed node's plain publishes land in the streams, so keeping a last
// value or a history costs no second publish and no acknowledgement round
// trip. A delisting replaces the symbol's definition with an empty message
// and its other subjects' state with empty messages that live a second
// (rolling up the trade and candle histories), so nothing of it stays.
//
// # What an edge follows, and what it mirrors
//
// Quotes and books follow interest: an edge subscribes to a symbol's
// subjects (one subscription, PREFIX.sym.TOKEN.*) only while local
// clients watch it, and starts from the stored last tick and book
// snapshot. They are the bulk of the traffic (every quote change, every
// level change) and each message carries or rebuilds the whole state, so
// an edge that ignores a symbol loses nothing it cannot get back from the
// last value at once.
//
// Trades, candles and the symbol list are mirrored: every edge reads the
// whole of their streams, from the start of what they keep, in stream
// order, and on live. A trade is not a state: a client resuming the tape
// with "since" needs the trades it missed, which a last value cannot give,
// and the hub must hold them before the client asks, on whichever edge it
// reconnects to. Following interest would make the hub wait for a fetch
// inside a subscribe. Mirroring costs little: trades are a small fraction
// of quote and book changes, candles change at most four times a second
// per interval, and every history is bounded the same on each edge as on
// the feed node (per symbol, in age and in bytes). Each mirror is an
// ordered consumer, flow-controlled to Config.MirrorBytes, so an edge
// that starts reads the history at its own pace and then keeps up; the
// symbol list is read the same way, so listings and delistings reach the
// edges' hubs (feed.Sink List and Delist) while they run.
//
// # Epochs
//
// Each symbol's seq space on each channel (ticks, trades, books) has an
// epoch, carried on every message and handed to the hub (Tick.Epoch,
// Trade.Epoch, BookUpdate.Epoch, Candle.Epoch). A Publisher's run reads
// the streams first: a channel whose last message is still stored goes on
// in its stored epoch, from its stored seq (a restarted simulator that
// counts from 1 again is shifted above it), so clients see no break. A
// channel with nothing stored (the streams were lost, a trade history
// aged out) starts in the run's epoch: the wall clock in milliseconds,
// above every stored epoch. Books always start a run in its epoch: only
// snapshots of them are stored, not their last seq, and a restarted feed
// starts its book from a snapshot anyway. A feed that starts a new seq
// space itself (a replay that loops sets Epoch) moves the channel to a new
// epoch too.
//
// The epoch is the clock because what would remember the last epoch (the
// streams) is exactly what a feed node that restarts without its state
// has lost, while every edge still remembers it and drops whatever is not
// above it. Milliseconds since 1970 grow across restarts as long as the
// clocks of the feed node's hosts are within the time a restart takes,
// and are exact as JavaScript numbers. A feed node whose clock is behind
// by more shows: its updates are dropped as stale, and Health (so
// /readyz) names the symbols after Config.StaleAfter.
//
// An Edge passes a higher epoch on as it is and counts a reset (the hub
// tells its clients "reset" and sends a snapshot); it drops a lower epoch,
// and within an epoch a seq that is not above the last one delivered.
//
// # Failures
//
// Connections reconnect forever, to any server of the cluster. An edge
// keeps serving the last state while NATS or the feed node is gone,
// reports why in Health, refetches every watched symbol's last tick and
// book snapshot after a reconnect, and asks the feed node for a fresh book
// snapshot when it starts watching a book (or reconnects) and when it
// finds a gap in a book. Its mirrors resume after the
// last message they read, and start again from the beginning of a stream
// the feed node had to create again (the heartbeat names the streams it
// publishes into). The feed node sets the streams up again after a
// reconnect and republishes the definitions and last ticks after that and
// after the last-value stream elects a new leader, since what was
// published while it had none was delivered but not stored; trades and
// candles published then are not in their streams, so edges' clients
// get a gap where the feed node's did not.
package cluster
