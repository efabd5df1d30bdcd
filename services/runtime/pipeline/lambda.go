package pipeline

import (
	"fmt"
	"strings"

	"github.com/fusiondata/fusion/messages"
)

// Lambda makes a pipeline a Lambda architecture: a batch layer and a speed
// layer feed one serving view in the warehouse.
//
//   - The speed layer is the pipeline's normal path: files landing under
//     source.prefix (or a stream's micro-batches) run ingest -> transform
//     -> load into Speed.Table (merge by Keys; append without keys).
//   - The batch layer is a recompute over the lake's whole history: a
//     fusion.ingest.requested.v1 event (the pipeline's schedule, or
//     `fusion ingest --pipeline`) starts a run whose ingest reads every
//     object under Batch.Prefix — by default the speed layer's raw copies,
//     raw/<pipeline>/ — as one dataset; the same transform SQL runs on it,
//     and the loader replaces Batch.Table with the result and, in the same
//     transaction, moves the view's watermark to max(Time) of it (forward
//     only) and deletes the speed rows at or before it, which the batch
//     now holds.
//   - The serving view holds every batch row, plus the speed rows whose
//     Time is after the watermark (all speed rows before the first batch).
//     With Keys, a visible speed row also hides the batch row with its
//     keys. See warehouse.Layer for the exact rules.
//
// The pipeline's schedule (schedule:) fires the batch layer. The block
// loads the curated dataset, so load: must not name it.
type Lambda struct {
	// Time is the event-time column of the curated dataset that the
	// watermark is on.
	Time string `yaml:"time"`
	// Keys, optional, identify a row: the speed table is merged by them,
	// and a visible speed row overrides the batch row with its keys.
	Keys []string `yaml:"keys"`
	// View is the serving view in the warehouse.
	View  string      `yaml:"view"`
	Batch LambdaBatch `yaml:"batch"`
	Speed LambdaSpeed `yaml:"speed"`
}

// LambdaBatch is the batch layer: a recompute over the lake's history.
type LambdaBatch struct {
	// Table receives each recompute, replacing what was there.
	Table string `yaml:"table"`
	// Prefix is the history a recompute reads; raw/<pipeline>/ (the
	// speed layer's raw copies, kept by ingest) by default.
	Prefix string `yaml:"prefix"`
}

// LambdaSpeed is the speed layer: the pipeline's landed files.
type LambdaSpeed struct {
	// Table receives each speed-layer run's rows.
	Table string `yaml:"table"`
}

// BatchPrefix is the history a batch-layer recompute reads.
func (l *Lambda) BatchPrefix(pipelineName string) string {
	if l.Batch.Prefix != "" {
		return l.Batch.Prefix
	}
	return "raw/" + pipelineName + "/"
}

// SpeedMode is how speed-layer rows load: merge by the keys, or append.
func (l *Lambda) SpeedMode() string {
	if len(l.Keys) > 0 {
		return ModeMerge
	}
	return ModeAppend
}

// lambdaSteps is the batch layer's start: ingest on a request, beside the
// ingest of landed files. Both are the step "ingest"; what follows is the
// same for both layers.
func (p *Pipeline) lambdaSteps() []Step {
	if p.Lambda == nil {
		return nil
	}
	return []Step{{Name: "ingest", Worker: WorkerIngest, Consumes: messages.TypeIngestRequested}}
}

// validateLambda checks the lambda block and completes the pipeline with
// the load it implies: the curated dataset into the speed table (the
// loader sends batch-layer runs to the batch table).
func (v *validator) validateLambda(p *Pipeline) {
	l := p.Lambda
	if l == nil {
		return
	}
	if p.Source.Postgres != nil || !strings.HasPrefix(p.Source.Prefix, "landing/") {
		v.add("lambda", "the speed layer is the pipeline's landed files: source.prefix must be under landing/ (got %q)", p.Source.Prefix)
	}
	if strings.TrimSpace(l.Time) == "" {
		v.add("lambda.time", "is required: the event-time column the batch watermark is on")
	}
	seen := map[string]bool{}
	for i, k := range l.Keys {
		f := fmt.Sprintf("lambda.keys[%d]", i)
		switch {
		case strings.TrimSpace(k) == "":
			v.add(f, "is empty")
		case seen[k]:
			v.add(f, "%q is listed twice", k)
		}
		seen[k] = true
	}
	tables := map[string]string{}
	for _, t := range []struct{ field, name, what string }{
		{"lambda.view", l.View, "the serving view"},
		{"lambda.batch.table", l.Batch.Table, "the batch layer's table"},
		{"lambda.speed.table", l.Speed.Table, "the speed layer's table"},
	} {
		switch lower := strings.ToLower(t.name); {
		case t.name == "":
			v.add(t.field, "is required: %s", t.what)
		case !tableRE.MatchString(t.name):
			v.add(t.field, "must be a table name, optionally schema-qualified (got %q)", t.name)
		case tables[lower] != "":
			v.add(t.field, "%q is also %s", t.name, tables[lower])
		default:
			tables[lower] = t.field
		}
	}
	if pre := l.Batch.Prefix; pre != "" {
		switch {
		case !strings.HasSuffix(pre, "/") || messages.ValidKey(pre) != nil:
			v.add("lambda.batch.prefix", "must be a key prefix ending in / (got %q)", pre)
		case strings.HasPrefix(pre, "landing/"):
			v.add("lambda.batch.prefix", "must not be under landing/: landed files start speed-layer runs and leave (got %q)", pre)
		default:
			for _, zone := range []string{"curated", "training", "predictions", "quarantine", "models", "claims"} {
				if strings.HasPrefix(pre, zone+"/") {
					v.add("lambda.batch.prefix", "must hold the history of the input, not %s/ (got %q)", zone, pre)
				}
			}
		}
	}
	for i, ld := range p.Load {
		if ld.Dataset == DatasetCurated {
			v.add(fmt.Sprintf("load[%d].dataset", i), "the lambda block loads curated (lambda.speed.table, lambda.batch.table): remove this entry")
			return
		}
	}
	if tableRE.MatchString(l.Speed.Table) { // else reported above, once
		p.Load = append(p.Load, Load{Dataset: DatasetCurated, Table: l.Speed.Table, Keys: l.Keys, Mode: l.SpeedMode()})
	}
}
