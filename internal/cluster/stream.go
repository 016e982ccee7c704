package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// JetStream error codes ensureStream tells apart.
const (
	errCodeNoPeers          = 10005 // no suitable peers for placement
	errCodeInsufficient     = 10023 // insufficient resources
	errCodeReplicasNotInNon = 10074 // replicas > 1 not supported in non-clustered mode
	errCodeNoMessage        = 10037 // no message found
	errCodeMemory           = 10028 // insufficient memory resources available
)

// streamConfigs are the three streams of a cluster (see the package doc):
// the last values, the trade history and the candles. Every one is
// bounded in bytes and per subject.
func streamConfigs(s subjects, cfg Config, replicas int) []jetstream.StreamConfig {
	storage := jetstream.MemoryStorage
	if cfg.FileStorage {
		storage = jetstream.FileStorage
	}
	base := jetstream.StreamConfig{
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		Storage:     storage,
		Replicas:    replicas,
		AllowDirect: true,
		AllowMsgTTL: true, // delisting tombstones expire
	}
	last, trades, candles := base, base, base
	last.Name = s.lastStream()
	last.Description = "tickerd: each symbol's definition, last tick and last book snapshot"
	last.Subjects = []string{s.allOf(kindDef), s.allOf(kindTick), s.allOf(kindSnap)}
	last.MaxMsgsPerSubject = 1
	last.MaxBytes = cfg.LastBytes

	trades.Name = s.tradeStream()
	trades.Description = "tickerd: each symbol's recent trades"
	trades.Subjects = []string{s.trades()}
	trades.MaxMsgsPerSubject = int64(cfg.TradeHistory)
	trades.MaxAge = cfg.TradeAge
	trades.MaxBytes = cfg.TradeBytes
	trades.AllowRollup = true // a delisting purges a symbol's trades

	candles.Name = s.candleStream()
	candles.Description = "tickerd: each symbol's closed candles and open candle per interval"
	candles.Subjects = []string{s.candles()}
	candles.MaxMsgsPerSubject = int64(cfg.CandleHistory)
	candles.MaxBytes = cfg.CandleBytes
	candles.AllowRollup = true // the open candle replaces the one before
	return []jetstream.StreamConfig{last, trades, candles}
}

// sameStream reports whether an existing stream's configuration has
// everything want sets.
func sameStream(cur, want jetstream.StreamConfig) bool {
	return cur.Replicas == want.Replicas && cur.Storage == want.Storage && cur.Discard == want.Discard &&
		cur.MaxMsgsPerSubject == want.MaxMsgsPerSubject && cur.MaxBytes == want.MaxBytes && cur.MaxAge == want.MaxAge &&
		cur.AllowDirect == want.AllowDirect && cur.AllowMsgTTL == want.AllowMsgTTL && cur.AllowRollup == want.AllowRollup &&
		slices.Equal(cur.Subjects, want.Subjects)
}

// streamIDs tells streams apart from earlier streams of the same name:
// each stream's creation time, Unix nanoseconds, by name. A cluster that
// lost a memory stream and got it back from the feed node has a new one,
// whose sequence numbers started again.
type streamIDs map[string]int64

// ensureStreams creates the streams or brings existing ones to cfg, and
// returns their identities. cfg.Replicas 0 keeps an existing stream's
// replicas and creates a new one with 3, or 1 when the server is not
// clustered.
func ensureStreams(ctx context.Context, js jetstream.JetStream, s subjects, cfg Config) (streamIDs, error) {
	ids := streamIDs{}
	for _, want := range streamConfigs(s, cfg, cfg.Replicas) {
		st, err := ensureStream(ctx, js, want, cfg.Replicas)
		if err != nil {
			return nil, err
		}
		ids[want.Name] = st.CachedInfo().Created.UnixNano()
	}
	return ids, nil
}

func ensureStream(ctx context.Context, js jetstream.JetStream, want jetstream.StreamConfig, replicas int) (jetstream.Stream, error) {
	st, err := js.Stream(ctx, want.Name)
	switch {
	case err == nil:
		cur := st.CachedInfo().Config
		if replicas == 0 {
			want.Replicas = cur.Replicas
		}
		if sameStream(cur, want) {
			return st, nil
		}
		if st, err = js.UpdateStream(ctx, want); err != nil {
			return nil, fmt.Errorf("cluster: update stream %s: %w", want.Name, err)
		}
		return st, nil
	case !errors.Is(err, jetstream.ErrStreamNotFound):
		return nil, fmt.Errorf("cluster: stream %s: %w", want.Name, err)
	}
	if replicas == 0 {
		want.Replicas = 3
	}
	st, err = js.CreateStream(ctx, want)
	var apiErr *jetstream.APIError
	if replicas == 0 && errors.As(err, &apiErr) {
		switch apiErr.ErrorCode {
		case errCodeReplicasNotInNon:
			want.Replicas = 1
			st, err = js.CreateStream(ctx, want)
		case errCodeNoPeers, errCodeInsufficient:
			return nil, fmt.Errorf("cluster: create stream %s with 3 replicas: %w (a cluster of fewer than 3 JetStream servers needs -nats-replicas)", want.Name, err)
		}
	}
	if errors.As(err, &apiErr) && apiErr.ErrorCode == errCodeMemory {
		return nil, fmt.Errorf("cluster: create stream %s of %d bytes: %w (a memory stream's byte limit is reserved in each server's JetStream memory: lower Config.LastBytes, TradeBytes and CandleBytes, or raise the servers' max memory)", want.Name, want.MaxBytes, err)
	}
	if err != nil {
		return nil, fmt.Errorf("cluster: create stream %s: %w", want.Name, err)
	}
	return st, nil
}

