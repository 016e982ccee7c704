package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/tickerd/tickerd/protocol"
)

// Bounds of AppendSnapshots.
const (
	// multiLastMax is the most subjects the server answers in one
	// multi-subject direct get (more is an error, 413).
	multiLastMax = 1024
	// snapshotsParallel is how many such requests are in flight.
	snapshotsParallel = 4
	// snapshotsFresh is how long one read serves later calls.
	snapshotsFresh = 500 * time.Millisecond
)

// snapshotCache is the last answer of AppendSnapshots.
type snapshotCache struct {
	mu   sync.Mutex // held while reading: calls in a burst wait for one read
	at   time.Time
	body []byte // a JSON array; nil before the first read
}

// AppendSnapshots appends to dst a JSON array of the snapshot of every
// listed symbol's last tick, for GET /api/symbols on an edge: what the
// feed node's hub.AppendSnapshots gives (the same bytes for each symbol,
// protocol.SnapshotFromTick of the tick the feed node encoded), in listing
// order, leaving out symbols that have had no tick. It does not depend on
// what local clients watch: it reads the last-value stream with
// multi-subject direct gets of 1,024 subjects each, a few in flight, which
// any replica answers. One read serves every call for the next 500 ms.
//
// When it cannot read them all within Config.RequestTimeout (or before
// ctx ends) it returns dst unchanged and an error saying why: NATS is
// down, the stream has no replica that answers, or the answer was cut.
// An edge that answers with the error (503) rather than with part of the
// list keeps every node's answer the same.
func (e *Edge) AppendSnapshots(ctx context.Context, dst []byte) ([]byte, error) {
	c := &e.snaps
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.body != nil && time.Since(c.at) < snapshotsFresh {
		return append(dst, c.body...), nil
	}
	names := *e.names.Load()
	ticks, err := e.lastTicks(ctx, names)
	if err != nil {
		return dst, fmt.Errorf("cluster: last ticks of %d symbols: %w", len(names), err)
	}
	body := append(c.body[:0], '[')
	for _, data := range ticks {
		_, frame, ok := cutEpoch(data)
		if !ok || !bytes.HasPrefix(frame, []byte(protocol.TickPrefix)) {
			continue // no tick, or what a delisting left
		}
		if len(body) > 1 {
			body = append(body, ',')
		}
		body = protocol.SnapshotFromTick(body, frame)
	}
	c.body, c.at = append(body, ']'), time.Now()
	return append(dst, c.body...), nil
}

// lastTicks returns the stored last tick message of each of names (nil
// for one that has none), within Config.RequestTimeout.
func (e *Edge) lastTicks(ctx context.Context, names []string) ([][]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, e.cfg.RequestTimeout)
	defer cancel()
	if !e.nc.IsConnected() {
		return nil, errors.New("nats connection " + e.nc.Status().String())
	}
	subjects := make([]string, len(names))
	index := make(map[string]int, len(names))
	for i, n := range names {
		subjects[i] = e.subj.symbol(SubjectToken(n), kindTick)
		index[subjects[i]] = i
	}
	ticks := make([][]byte, len(names))
	errs := make([]error, (len(names)+multiLastMax-1)/multiLastMax)
	sem := make(chan struct{}, snapshotsParallel)
	var wg sync.WaitGroup
	for c := range errs {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			chunk := subjects[c*multiLastMax : min((c+1)*multiLastMax, len(subjects))]
			errs[c] = multiLast(ctx, e.nc, e.subj.lastStream(), chunk, func(subject string, data []byte) {
				if i, ok := index[subject]; ok {
					ticks[i] = data // each chunk writes its own entries
				}
			})
		})
	}
	wg.Wait()
	return ticks, errors.Join(errs...)
}

// multiLast reads the last message of each of subjects (at most
// multiLastMax) from any replica of stream with one multi-subject direct
// get, calling fn for each it has. It fails if ctx ends first or the
// answer was cut short.
func multiLast(ctx context.Context, nc *nats.Conn, stream string, subjects []string, fn func(subject string, data []byte)) error {
	req, err := json.Marshal(struct {
		MultiLast []string `json:"multi_last"`
		Batch     int      `json:"batch"`
	}{subjects, len(subjects)})
	if err != nil {
		return err
	}
	inbox := nc.NewRespInbox()
	sub, err := nc.SubscribeSync(inbox)
	if err != nil {
		return err
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := nc.PublishRequest("$JS.API.DIRECT.GET."+stream, inbox, req); err != nil {
		return err
	}
	for {
		m, err := sub.NextMsgWithContext(ctx)
		if err != nil {
			return err
		}
		switch status := m.Header.Get("Status"); status {
		case "":
			fn(m.Header.Get("Nats-Subject"), m.Data)
		case "204": // end of batch
			if p, _ := strconv.ParseUint(m.Header.Get("Nats-Num-Pending"), 10, 64); p > 0 {
				return fmt.Errorf("answer cut short with %d subjects left", p)
			}
			return nil
		case "404": // none of them has a message
			return nil
		case "503":
			return fmt.Errorf("no responders on stream %s", stream)
		default:
			return fmt.Errorf("direct get from %s: %s %s", stream, status, m.Header.Get("Description"))
		}
	}
}
