package cluster

import (
	"context"
	"sync"
)

// fetchParallel is how many last-value requests a fetcher has in flight.
const fetchParallel = 8

// fetchedMsg is a symbol's last tick read from the stream.
type fetchedMsg struct {
	idx  int
	data []byte
}

// fetcher reads last values from the stream for an Edge's Run, off its
// goroutine: from the stream's leader, or any replica while it has none. Requests are coalesced per symbol, so its queue is bounded by
// the number of symbols.
type fetcher struct {
	e    *Edge
	out  chan<- fetchedMsg
	wake chan struct{} // capacity 1

	mu      sync.Mutex // guards pending and list
	pending []bool
	list    []int
}

func newFetcher(e *Edge, out chan<- fetchedMsg) *fetcher {
	return &fetcher{e: e, out: out, wake: make(chan struct{}, 1), pending: make([]bool, len(e.syms))}
}

// add asks for symbol i's last value. It does not block.
func (f *fetcher) add(i int) {
	f.mu.Lock()
	if !f.pending[i] {
		f.pending[i] = true
		f.list = append(f.list, i)
	}
	f.mu.Unlock()
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// run serves requests until ctx is done.
func (f *fetcher) run(ctx context.Context) {
	var batch []int
	for {
		select {
		case <-ctx.Done():
			return
		case <-f.wake:
		}
		f.mu.Lock()
		batch = append(batch[:0], f.list...)
		for _, i := range f.list {
			f.pending[i] = false
		}
		f.list = f.list[:0]
		f.mu.Unlock()

		var wg sync.WaitGroup
		sem := make(chan struct{}, fetchParallel)
		for _, i := range batch {
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				f.one(ctx, i)
			}()
		}
		wg.Wait()
	}
}

func (f *fetcher) one(ctx context.Context, i int) {
	e := f.e
	// The leader has every stored tick; a follower, which a direct get
	// may reach, can be a little behind. Without a leader (an election),
	// a follower's answer beats none.
	lctx, cancel := context.WithTimeout(ctx, e.cfg.RequestTimeout/2)
	data, err := leaderLast(lctx, e.nc, e.subj.stream(), e.tickSubj[i])
	cancel()
	if err != nil && ctx.Err() == nil {
		dctx, cancel := context.WithTimeout(ctx, e.cfg.RequestTimeout/2)
		data, err = directLast(dctx, e.nc, e.subj.stream(), e.tickSubj[i])
		cancel()
	}
	if err != nil {
		if ctx.Err() == nil {
			e.log.Debug("edge cannot fetch a last value", "symbol", e.syms[i].Name, "err", err)
		}
		return
	}
	if data == nil {
		return
	}
	select {
	case f.out <- fetchedMsg{i, data}:
	case <-ctx.Done():
	}
}
