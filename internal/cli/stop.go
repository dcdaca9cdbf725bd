package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

// The causes a run stops early for; they complete "the run was …".
var (
	errInterrupted = errors.New("interrupted by Ctrl-C")
	errTerminated  = errors.New("terminated by SIGTERM")
)

// hardExit ends the process on a second Ctrl-C; tests replace it.
var hardExit = os.Exit

// stopper ends a run early, gently first: the first Ctrl-C (or SIGTERM,
// or the --timeout) cancels the collection's context, and the run reports
// from what it has read, marked partial; a second signal discards any
// recording in progress and exits at once with status 130.
type stopper struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	sigs   chan os.Signal
	done   chan struct{}

	mu   sync.Mutex
	hard []func()
}

// newStopper watches for interrupts and, when timeout > 0, the deadline.
// Messages go to stderr.
func newStopper(parent context.Context, timeout time.Duration, stderr io.Writer) *stopper {
	ctx, cancel := context.WithCancelCause(parent)
	s := &stopper{ctx: ctx, cancel: cancel, sigs: make(chan os.Signal, 2), done: make(chan struct{})}
	if timeout > 0 {
		var stop context.CancelFunc
		s.ctx, stop = context.WithTimeoutCause(ctx, timeout, fmt.Errorf("stopped at the --timeout of %s", timeout))
		go func() { <-s.done; stop() }()
	}
	signal.Notify(s.sigs, os.Interrupt, syscall.SIGTERM)
	go s.watch(stderr)
	return s
}

func (s *stopper) watch(stderr io.Writer) {
	first := true
	for {
		select {
		case <-s.done:
			return
		case sig := <-s.sigs:
			if !first {
				fmt.Fprintln(stderr, "\nvpnaudit: stopped; nothing half-written was left behind")
				s.mu.Lock()
				for _, f := range s.hard {
					f()
				}
				s.mu.Unlock()
				hardExit(130)
				return
			}
			first = false
			cause := errInterrupted
			if sig == syscall.SIGTERM {
				cause = errTerminated
			}
			fmt.Fprintf(stderr, "\nvpnaudit: %s: finishing the report from the evidence read so far (Ctrl-C again to quit at once)\n", cause)
			s.cancel(cause)
		}
	}
}

// atHardStop runs f before a second signal ends the process.
func (s *stopper) atHardStop(f func()) {
	s.mu.Lock()
	s.hard = append(s.hard, f)
	s.mu.Unlock()
}

// stop releases the signal handler and the timer.
func (s *stopper) stop() {
	signal.Stop(s.sigs)
	close(s.done)
	s.cancel(nil)
}
