package cluster

import (
	"context"
	"sync"
)

// fetchParallel is how many last-value requests a fetcher has in flight.
const fetchParallel = 8

// fetchedMsg is the last message of a subject of the last-value stream.
type fetchedMsg struct {
	subject string
	data    []byte
}

// fetcher reads last values from the stream for an Edge's Run, off its
// goroutine: from the stream's leader, or any replica while it has none.
// Requests are coalesced per subject, so its queue is bounded by the
// number of subjects (two per listed symbol).
type fetcher struct {
	e    *Edge
	out  chan<- fetchedMsg
	wake chan struct{} // capacity 1

	mu      sync.Mutex // guards pending and list
	pending map[string]bool
	list    []string
}

func newFetcher(e *Edge, out chan<- fetchedMsg) *fetcher {
	return &fetcher{e: e, out: out, wake: make(chan struct{}, 1), pending: map[string]bool{}}
}

// add asks for subject's last message. It does not block.
func (f *fetcher) add(subject string) {
	f.mu.Lock()
	if !f.pending[subject] {
		f.pending[subject] = true
		f.list = append(f.list, subject)
	}
	f.mu.Unlock()
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// run serves requests until ctx is done.
func (f *fetcher) run(ctx context.Context) {
	var batch []string
	for {
		select {
		case <-ctx.Done():
			return
		case <-f.wake:
		}
		f.mu.Lock()
		batch = append(batch[:0], f.list...)
		clear(f.pending)
		clear(f.list)
		f.list = f.list[:0]
		f.mu.Unlock()

		var wg sync.WaitGroup
		sem := make(chan struct{}, fetchParallel)
		for _, subject := range batch {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				f.one(ctx, subject)
			})
		}
		wg.Wait()
	}
}

func (f *fetcher) one(ctx context.Context, subject string) {
	e := f.e
	stream := e.subj.lastStream()
	// The leader has every stored message; a follower, which a direct
	// get may reach, can be a little behind. Without a leader (an
	// election), a follower's answer beats none.
	lctx, cancel := context.WithTimeout(ctx, e.cfg.RequestTimeout/2)
	data, err := leaderLast(lctx, e.nc, stream, subject)
	cancel()
	if err != nil && ctx.Err() == nil {
		dctx, cancel := context.WithTimeout(ctx, e.cfg.RequestTimeout/2)
		data, err = directLast(dctx, e.nc, stream, subject)
		cancel()
	}
	if err != nil {
		if ctx.Err() == nil {
			e.log.Debug("edge cannot fetch a last value", "subject", subject, "err", err)
		}
		return
	}
	if len(data) == 0 {
		return // none, or a delisting
	}
	select {
	case f.out <- fetchedMsg{subject, data}:
	case <-ctx.Done():
	}
}