// directLast returns the last message on subject from any replica of the
// stream (a JetStream direct get: no leader needed, may lag the leader by
// a few messages). It returns nil, nil when the subject has none.
func directLast(ctx context.Context, nc *nats.Conn, stream, subject string) ([]byte, error) {
	m, err := nc.RequestMsgWithContext(ctx, &nats.Msg{Subject: "$JS.API.DIRECT.GET." + stream + "." + subject})
	if err != nil {
		return nil, fmt.Errorf("cluster: get last %s: %w", subject, err)
	}
	if st := m.Header.Get("Status"); st != "" {
		if st == "404" {
			return nil, nil
		}
		return nil, fmt.Errorf("cluster: get last %s: %s %s", subject, st, m.Header.Get("Description"))
	}
	return m.Data, nil
}

// leaderLast is directLast answered by the stream's leader, so it is never
// behind.
func leaderLast(ctx context.Context, nc *nats.Conn, stream, subject string) ([]byte, error) {
	req, err := json.Marshal(struct {
		LastBySubj string `json:"last_by_subj"`
	}{subject})
	if err != nil {
		return nil, err
	}
	m, err := nc.RequestWithContext(ctx, "$JS.API.STREAM.MSG.GET."+stream, req)
	if err != nil {
		return nil, fmt.Errorf("cluster: get last %s: %w", subject, err)
	}
	var resp struct {
		Message *struct {
			Data []byte `json:"data"`
		} `json:"message"`
		Error *jetstream.APIError `json:"error"`
	}
	if err := json.Unmarshal(m.Data, &resp); err != nil {
		return nil, fmt.Errorf("cluster: get last %s: %w", subject, err)
	}
	switch {
	case resp.Error != nil && resp.Error.ErrorCode == errCodeNoMessage:
		return nil, nil
	case resp.Error != nil:
		return nil, fmt.Errorf("cluster: get last %s: %w", subject, resp.Error)
	case resp.Message == nil:
		return nil, fmt.Errorf("cluster: get last %s: empty response", subject)
	}
	return resp.Message.Data, nil
}

// lastPerSubject reads the last message of every subject of stream that
// matches filter, in stream order, with an ordered consumer (so it is
// complete however many subjects match, and flow-controlled). It calls fn
// for each and returns the highest stream sequence it read (0 if none).
// It gives up when ctx ends, when creating the consumer takes longer than
// timeout, or when no message comes for timeout.
func lastPerSubject(ctx context.Context, js jetstream.JetStream, stream, filter string, timeout time.Duration, maxBytes int, fn func(subject string, data []byte)) (uint64, error) {
	cctx, cancel := context.WithTimeout(ctx, timeout)
	cons, err := js.OrderedConsumer(cctx, stream, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{filter},
		DeliverPolicy:  jetstream.DeliverLastPerSubjectPolicy,
	})
	cancel()
	if err != nil {
		return 0, fmt.Errorf("cluster: read %s from %s: %w", filter, stream, err)
	}
	info := cons.CachedInfo()
	if info == nil || info.NumPending == 0 {
		return 0, nil
	}
	it, err := cons.Messages(jetstream.PullMaxBytes(maxBytes))
	if err != nil {
		return 0, fmt.Errorf("cluster: read %s from %s: %w", filter, stream, err)
	}
	defer it.Stop()
	var last uint64
	for {
		nctx, cancel := context.WithTimeout(ctx, timeout)
		m, err := it.Next(jetstream.NextContext(nctx))
		cancel()
		if err != nil {
			return last, fmt.Errorf("cluster: read %s from %s: %w", filter, stream, err)
		}
		md, err := m.Metadata()
		if err != nil {
			return last, fmt.Errorf("cluster: read %s from %s: %w", filter, stream, err)
		}
		last = max(last, md.Sequence.Stream)
		fn(m.Subject(), m.Data())
		if md.NumPending == 0 {
			return last, nil
		}
	}
}
