package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/fusiondata/fusion/services/runtime/ledger"
)

// waitForRun waits for the run that the landed key started to finish,
// drawing a progress line on a terminal.
func waitForRun(ctx context.Context, l ledger.Ledger, key string, progress io.Writer) (ledger.Run, error) {
	return waitFor(ctx, func(ctx context.Context) (ledger.Run, error) { return l.RunForInput(ctx, key) }, key, progress)
}

// waitForRunID waits for a run known by its id (a requested run) to finish.
func waitForRunID(ctx context.Context, l ledger.Ledger, id string, progress io.Writer) (ledger.Run, error) {
	return waitFor(ctx, func(ctx context.Context) (ledger.Run, error) { return l.Run(ctx, id) }, "run "+id, progress)
}

// waitFor polls find until the run it finds is no longer running.
func waitFor(ctx context.Context, find func(context.Context) (ledger.Run, error), key string, progress io.Writer) (ledger.Run, error) {
	tty := isTerminal(progress)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	start := time.Now()
	for {
		r, err := find(ctx)
		switch {
		case err == nil:
			if tty {
				drawProgress(progress, r, time.Since(start))
			}
			if r.Status != ledger.Running {
				if tty {
					fmt.Fprint(progress, "\r\033[K")
				}
				return r, nil
			}
		case !errors.Is(err, ledger.ErrNotFound):
			return ledger.Run{}, err
		case tty:
			fmt.Fprintf(progress, "\r\033[Kwaiting for %s to be picked up (%s)", key, round(time.Since(start)))
		}
		select {
		case <-ctx.Done():
			if tty {
				fmt.Fprintln(progress)
			}
			if r, err := find(context.WithoutCancel(ctx)); err == nil {
				return r, ctx.Err()
			}
			return ledger.Run{}, ctx.Err()
		case <-tick.C:
		}
	}
}

// drawProgress renders: [####------] 2/6 steps  transform running  1.2s
func drawProgress(w io.Writer, r ledger.Run, elapsed time.Duration) {
	done, running := 0, ""
	for _, s := range r.Steps {
		switch s.Status {
		case ledger.Succeeded:
			done++
		case ledger.Started:
			running = s.Name
		}
	}
	total := max(len(r.Expected), len(r.Steps), 1)
	const width = 20
	filled := width * done / total
	bar := strings.Repeat("#", filled) + strings.Repeat("-", width-filled)
	fmt.Fprintf(w, "\r\033[K[%s] %d/%d steps  %s  %s", bar, done, total, running, round(elapsed))
}
