// Package load is the client side of the load generator: one worker process
// opens its share of WebSocket connections, reads them all from a few
// goroutines over epoll, and reports second-by-second measurements.
//
// A worker is driven by JSON lines. The coordinator writes a Plan, waits for
// the "connected" event, writes a Command with op "start" and the shared
// time origin t0, and reads the "result" event:
//
//	coordinator -> worker   {"plan":{...}}
//	worker -> coordinator   {"event":"connected","connected":{...}}
//	coordinator -> worker   {"op":"start","t0":1763718000000000000,"seconds":25,"window_from":5,"window_to":25}
//	worker -> coordinator   {"event":"result","result":{...}}
//
// Run speaks this protocol over any reader and writer, so the same code runs
// in a re-executed worker process (stdin/stdout) and in tests (pipes).
package load

import (
	"time"

	"github.com/tickerd/tickerd/bench/internal/stats"
)

// Plan is one worker's share of a run.
type Plan struct {
	Worker  int      `json:"worker"`
	Targets []string `json:"targets"` // ws:// URLs; connection i uses Targets[i%len]
	First   int      `json:"first"`   // global index of this worker's first connection
	Count   int      `json:"count"`   // connections this worker opens at start
	SrcIPs  []string `json:"src_ips"` // local addresses, connection i binds SrcIPs[i%len]; empty: kernel's choice

	Symbols []string     `json:"symbols"` // the universe to choose from
	K       int          `json:"k"`       // symbols per connection
	KMax    int          `json:"k_max"`   // above K: each connection takes K to KMax (see NewPicker)
	Dist    string       `json:"dist"`    // "same", "uniform" or "zipf"
	Seed    uint64       `json:"seed"`
	Query   bool         `json:"query"` // subscribe with /ws?symbols= instead of a subscribe message
	Sub     Subscription `json:"sub"`   // what the subscribe asks for besides the symbols
	Slow    float64      `json:"slow"`  // fraction of connections that never read

	Readers         int           `json:"readers"`          // epoll reader goroutines; 0: GOMAXPROCS
	ReadEvery       time.Duration `json:"read_every"`       // readers collect events at most this often; 0: as they come (see reader.run)
	DialConcurrency int           `json:"dial_concurrency"` // dials in flight; 0: 32
	ConnectRate     float64       `json:"connect_rate"`     // dials per second; 0: unlimited
	DialTimeout     time.Duration `json:"dial_timeout"`     // connect+handshake of one connection; 0: 10 s
	ConnectTimeout  time.Duration `json:"connect_timeout"`  // whole connect phase; 0: 5 min

	Churn ChurnPlan `json:"churn"`
	Burst BurstPlan `json:"burst"`
	Storm StormPlan `json:"storm"`
}

// Subscription is what a connection's subscribe asks for besides its
// symbols, in the terms of protocol.Request; the zero value is quotes as
// fast as they come.
type Subscription struct {
	// MaxRate is the subscribe's max_rate, updates per second per symbol
	// (protocol.MinMaxRate to MaxMaxRate); 0: none. The readers then
	// measure each subscription's pace (Result.Pace).
	MaxRate float64 `json:"max_rate,omitempty"`
	// Channel is "quotes" (or ""), "trades" or "book". Trades are checked
	// for holes (a seq skipped without a "gap"), books kept with
	// book.Mirror and every checksum verified.
	Channel string `json:"channel,omitempty"`
	// Depths are the book depths, connection i taking Depths[i%len];
	// empty: the server's default.
	Depths []int `json:"depths,omitempty"`
	// Deflate offers permessage-deflate (RFC 7692, no context takeover
	// either way); the readers inflate what comes compressed.
	Deflate bool `json:"deflate,omitempty"`
	// Stall makes the connections of the slow fraction (Plan.Slow) slow
	// readers instead of silent ones: each stops reading for Stall out of
	// every StallEvery, at a phase of its own.
	Stall      time.Duration `json:"stall,omitempty"`
	StallEvery time.Duration `json:"stall_every,omitempty"`
	// SlowRcvBuf, above 0, is the receive buffer (SO_RCVBUF) of the slow
	// fraction's sockets, so that a stall backs up into the server within
	// a few messages instead of a socket's worth; 0: the kernel's.
	SlowRcvBuf int `json:"slow_rcvbuf,omitempty"`
}

