package cluster

import (
	"math"
	"strconv"
	"time"
)

// maxEpochDigits is the length of the largest uint64 in decimal.
const maxEpochDigits = 20

// appendEpoch appends the head of a tick, trade or candle message on NATS:
// the epoch of its seq space in decimal and one space. The client frame
// follows, so a message reads "1763718000123 {"type":"tick",…}".
func appendEpoch(dst []byte, epoch uint64) []byte {
	return append(strconv.AppendUint(dst, epoch, 10), ' ')
}

// cutEpoch splits a message written after appendEpoch into the epoch and
// the frame. It accepts only what appendEpoch writes (no sign, no leading
// zero, a value that fits a uint64) followed by a non-empty frame.
func cutEpoch(data []byte) (epoch uint64, frame []byte, ok bool) {
	i := 0
	for i < len(data) && i <= maxEpochDigits && data[i] >= '0' && data[i] <= '9' {
		i++
	}
	if i == 0 || i > maxEpochDigits || i+1 >= len(data) || data[i] != ' ' || data[0] == '0' && i > 1 {
		return 0, nil, false
	}
	for _, c := range data[:i] {
		d := uint64(c - '0')
		if epoch > (math.MaxUint64-d)/10 {
			return 0, nil, false
		}
		epoch = epoch*10 + d
	}
	return epoch, data[i+1:], true
}

// freshEpoch is the epoch of a seq space that starts now: the wall clock
// in milliseconds, and above floor. See the package doc's Epochs section
// for why the clock: whatever held the last epoch may be what was lost.
// Milliseconds keep epochs exact as JavaScript numbers.
func freshEpoch(now time.Time, floor uint64) uint64 {
	return max(uint64(max(now.UnixMilli(), 1)), floor+1)
}

// stored is what the stream held for a symbol's channel when a feed node
// run started: the epoch and seq of the last message, if it had one.
type stored struct {
	epoch, seq uint64
	ok         bool
}

// lane maps one symbol's channel from the feed's seq space onto the one
// edges and clients see. A run continues the stored seq space when the
// stream still has it (the seq goes on from the stored one, in the stored
// epoch) and starts a fresh epoch when it does not; when the feed itself
// starts a new epoch (a replay that loops), so does the lane.
type lane struct {
	started   bool
	feedEpoch uint64 // the feed's epoch of the last message
	epoch     uint64 // the epoch published
	off       uint64 // added to the feed's seq
	// The previous mapping, for candles the feed finishes after its
	// epoch changed.
	prevFeed, prevEpoch uint64
	hasPrev             bool
}

// place returns the epoch and seq to publish for a message of the feed's
// epoch feedEpoch and seq seq. st is what the stream held when the run
// started and run the run's epoch, which a lane without stored state
// starts in; a lane whose feed epoch changes moves to freshEpoch.
func (l *lane) place(feedEpoch, seq uint64, st stored, run uint64) (uint64, uint64) {
	switch {
	case !l.started:
		l.started, l.feedEpoch = true, feedEpoch
		if st.ok {
			l.epoch = st.epoch
			if seq <= st.seq {
				l.off = st.seq
			}
		} else {
			l.epoch = run
		}
	case feedEpoch != l.feedEpoch:
		l.prevFeed, l.prevEpoch, l.hasPrev = l.feedEpoch, l.epoch, true
		l.feedEpoch = feedEpoch
		l.epoch = freshEpoch(time.Now(), l.epoch)
		l.off = 0
	}
	return l.epoch, seq + l.off
}

// epochOf returns the published epoch for something derived from the
// lane's messages of the feed's epoch feedEpoch (a candle built from
// trades). Before the lane's first message it is the epoch that message
// will get, and the lane does not start: only a message fixes its seq
// offset. A newer feed epoch moves the lane to it, as a message would.
func (l *lane) epochOf(feedEpoch uint64, st stored, run uint64) uint64 {
	switch {
	case !l.started && st.ok:
		return st.epoch
	case !l.started:
		return run
	case feedEpoch == l.feedEpoch:
		return l.epoch
	case l.hasPrev && feedEpoch == l.prevFeed:
		return l.prevEpoch
	case feedEpoch > l.feedEpoch:
		e, _ := l.place(feedEpoch, 0, st, run)
		return e
	}
	return l.epoch // older than anything the lane knows: the current one
}

// verdict is what an edge does with an update, given the last one it
// delivered on the same channel of the same symbol.
type verdict uint8

const (
	deliverNew   verdict = iota // newer in the same seq space, or the first
	deliverReset                // a higher epoch: the seq space restarted
	dropDup                     // the same epoch and seq again
	dropOlder                   // a lower seq in the same epoch
	dropStale                   // a lower epoch
)

// seqState is the epoch and seq last delivered on one channel of a symbol.
type seqState struct {
	epoch, seq uint64
	set        bool
}

func (s *seqState) check(epoch, seq uint64) verdict {
	switch {
	case !s.set:
		return deliverNew
	case epoch > s.epoch:
		return deliverReset
	case epoch < s.epoch:
		return dropStale
	case seq > s.seq:
		return deliverNew
	case seq == s.seq:
		return dropDup
	}
	return dropOlder
}

func (s *seqState) take(epoch, seq uint64) { s.epoch, s.seq, s.set = epoch, seq, true }
