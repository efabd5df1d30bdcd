package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
	"github.com/fusiondata/fusion/services/runtime/platform"
)

// requestPull publishes an ingest request for a pipeline with a Postgres
// source — the same event a schedule sends — and, with wait, waits for the
// run it starts. The run id is known up front: it derives from the event.
func (a *app) requestPull(p *platform.Platform, pl *pipeline.Pipeline, reason string, wait bool, timeout time.Duration) error {
	ctx, stop := signalContext()
	defer stop()
	rq := &messages.IngestRequested{Pipeline: pl.Name, RequestID: uuid.NewString(), Reason: reason, RequestedBy: "fusion ingest"}
	env, err := messages.New(rq, time.Now())
	if err != nil {
		return err
	}
	run := rq.StartRun(env)
	what := "a snapshot of " + pl.Source.Prefix
	if pl.Lambda != nil {
		what = "a batch-layer recompute over " + pl.Lambda.BatchPrefix(pl.Name)
	}
	if pl.Source.Postgres != nil {
		what = "a pull of " + pl.Source.Postgres.Label()
	}
	if err := p.Submit(ctx, env); err != nil {
		return fmt.Errorf("request %s: %w", what, err)
	}
	fmt.Fprintf(a.out, "requested %s for pipeline %s: run %s\n", what, pl.Name, run.RunID)
	if !wait {
		fmt.Fprintf(a.out, "\"fusion run --home %s\" runs it\n", a.cfg.Home)
		return nil
	}
	waitCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return a.reportRun(waitForRunID(waitCtx, p.Ledger, run.RunID, a.errOut))
}
