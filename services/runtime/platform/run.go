package platform

import (
	"context"
	"slices"
	"time"

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
	// Ledger consumes the step events into the tier's run ledger, reports
	// failure notifications in the log, and announces runs open past their
	// pipeline's deadline (every Config.DeadlineCheck). One process of a
	// deployment does it: `fusion run`, which runs every worker (with
	// --workers none on the aws tier); two would still announce each late
	// run once.
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
		Meter:       p.Meter,
		Tracers:     p.workerTracers(names),
		Queues:      hostQueues(names),
	}, p.Deps, p.Transport, p.Tracing.Provider(p.serviceName("", len(names))))
	if err != nil {
		return err
	}
	stopMetrics, err := p.serveMetrics()
	if err != nil {
		return err
	}
	defer stopMetrics()
	extras, err := p.attach(ctx, workers, names) // host.go: the workers' HTTP routes and loops
	if err != nil {
		return err
	}
	defer extras.wait()
	stopHTTP, err := p.serveHTTP(extras.routes)
	if err != nil {
		return err
	}
	defer stopHTTP()
	if p.local != nil && slices.Contains(names, pipeline.WorkerIngest) {
		go p.watchLanding(ctx)
		go p.watchInbox(ctx)
		defer p.runScheduler(ctx)() // scheduler.go: schedules fire here; EventBridge Scheduler fires them on AWS
	}
	var consumers []worker.Consumer
	if opts.Ledger {
		consumers = append(consumers,
			worker.Consumer{Name: "ledger", Queue: routing.LedgerQueue, Handle: ledger.Consumer(p.Ledger, p.Plan)},
			worker.Consumer{Name: "failures", Queue: routing.FailuresQueue, Handle: p.reportFailure})
		deadlines, stop := context.WithCancel(ctx)
		checked := make(chan struct{})
		go func() { p.checkDeadlines(deadlines); close(checked) }()
		defer func() { stop(); <-checked }()
	}
	return rt.Run(ctx, workers, consumers...)
}

// reportFailure logs a failure notification: a failed step or a late run.
func (p *Platform) reportFailure(msg *message.Message) error {
	env, err := messages.Parse(msg.Payload)
	if err != nil {
		return nil
	}
	d, err := messages.Decode(env)
	if err != nil {
		return nil
	}
	switch f := d.(type) {
	case *messages.StepFailed:
		p.Log.Warn("run failed", "run_id", f.RunID, "pipeline", f.Pipeline, "step", f.Step,
			"error", f.Error.Message, "quarantine", f.Error.Quarantine)
	case *messages.RunLate:
		p.Log.Warn("run late", "run_id", f.RunID, "pipeline", f.Pipeline, "deadline", (time.Duration(f.DeadlineMS) * time.Millisecond).String(),
			"started_at", f.StartedAt.Format(time.RFC3339), "pending", f.Pending, "event_id", env.ID)
	}
	return nil
}
