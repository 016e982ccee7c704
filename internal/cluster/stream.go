package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// JetStream error codes ensureStream tells apart.
const (
	errCodeNoPeers          = 10005 // no suitable peers for placement
	errCodeInsufficient     = 10023 // insufficient resources
	errCodeReplicasNotInNon = 10074 // replicas > 1 not supported in non-clustered mode
	errCodeNoMessage        = 10037 // no message found
)

// streamConfig is the last-value stream: it captures every tick subject
// and the symbol list, keeping only the newest message of each subject.
// The feed node's plain publishes land in it, so the last value costs no
// second publish.
func streamConfig(s subjects, replicas int, file bool) jetstream.StreamConfig {
	storage := jetstream.MemoryStorage
	if file {
		storage = jetstream.FileStorage
	}
	return jetstream.StreamConfig{
		Name:              s.stream(),
		Description:       "tickerd: the last tick of each symbol and the symbol list",
		Subjects:          []string{s.ticks(), s.symbols()},
		Retention:         jetstream.LimitsPolicy,
		MaxMsgsPerSubject: 1,
		Discard:           jetstream.DiscardOld,
		Storage:           storage,
		Replicas:          replicas,
		AllowDirect:       true,
	}
}

// ensureStream creates the last-value stream or brings an existing one to
// the configuration. replicas 0 keeps an existing stream's replicas and
// creates a new one with 3, or 1 when the server is not clustered.
func ensureStream(ctx context.Context, js jetstream.JetStream, s subjects, replicas int, file bool) error {
	want := streamConfig(s, replicas, file)
	st, err := js.Stream(ctx, want.Name)
	switch {
	case err == nil:
		cur := st.CachedInfo().Config
		if replicas == 0 {
			want.Replicas = cur.Replicas
		}
		if cur.Replicas == want.Replicas && cur.Storage == want.Storage && cur.MaxMsgsPerSubject == 1 &&
			cur.AllowDirect && cur.Discard == jetstream.DiscardOld && slices.Equal(cur.Subjects, want.Subjects) {
			return nil
		}
		if _, err := js.UpdateStream(ctx, want); err != nil {
			return fmt.Errorf("cluster: update stream %s: %w", want.Name, err)
		}
		return nil
	case !errors.Is(err, jetstream.ErrStreamNotFound):
		return fmt.Errorf("cluster: stream %s: %w", want.Name, err)
	}
	if replicas == 0 {
		want.Replicas = 3
	}
	_, err = js.CreateStream(ctx, want)
	var apiErr *jetstream.APIError
	if replicas == 0 && errors.As(err, &apiErr) {
		switch apiErr.ErrorCode {
		case errCodeReplicasNotInNon:
			want.Replicas = 1
			_, err = js.CreateStream(ctx, want)
		case errCodeNoPeers, errCodeInsufficient:
			return fmt.Errorf("cluster: create stream %s with 3 replicas: %w (a cluster of fewer than 3 JetStream servers needs -nats-replicas)", want.Name, err)
		}
	}
	if err != nil {
		return fmt.Errorf("cluster: create stream %s: %w", want.Name, err)
	}
	return nil
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
// behind: the feed node reads the stored seqs with it.
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
