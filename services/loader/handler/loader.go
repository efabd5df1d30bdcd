// Package handler is the loader worker: it applies a run's curated rows and
// predictions to warehouse tables exactly once. Each load has an id made of
// run, dataset and part; the warehouse records it in the same transaction
// as the rows, so a redelivered or replayed event changes nothing.
package handler

import (
	"context"
	"errors"
	"fmt"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
	"github.com/fusiondata/fusion/services/runtime/warehouse"
	"github.com/fusiondata/fusion/services/runtime/worker"
)

func init() { worker.Register(pipeline.WorkerLoader, New) }

// New builds the loader worker.
func New(d worker.Deps) (*worker.Worker, error) {
	if d.Warehouse == nil || d.Lake == nil || d.Engine == nil {
		return nil, errors.New("loader needs a warehouse, a lake and an engine")
	}
	h := &loader{deps: d}
	return (&worker.Worker{Name: pipeline.WorkerLoader, Handlers: map[string]worker.Handler{
		messages.TypeDatasetTransformed: h.curated,
		messages.TypePredictionsReady:   h.predictions,
	}}).WithActivities(h.sqlActivity), nil // sql.go
}

type loader struct{ deps worker.Deps }

func (h *loader) curated(ctx context.Context, in *worker.Input) (worker.Output, error) {
	return h.load(ctx, in, pipeline.DatasetCurated, in.Detail.(*messages.DatasetTransformed).Dataset)
}

func (h *loader) predictions(ctx context.Context, in *worker.Input) (worker.Output, error) {
	return h.load(ctx, in, pipeline.DatasetPredictions, in.Detail.(*messages.PredictionsReady).Dataset)
}

func (h *loader) load(ctx context.Context, in *worker.Input, dataset string, ref messages.DatasetRef) (worker.Output, error) {
	spec, ok := in.Pipeline.LoadFor(dataset)
	if !ok {
		return worker.Output{}, worker.Permanent(fmt.Errorf("%s: pipeline %s does not load %s", in.Pipeline.File, in.Pipeline.Name, dataset))
	}
	spec, layer := lambdaLoad(in, dataset, spec) // lambda.go
	paths, release, err := worker.LocalFiles(ctx, h.deps.Lake, ref.Objects, h.deps.Engine.TempDir())
	if err != nil {
		return worker.Output{}, err
	}
	defer release()
	req := warehouse.LoadRequest{
		LoadID: warehouse.LoadID(in.Run.RunID, ref.Name, 0), RunID: in.Run.RunID, Dataset: ref.Name,
		Table: spec.Table, Keys: spec.Keys, Mode: spec.Mode, Files: paths, Schema: ref.Schema, Layer: layer,
	}
	res, err := h.deps.Warehouse.Load(ctx, req)
	if re := (*warehouse.RowError)(nil); errors.As(err, &re) {
		obj := ref.Objects[re.File]
		return worker.Output{}, &worker.InputError{Object: obj, File: obj, Line: re.Row, Field: re.Column,
			Err: fmt.Errorf("%w: %s in %s", warehouse.ErrIncompatible, re.Reason, spec.Table)}
	}
	if errors.Is(err, warehouse.ErrIncompatible) {
		return worker.Output{}, &worker.InputError{Object: ref.Objects[0], File: ref.Objects[0], Field: spec.Table, Err: err}
	}
	if errors.Is(err, warehouse.ErrNoLayers) {
		return worker.Output{}, worker.Permanent(fmt.Errorf("%s: lambda: %w", in.Pipeline.File, err))
	}
	if err != nil {
		return worker.Output{}, err
	}
	return worker.Output{
		RowsIn: ref.Rows, RowsOut: res.Rows, Bytes: ref.Bytes,
		Events: []messages.Detail{&messages.DatasetLoaded{RunRef: in.Run, Dataset: ref, Warehouse: h.deps.Warehouse.Kind(),
			Table: spec.Table, LoadID: req.LoadID, Rows: res.Rows, Applied: res.Applied}},
	}, nil
}
