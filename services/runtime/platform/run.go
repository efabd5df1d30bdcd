package platform

import (
	"context"
	"slices"

	"github.com/fusiondata/fusion/services/runtime/ledger"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
	"github.com/fusiondata/fusion/services/runtime/routing"
	"github.com/fusiondata/fusion/services/runtime/worker"
)

// Run runs the named workers until ctx is cancelled. The process also
// keeps the run ledger, and when it runs ingest on the embedded tier it
// watches the landing zone.
func (p *Platform) Run(ctx context.Context, names ...string) error {
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
	if slices.Contains(names, pipeline.WorkerIngest) {
		go p.watchLanding(ctx)
	}
	return rt.Run(ctx, workers, worker.Consumer{
		Name:   "ledger",
		Queue:  routing.LedgerQueue,
		Handle: ledger.Consumer(p.Ledger, p.Expected),
	})
}
