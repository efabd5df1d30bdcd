package pipeline

import "github.com/fusiondata/fusion/messages"

// publishes is the event each worker's steps publish when they succeed: the
// event the next steps of a pipeline consume (see Steps). The handlers in
// services/<worker>/handler return events of this type; the rules route
// them (services/runtime/routing).
var publishes = map[string]string{
	WorkerIngest:    messages.TypeDatasetIngested,
	WorkerTransform: messages.TypeDatasetTransformed,
	WorkerTraindata: messages.TypeTrainingDataBuilt,
	WorkerInference: messages.TypePredictionsReady,
	WorkerLoader:    messages.TypeDatasetLoaded,
}

// Publishes returns the detail-type the step publishes when it succeeds
// (besides the runtime's step events, which every step publishes); an
// activity, whatever its worker, announces its completion.
func (s Step) Publishes() string {
	if IsActivity(s.Name) {
		return messages.TypeActivityCompleted
	}
	return publishes[s.Worker]
}
