package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"syscall"
	"time"
)

// checkFileLimit logs the open-file limit. Go raises the soft limit to the
// hard one at start; a hard limit below maxConns means the process runs
// out of descriptors before it reaches maxConns.
func checkFileLimit(log *slog.Logger, maxConns int) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		log.Warn("cannot read the open-file limit", "err", err)
		return
	}
	log.Info("open-file limit", "soft", lim.Cur, "hard", lim.Max)
	// Some descriptors go to the listener, epoll and the runtime.
	const reserve = 64
	if lim.Max < uint64(maxConns)+reserve {
		log.Warn("open-file hard limit is below -max-conns: connections will fail before the cap",
			"hard_limit", lim.Max, "max_conns", maxConns,
			"usable_conns", int64(lim.Max)-reserve)
	}
}

// servePprof serves net/http/pprof on its own listener, apart from client
// traffic. The returned func stops it.
func servePprof(addr string, log *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("pprof server failed", "err", err)
		}
	}()
	log.Info("pprof listening", "addr", ln.Addr().String())
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-done
	}, nil
}
