package cluster

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/protocol"
)

// A mirror reads one stream into an Edge, in stream order, from where it
// starts to the present and on as messages come: trades, candles, or
// symbol definitions. It is an ordered consumer, so it is flow-controlled
// (at most Config.MirrorBytes ahead of the Edge), resumes after the last
// message it read when NATS fails over, and stops at nothing the server
// holds. Its goroutine decodes each message and hands it to the Edge's
// Run, which owns every sink call.
type mirror struct {
	// Static after newMirror.
	stream     string
	filter     string
	fresh      jetstream.DeliverPolicy // where a reader of a stream it has not read starts
	tombstones bool                    // decode empty messages (delistings); else skip them
	decode     func(subject string, data []byte) (mirrorMsg, error)

	// Owned by the Run goroutine, which starts and stops it.
	stop context.CancelFunc
	done chan struct{}

	// Written by its goroutine.
	created atomic.Int64 // identity (creation time) of the stream it reads; 0 until known
	logged  atomic.Bool  // a malformed message was logged
}

// mirrorMsg is one decoded message of a mirror: one of trade, candle,
// listed and delisted is set.
type mirrorMsg struct {
	trade    *protocol.Trade
	candle   *protocol.Candle
	listed   *feed.Symbol
	delisted string
	size     int // of the message as it came
}

// start runs the mirror until halt: from stream sequence from of the
// stream whose identity is stream, or with its fresh policy when from is
// 0 or the stream is another one by then.
func (m *mirror) start(ctx context.Context, e *Edge, out chan<- mirrorMsg, from uint64, stream int64) {
	ctx, m.stop = context.WithCancel(ctx)
	m.done = make(chan struct{})
	m.created.Store(0)
	go func() {
		defer close(m.done)
		m.run(ctx, e, out, from, stream)
	}()
}

// halt stops the mirror and waits for its goroutine.
func (m *mirror) halt() {
	if m.stop != nil {
		m.stop()
		<-m.done
		m.stop = nil
	}
}

func (m *mirror) run(ctx context.Context, e *Edge, out chan<- mirrorMsg, from uint64, stream int64) {
	for attempt := 0; ctx.Err() == nil; attempt++ {
		err := m.read(ctx, e, out, &from, &stream)
		if ctx.Err() != nil {
			return
		}
		if attempt%10 == 0 {
			e.log.Warn("edge stream reader failed; retrying", "stream", m.stream, "err", err, "attempt", attempt+1)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

// read creates the consumer and reads until an error or ctx ends. *from
// is the next stream sequence to read, 0 for the fresh policy, and
// *stream the identity of the stream it counts in.
func (m *mirror) read(ctx context.Context, e *Edge, out chan<- mirrorMsg, from *uint64, stream *int64) error {
	rctx, cancel := context.WithTimeout(ctx, e.cfg.RequestTimeout)
	defer cancel()
	st, err := e.js.Stream(rctx, m.stream)
	if err != nil {
		return err
	}
	created := st.CachedInfo().Created.UnixNano()
	if *stream != created {
		*from = 0 // another stream: its sequences started again
	}
	*stream = created
	m.created.Store(created)
	cfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{m.filter}, DeliverPolicy: m.fresh}
	if *from != 0 {
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, *from
	}
	cons, err := e.js.OrderedConsumer(rctx, m.stream, cfg)
	if err != nil {
		return err
	}
	it, err := cons.Messages(jetstream.PullMaxBytes(mirrorBytes(e.nc, e.cfg)),
		jetstream.PullExpiry(5*time.Second), jetstream.PullHeartbeat(time.Second))
	if err != nil {
		return err
	}
	defer it.Stop()
	// Stop ends a recreation of the consumer in progress (it retries
	// until it works or the iterator stops); ctx ends Next's wait, which
	// Stop alone does not when it comes just as a recreation finishes.
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	for {
		msg, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		if md, err := msg.Metadata(); err == nil {
			*from = md.Sequence.Stream + 1
		}
		if len(msg.Data()) == 0 && !m.tombstones {
			continue // what a delisting left
		}
		mm, err := m.decode(msg.Subject(), msg.Data())
		mm.size = len(msg.Subject()) + len(msg.Data())
		if err != nil {
			e.stats.bad.Add(1)
			if !m.logged.Swap(true) {
				e.log.Warn("edge dropped a malformed stream message", "stream", m.stream, "subject", msg.Subject(), "err", err)
			}
			continue
		}
		select {
		case out <- mm:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// The mirrors of an Edge.
func tradeMirror(s subjects) *mirror {
	return &mirror{stream: s.tradeStream(), filter: s.trades(), fresh: jetstream.DeliverAllPolicy, decode: decodeTradeMsg}
}

func candleMirror(s subjects) *mirror {
	return &mirror{stream: s.candleStream(), filter: s.candles(), fresh: jetstream.DeliverAllPolicy, decode: decodeCandleMsg}
}

func defMirror(s subjects) *mirror {
	return &mirror{stream: s.lastStream(), filter: s.allOf(kindDef), fresh: jetstream.DeliverLastPerSubjectPolicy, tombstones: true, decode: func(subject string, data []byte) (mirrorMsg, error) {
		tok, _, ok := s.parseSymbol(subject)
		if !ok {
			return mirrorMsg{}, fmt.Errorf("cluster: definition on %q", subject)
		}
		if len(data) == 0 {
			name, err := SymbolFromToken(tok)
			return mirrorMsg{delisted: name}, err
		}
		d, err := decodeSymbol(tok, data)
		return mirrorMsg{listed: &d}, err
	}}
}

func decodeTradeMsg(_ string, data []byte) (mirrorMsg, error) {
	epoch, frame, ok := cutEpoch(data)
	if !ok {
		return mirrorMsg{}, errors.New("cluster: trade message without an epoch")
	}
	t, _, err := protocol.DecodeTrade(frame)
	if err != nil {
		return mirrorMsg{}, err
	}
	t.Epoch = epoch
	return mirrorMsg{trade: &t}, nil
}

func decodeCandleMsg(_ string, data []byte) (mirrorMsg, error) {
	epoch, frame, ok := cutEpoch(data)
	if !ok {
		return mirrorMsg{}, errors.New("cluster: candle message without an epoch")
	}
	c, err := protocol.DecodeCandle(frame)
	if err != nil {
		return mirrorMsg{}, err
	}
	c.Epoch = epoch
	return mirrorMsg{candle: &c}, nil
}
