package worker

import (
	"context"
	"log/slog"
	"os"

	"github.com/ThreeDotsLabs/watermill/message"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
	"github.com/fusiondata/fusion/services/runtime/precondition"
)

// awaitPreconditions waits, before a step's first attempt, for the
// preconditions its pipeline puts on it, one after the other
// (services/runtime/precondition). Meanwhile the step shows as started,
// attempt 1, in the ledger; its duration counts from when they held. One
// that does not hold in time fails the step for good, naming it, how long
// and how often it was checked and what the last check saw — in the
// ledger and in the dead letter, from which a redrive waits again.
//
// A waiting step holds its message and one of its worker's slots
// (Config.Concurrency): on the aws tier the subscriber renews the
// message's visibility meanwhile, up to SQS's 12 hours from its receipt,
// which bounds a precondition's timeout (pipeline.MaxWait). done reports
// whether the step ended here; err is then runStep's result.
func (r *Runtime) awaitPreconditions(ctx context.Context, w *Worker, msg *message.Message, in *Input, log *slog.Logger) (done bool, err error) {
	pcs := in.Pipeline.PreconditionsFor(in.Step.Name)
	if len(pcs) == 0 {
		return false, nil
	}
	in.Attempt = 1
	started := r.deps.Now()
	if perr := r.publishStep(ctx, messages.TypeStepStarted, w, in, started, Output{}, nil); perr != nil {
		log.Warn("step started event not published", "error", perr)
	}
	tmp := ""
	if r.deps.Engine != nil {
		tmp = r.deps.Engine.TempDir()
	}
	dir, err := os.MkdirTemp(tmp, "precondition-*")
	if err != nil {
		return true, err // redelivered
	}
	defer os.RemoveAll(dir)
	checker := &precondition.Checker{Lake: r.deps.Lake, Warehouse: r.deps.Warehouse, Dir: dir,
		Env: []string{"FUSION_RUN_ID=" + in.Run.RunID, "FUSION_PIPELINE=" + in.Run.Pipeline, "FUSION_STEP=" + in.Step.Name}}
	vars := pipeline.Vars{RunID: in.Run.RunID, Pipeline: in.Run.Pipeline}
	span := trace.SpanFromContext(ctx)
	for _, pc := range pcs {
		pc = pc.Expand(vars)
		what := pc.Kind() + " " + pc.Subject()
		log.Info("waiting for a precondition", "precondition", what, "timeout", pc.TimeoutDuration().String(), "every", pc.Every().String())
		checks, err := checker.Wait(ctx, pc)
		if ctx.Err() != nil {
			return true, ctx.Err() // shutting down: the message returns to its queue
		}
		if err != nil {
			r.meters.handled(ctx, w.Name, in, started, OutcomeFailure)
			return true, r.fail(ctx, w, msg, in, started, Permanent(err))
		}
		span.AddEvent("precondition held", trace.WithAttributes(attribute.String("fusion.precondition", what), attribute.Int("fusion.checks", checks)))
		log.Info("precondition holds", "precondition", what, "checks", checks)
	}
	return false, nil
}
