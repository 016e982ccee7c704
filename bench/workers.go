package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"time"

	"github.com/tickerd/tickerd/bench/internal/load"
)

// workerProc is one re-executed worker process and its JSON-lines pipes.
type workerProc struct {
	id     int
	plan   load.Plan
	cmd    *exec.Cmd
	in     io.WriteCloser
	enc    *json.Encoder
	events chan load.Event // closed when the worker's stdout ends
	exited chan error      // the process's exit, once
}

// startWorker re-executes this binary in worker mode and sends it plan.
func startWorker(id int, plan load.Plan) (*workerProc, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), envWorker+"=1")
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start worker %d: %w", id, err)
	}
	w := &workerProc{id: id, plan: plan, cmd: cmd, in: in, enc: json.NewEncoder(in),
		events: make(chan load.Event, 4), exited: make(chan error, 1)}
	go func() { // ends at the worker's EOF; then reaps the process
		dec := json.NewDecoder(bufio.NewReaderSize(out, 1<<20))
		for {
			var ev load.Event
			if err := dec.Decode(&ev); err != nil {
				break
			}
			w.events <- ev
		}
		close(w.events)
		w.exited <- cmd.Wait()
	}()
	if err := w.enc.Encode(map[string]any{"plan": plan}); err != nil {
		w.kill()
		return nil, fmt.Errorf("worker %d: send plan: %w", id, err)
	}
	return w, nil
}

// next returns the worker's next event, failing on an "error" event, an
// early exit or the timeout.
func (w *workerProc) next(want string, timeout time.Duration) (load.Event, error) {
	select {
	case ev, ok := <-w.events:
		switch {
		case !ok:
			return ev, fmt.Errorf("worker %d exited before %q", w.id, want)
		case ev.Event == "error":
			return ev, fmt.Errorf("worker %d: %s", w.id, ev.Error)
		case ev.Event != want:
			return ev, fmt.Errorf("worker %d: got %q, want %q", w.id, ev.Event, want)
		}
		return ev, nil
	case <-time.After(timeout):
		return load.Event{}, fmt.Errorf("worker %d: no %q within %v", w.id, want, timeout)
	}
}

func (w *workerProc) send(c load.Command) error { return w.enc.Encode(c) }

// finish closes stdin, which ends the worker, and waits for it; it kills a
// worker that does not exit within 10 s.
func (w *workerProc) finish() error {
	w.in.Close()
	for range w.events { // drain, so the reader goroutine reaches Wait
	}
	select {
	case err := <-w.exited:
		return err
	case <-time.After(10 * time.Second):
		w.kill()
		return errors.New("worker did not exit; killed")
	}
}

// kill ends the worker by PID and reaps it.
func (w *workerProc) kill() {
	_ = w.cmd.Process.Kill()
	w.in.Close()
	for range w.events {
	}
	<-w.exited
}

// killWorkers kills every worker in *ws; the caller sets *ws to nil once
// they have finished.
func killWorkers(ws *[]*workerProc) {
	for _, w := range *ws {
		w.kill()
	}
}
