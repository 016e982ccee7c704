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
}

// Messages returns the number of data messages (ticks and snapshots) plus
// notices and other text messages: everything the server sent as a message.
func (c Counters) Messages() int64 { return c.Ticks + c.Snapshots + c.Delisted + c.Other }
