package stats

// SeqResult classifies one sequence number against the last one seen for the
// same symbol on the same connection.
type SeqResult uint8

const (
	SeqFirst      SeqResult = iota // first seq seen for this symbol
	SeqNext                        // last+1
	SeqJump                        // above last+1: updates were merged
	SeqDuplicate                   // equal to last
	SeqOutOfOrder                  // below last
)

func (r SeqResult) String() string {
	switch r {
	case SeqFirst:
		return "first"
	case SeqNext:
		return "next"
	case SeqJump:
		return "jump"
	case SeqDuplicate:
		return "duplicate"
	case SeqOutOfOrder:
		return "out-of-order"
	}
	return "unknown"
}

// TrackSeq classifies seq against *last and advances *last. *last holds the
// highest seq seen plus one, so its zero value means "nothing seen yet"; an
// out-of-order or duplicate seq leaves it unchanged, so one stale message is
// not followed by a false jump. For SeqJump, merged is the number of updates
// skipped (seq - last - 1).
func TrackSeq(last *uint64, seq uint64) (r SeqResult, merged uint64) {
	prev := *last
	switch {
	case prev == 0:
		*last = seq + 1
		return SeqFirst, 0
	case seq+1 == prev:
		return SeqDuplicate, 0
	case seq+1 < prev:
		return SeqOutOfOrder, 0
	case seq == prev:
		*last = seq + 1
		return SeqNext, 0
	default:
		*last = seq + 1
		return SeqJump, seq - prev
	}
}

// Count adds the outcome of one TrackSeq call to c.
func (c *Counters) Count(r SeqResult, merged uint64) {
	switch r {
	case SeqJump:
		c.Jumps++
		c.Merged += int64(merged)
	case SeqDuplicate:
		c.Duplicates++
	case SeqOutOfOrder:
		c.OutOfOrder++
	}
}