// StormPlan is a resume storm on the trades channel: At seconds after t0,
// every reading connection of the worker closes and reconnects at once,
// Concurrency dials in flight, and subscribes with "since" Back trades
// before the last it had of each symbol. The readers then time each
// client from its subscribe to its last replayed trade and check that
// the tape goes on without a hole or a duplicate (Result.Storm).
type StormPlan struct {
	At          float64 `json:"at"` // 0: no storm
	Back        uint64  `json:"back"`
	Concurrency int     `json:"concurrency"` // 0: 256
}

// ChurnPlan runs connect/subscribe/unsubscribe/close cycles during the run.
type ChurnPlan struct {
	Rate        float64 `json:"rate"`        // cycles per second; 0: no churn
	Concurrency int     `json:"concurrency"` // cycles in flight; 0: 16
}

// BurstPlan opens more connections at once in the middle of the run, like a
// market open: Count connections with global indexes from First, dialled At
// seconds after t0.
type BurstPlan struct {
	First int     `json:"first"`
	Count int     `json:"count"`
	At    float64 `json:"at"`
}

// Command is a control message from the coordinator.
type Command struct {
	Op         string `json:"op"` // "start" or "stop"
	T0         int64  `json:"t0"` // Unix ns; second s of the series starts at T0 + s
	Seconds    int    `json:"seconds"`
	WindowFrom int    `json:"window_from"` // measurement window [from, to) in seconds
	WindowTo   int    `json:"window_to"`
}

// Event is a message from a worker.
type Event struct {
	Event     string         `json:"event"` // "connected", "result" or "error"
	Connected *ConnectReport `json:"connected,omitempty"`
	Result    *Result        `json:"result,omitempty"`
	Error     string         `json:"error,omitempty"`
}

// ConnectReport describes a connect phase.
type ConnectReport struct {
	Attempted   int            `json:"attempted"`
	Established int            `json:"established"`
	Slow        int            `json:"slow"`    // established but never read
	Symbols     int64          `json:"symbols"` // symbols the established connections subscribed to, in all
	Failures    map[string]int `json:"failures,omitempty"`
	Seconds     float64        `json:"seconds"` // first dial to last outcome
	Latency     string         `json:"latency"` // per-connection dial+handshake+subscribe, µs histogram
}

// Result is everything a worker measured.
type Result struct {
	Series    []stats.WireSecond `json:"series"`
	PerSymbol []SymbolCount      `json:"per_symbol"`     // window only; the symbols with a count
	Pace      *PaceReport        `json:"pace,omitempty"` // with Plan.Sub.MaxRate only
	Lost      map[string]int     `json:"lost,omitempty"`
	Open      int                `json:"open"` // reading connections still open at the end
	Pings     int64              `json:"pings"`

	Cores        int       `json:"cores"`      // CPUs the worker may run on
	CPU          []float64 `json:"cpu"`        // own CPU seconds at t0+s, s = 0..Seconds
	Busy         []float64 `json:"busy"`       // per second, the busiest reader's busy fraction
	FullPolls    int64     `json:"full_polls"` // epoll waits that filled the event array (window)
	Waits        int64     `json:"waits"`      // epoll waits that returned events (window)
	Events       int64     `json:"events"`     // events those waits returned
	Backlog      int64     `json:"backlog"`    // unread bytes in reading connections when the run ended
	BacklogConns int       `json:"backlog_conns"`

	Slow  SlowReport     `json:"slow"`
	Churn ChurnReport    `json:"churn"`
	Burst *ConnectReport `json:"burst,omitempty"`
	Storm *StormReport   `json:"storm,omitempty"`
}

