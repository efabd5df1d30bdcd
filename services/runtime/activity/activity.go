// Package activity holds what the handlers of pipeline activities share
// (pipeline.Activity: copy on ingest, sql on the loader, shell on
// transform): the activity a step runs, its run's template values, where
// the run's datasets are in the lake, which lake an endpoint names, and
// the event an activity announces when it is done.
package activity

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/lake"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
	"github.com/fusiondata/fusion/services/runtime/worker"
)

// Of returns the activity a step input runs.
func Of(in *worker.Input) (pipeline.Activity, error) {
	a, ok := in.Pipeline.ActivityOf(in.Step.Name)
	if !ok {
		return pipeline.Activity{}, worker.Permanent(fmt.Errorf("%s: pipeline %s has no activity %s", in.Pipeline.File, in.Pipeline.Name, in.Step.Name))
	}
	return a, nil
}

// Vars are the run's template values ({{run_id}}, {{pipeline}}, {{date}}).
func Vars(in *worker.Input) pipeline.Vars {
	return pipeline.Vars{RunID: in.Run.RunID, Pipeline: in.Run.Pipeline}
}

// Env is the run in a command's environment.
func Env(in *worker.Input) []string {
	return []string{"FUSION_RUN_ID=" + in.Run.RunID, "FUSION_PIPELINE=" + in.Run.Pipeline, "FUSION_STEP=" + in.Step.Name}
}

// Completed is the event an activity announces.
func Completed(in *worker.Input, a pipeline.Activity) *messages.ActivityCompleted {
	return &messages.ActivityCompleted{RunRef: in.Run, Activity: a.Name, Kind: a.Kind()}
}

// Dataset returns the objects of one of a run's datasets
// (pipeline.ActivityDatasets), where their steps write them:
//
//	raw          raw/<pipeline>/<run>/*.parquet (the typed copy, not the landed bytes)
//	curated      curated/<pipeline>/<run>/*.parquet
//	predictions  predictions/<pipeline>/<run>/*.parquet
//	train, validation, test  training/<pipeline>/<run>/<split>.parquet
//	manifest     training/<pipeline>/<run>/manifest.json
//
// A dataset the run has not written is a permanent error: the pipeline's
// validation makes sure an activity starts after its dataset's step.
func Dataset(ctx context.Context, l lake.Lake, pipelineName, runID, name string) ([]lake.Object, error) {
	zone, want := "", ".parquet"
	switch name {
	case pipeline.DatasetRaw:
		zone = lake.Raw
	case pipeline.DatasetCurated:
		zone = lake.Curated
	case pipeline.DatasetPredictions:
		zone = lake.Predictions
	case "train", "validation", "test":
		zone, want = lake.Training, "/"+name+".parquet"
	case pipeline.DatasetManifest:
		zone, want = lake.Training, "/manifest.json"
	default:
		return nil, worker.Permanent(fmt.Errorf("no dataset %q (datasets: %s)", name, strings.Join(pipeline.ActivityDatasets, ", ")))
	}
	prefix := lake.RunKey(zone, pipelineName, runID, "") + "/"
	objs, err := l.List(ctx, prefix)
	if err != nil {
		return nil, err
	}
	var out []lake.Object
	for _, o := range objs {
		if strings.HasSuffix(o.Key, want) && !strings.Contains(strings.TrimPrefix(o.Key, prefix), "/") {
			out = append(out, o)
		}
	}
	if len(out) == 0 {
		return nil, worker.Permanent(fmt.Errorf("dataset %s of run %s is not in the lake (nothing matching %s*%s)", name, runID, prefix, want))
	}
	return out, nil
}

// LakeKey is the key in the lake l that a lake endpoint (expanded) names:
// lake:<key>, or s3://<bucket>/<key> when the bucket is the lake's.
func LakeKey(l lake.Lake, e pipeline.Endpoint) (string, error) {
	if e.Bucket != "" && e.Bucket != l.Bucket() {
		return "", worker.Permanent(fmt.Errorf("%s is not in the lake (bucket %s): a copy reads and writes the lake's own bucket", e, l.Bucket()))
	}
	if err := messages.ValidKey(e.Key); err != nil {
		return "", worker.Permanent(err)
	}
	return e.Key, nil
}

// URI names a lake object for a command: a file:// URL of the local
// lake's file, s3://<bucket>/<key> otherwise.
func URI(l lake.Lake, key string) string {
	if local, ok := l.(interface{ Path(string) (string, error) }); ok {
		if p, err := local.Path(key); err == nil {
			return "file://" + p
		}
	}
	return "s3://" + l.Bucket() + "/" + key
}

// Base is an object's name in its folder.
func Base(key string) string { return path.Base(key) }
