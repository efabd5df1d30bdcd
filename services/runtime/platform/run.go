package platform

import (
	"context"
	"slices"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/fusiondata/fusion/messages"

	"github.com/fusiondata/fusion/services/runtime/ledger"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
	"github.com/fusiondata/fusion/services/runtime/routing"
	"github.com/fusiondata/fusion/services/runtime/worker"
)

// RunOptions says what a process runs.
type RunOptions struct {
	Workers []string
	// Ledger consumes the step events into this home's run ledger, and
	// reports failure notifications in the log. One process of a
	// deployment does it: `fusion run`, which runs every worker.
	Ledger bool
}

// Run runs the workers until ctx is cancelled. When it runs ingest on the
// embedded tier, it watches the landing zone and the event inbox too.
func (p *Platform) Run(ctx context.Context, opts RunOptions) error {
	names := opts.Workers
	workers, err := worker.Build(p.Deps, names...)
	if err != nil {
		return err
	}
	rt, err := worker.New(worker.Config{
		Concurrency: p.Config.Concurrency,
		Retry:       worker.RetryPolicy{MaxRetries: p.Config.Retries},
	}, p.Deps, p.Transport, p.Tracer)
	if err != nil {
		return err
	}
	if p.local != nil && slices.Contains(names, pipeline.WorkerIngest) {
		go p.watchLanding(ctx)
		go p.watchInbox(ctx)
	}
	var consumers []worker.Consumer
	if opts.Ledger {
		consumers = append(consumers,
			worker.Consumer{Name: "ledger", Queue: routing.LedgerQueue, Handle: ledger.Consumer(p.Ledger, p.Expected)},
			worker.Consumer{Name: "failures", Queue: routing.FailuresQueue, Handle: p.reportFailure})
	}
	return rt.Run(ctx, workers, consumers...)
}

// reportFailure logs a failure notification.
func (p *Platform) reportFailure(msg *message.Message) error {
	env, err := messages.Parse(msg.Payload)
	if err != nil {
		return nil
	}
	d, err := messages.Decode(env)
	if err != nil {
		return nil
	}
	if f, ok := d.(*messages.StepFailed); ok {
		p.Log.Warn("run failed", "run_id", f.RunID, "pipeline", f.Pipeline, "step", f.Step,
			"error", f.Error.Message, "quarantine", f.Error.Quarantine)
	}
	return nil
}
