package stats

// Counters are what readers count about received messages. All fields add up
// across readers, workers and seconds.
type Counters struct {
	Frames     int64 `json:"frames"`           // every frame received
	Bytes      int64 `json:"bytes"`            // payload bytes of text frames
	Ticks      int64 `json:"ticks"`            // "tick" messages
	Snapshots  int64 `json:"snapshots"`        // "snapshot" messages
	Other      int64 `json:"other"`            // any other text message (subscribed, error, pong, ...)
	Errors     int64 `json:"errors"`           // "error" messages
	Jumps      int64 `json:"seq_jumps"`        // ticks whose seq skipped ahead
	Merged     int64 `json:"merged"`           // updates skipped in those jumps (conflated by the server)
	OutOfOrder int64 `json:"out_of_order"`     // seq below the last seen
	Duplicates int64 `json:"duplicates"`       // seq equal to the last seen
	Unexpected int64 `json:"unexpected"`       // ticks for a symbol the connection did not subscribe to
	Negative   int64 `json:"negative_latency"` // ts after the receive time (clock trouble)
	// Delisted counts "delisted" notices, each the end of a subscription;
	// AfterDelisted data messages that came for a subscription after its
	// notice (the server must send none).
	Delisted      int64 `json:"delisted,omitempty"`
	AfterDelisted int64 `json:"after_delisted,omitempty"`

	// The trades channel: live and replayed ("replay":true) trades, "gap"
	// notices and the seqs they name, and Holes, seqs skipped without a
	// gap notice (the server must make none). Jumps, Duplicates and
	// OutOfOrder count trades as they count ticks.
	Trades    int64 `json:"trades,omitempty"`
	Replays   int64 `json:"replays,omitempty"`
	Gaps      int64 `json:"gaps,omitempty"`
	GapMissed int64 `json:"gap_missed,omitempty"`
	Holes     int64 `json:"holes,omitempty"`
	// The book channel: snapshots (Resyncs of them on a subscription that
	// had a book already, SlowSnapshots of them to slow readers) and
	// deltas; Mismatches are checksums that disagree with the book the
	// reader keeps, BadBooks deltas it could not apply (prev_seq not its
	// seq, a level it does not hold): both must be 0.
	BookSnapshots int64 `json:"book_snapshots,omitempty"`
	BookDeltas    int64 `json:"book_deltas,omitempty"`
	Resyncs       int64 `json:"book_resyncs,omitempty"`
	SlowSnapshots int64 `json:"book_slow_snapshots,omitempty"`
	Mismatches    int64 `json:"checksum_mismatches,omitempty"`
	BadBooks      int64 `json:"bad_book_messages,omitempty"`
	// Compressed messages (permessage-deflate) and their payload bytes on
	// the wire; Bytes counts them inflated.
	Compressed      int64 `json:"compressed,omitempty"`
	CompressedBytes int64 `json:"compressed_bytes,omitempty"`
	WireBytes       int64 `json:"wire_bytes,omitempty"` // every text payload as received, compressed or not
}

// Add adds o to c.
func (c *Counters) Add(o Counters) {
	c.Frames += o.Frames
	c.Bytes += o.Bytes
	c.Ticks += o.Ticks
	c.Snapshots += o.Snapshots
	c.Other += o.Other
	c.Errors += o.Errors
	c.Jumps += o.Jumps
	c.Merged += o.Merged
	c.OutOfOrder += o.OutOfOrder
	c.Duplicates += o.Duplicates
	c.Unexpected += o.Unexpected
	c.Negative += o.Negative
	c.Delisted += o.Delisted
	c.AfterDelisted += o.AfterDelisted
	c.Trades += o.Trades
	c.Replays += o.Replays
	c.Gaps += o.Gaps
	c.GapMissed += o.GapMissed
	c.Holes += o.Holes
	c.BookSnapshots += o.BookSnapshots
	c.BookDeltas += o.BookDeltas
	c.Resyncs += o.Resyncs
	c.SlowSnapshots += o.SlowSnapshots
	c.Mismatches += o.Mismatches
	c.BadBooks += o.BadBooks
	c.Compressed += o.Compressed
	c.CompressedBytes += o.CompressedBytes
	c.WireBytes += o.WireBytes
}

// Messages returns the number of data messages (ticks, snapshots, trades,
// books) plus notices and other text messages: everything the server sent
// as a message.
func (c Counters) Messages() int64 {
	return c.Ticks + c.Snapshots + c.Delisted + c.Other + c.Trades + c.Replays + c.Gaps + c.BookSnapshots + c.BookDeltas
}
