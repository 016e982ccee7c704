package testutil

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// OpenMany opens n WebSocket connections from workers goroutines with
// open(i), and reads each up to its limits message, so the server has
// registered it. A worker stops at its first failure; every failure is
// reported with t.Error and its slot left nil.
//
//	conns := testutil.OpenMany(t, 2000, 8, wait, func(i int) (*testutil.RawConn, error) {
//		return testutil.DialRaw(addr, "/ws?symbols=AAPL", wait)
//	})
func OpenMany(t testing.TB, n, workers int, timeout time.Duration, open func(i int) (*RawConn, error)) []*RawConn {
	t.Helper()
	conns := make([]*RawConn, n)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				rc, err := open(i)
				if err == nil {
					if err = rc.ReadLimits(timeout); err != nil {
						rc.Close()
					}
				}
				if err != nil {
					errs <- fmt.Errorf("connection %d: %w", i, err)
					return
				}
				conns[i] = rc
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	return conns
}