// StormReport is what a resume storm did, over the connections of one or
// more workers.
type StormReport struct {
	Clients     int            `json:"clients"`     // connections that took part
	Reconnected int            `json:"reconnected"` // of them, reopened and subscribed with "since"
	Failures    map[string]int `json:"failures,omitempty"`
	NoHistory   int            `json:"no_history,omitempty"` // subscriptions that had seen no trade before: no "since"
	Seconds     float64        `json:"seconds"`              // first subscribe to the last
	// Resumed counts the clients that got a replayed trade of every
	// symbol; Latency is theirs, from the subscribe to the last replayed
	// trade, µs histogram (stats.Encode).
	Resumed int    `json:"resumed"`
	Latency string `json:"latency"`
	// Stamped counts the resumed clients whose last replayed trade came
	// with the kernel's receive timestamp; Arrival is theirs, from the
	// subscribe to that timestamp: the replay's delivery without the
	// generator's own wait to read it.
	Stamped int    `json:"stamped"`
	Arrival string `json:"arrival"`
	// Whole is the Stamped clients' wait from the start of the reconnect
	// (the dial) to that timestamp: the handshake's wait, which Arrival
	// leaves out, included.
	Whole string `json:"whole"`
	// Replays per subscription: the fewest, and in all.
	MinReplays int   `json:"min_replays"`
	Replays    int64 `json:"replays"`
	// What the reconnected clients saw from the subscribe to the end of the
	// run; Errors (must be 0) is their sum: a first trade other than the one
	// after "since", a hole, a duplicate or a trade out of order, or a
	// replayed trade after a live one.
	Gaps       int64 `json:"gaps"`
	WrongFirst int64 `json:"wrong_first"`
	Holes      int64 `json:"holes"`
	Duplicates int64 `json:"duplicates"`
	OutOfOrder int64 `json:"out_of_order"`
	LateReplay int64 `json:"late_replays"`
	Errors     int64 `json:"errors"`
}

// SymbolCount is the counters of the symbol at Index in Plan.Symbols.
type SymbolCount struct {
	Index int `json:"i"`
	SymbolCounters
}

// SymbolCounters counts one symbol's ticks and sequence outcomes in the window.
type SymbolCounters struct {
	Ticks      int64 `json:"ticks"`
	Jumps      int64 `json:"seq_jumps"`
	Merged     int64 `json:"merged"`
	OutOfOrder int64 `json:"out_of_order"`
	Duplicates int64 `json:"duplicates"`
}

// Add adds o to c.
func (c *SymbolCounters) Add(o SymbolCounters) {
	c.Ticks += o.Ticks
	c.Jumps += o.Jumps
	c.Merged += o.Merged
	c.OutOfOrder += o.OutOfOrder
	c.Duplicates += o.Duplicates
}

// count adds the outcome of one stats.TrackSeq call.
func (c *SymbolCounters) count(r stats.SeqResult, skipped uint64) {
	switch r {
	case stats.SeqJump:
		c.Jumps++
		c.Merged += int64(skipped)
	case stats.SeqDuplicate:
		c.Duplicates++
	case stats.SeqOutOfOrder:
		c.OutOfOrder++
	}
}

// SlowReport describes the connections that never read.
type SlowReport struct {
	Count          int   `json:"count"`
	ClosedByServer int   `json:"closed_by_server"` // FIN or RST seen at the end
	QueuedBytes    int64 `json:"queued_bytes"`     // unread bytes in their receive queues at the end
}

// ChurnReport describes the churn cycles.
type ChurnReport struct {
	Cycles   int64          `json:"cycles"` // completed connect/subscribe/unsubscribe/close cycles
	Failures map[string]int `json:"failures,omitempty"`
	Latency  string         `json:"latency,omitempty"` // µs histogram of a whole cycle
	Seconds  float64        `json:"seconds"`
}
