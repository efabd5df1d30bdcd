package worker

import (
	"context"
	"fmt"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
)

// activityEvents are the events an activity may start on: the run's
// start request, what each step publishes, another activity's completion.
var activityEvents = []string{
	messages.TypeIngestRequested, messages.TypeDatasetIngested, messages.TypeDatasetTransformed, messages.TypeTrainingDataBuilt,
	messages.TypePredictionsReady, messages.TypeDatasetLoaded, messages.TypeActivityCompleted,
}

// WithActivities makes the worker run its kind of pipeline activities
// (pipeline.Activity) with h: a delivery of any event an activity may
// start on goes to h when the step it starts is an activity, and to the
// worker's own handler of that event otherwise. The pipeline guarantees
// that a worker has one step per event of a run (pipeline validation), so
// the step the runtime resolved says which.
func (w *Worker) WithActivities(h Handler) *Worker {
	for _, dt := range activityEvents {
		own := w.Handlers[dt]
		w.Handlers[dt] = func(ctx context.Context, in *Input) (Output, error) {
			if pipeline.IsActivity(in.Step.Name) {
				return h(ctx, in)
			}
			if own == nil {
				return Output{}, Permanent(fmt.Errorf("worker %s runs no step %s on %s", w.Name, in.Step.Name, in.Event.DetailType))
			}
			return own(ctx, in)
		}
	}
	return w
}
