package handler

import (
	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
	"github.com/fusiondata/fusion/services/runtime/warehouse"
	"github.com/fusiondata/fusion/services/runtime/worker"
)

// lambdaLoad sends a Lambda pipeline's curated rows to their layer
// (pipeline.Lambda): a batch-layer recompute replaces the batch table and
// moves the view's watermark; any other run is the speed layer, loaded as
// the pipeline's load entry says (the speed table, merged by the keys).
// The warehouse applies the layer's rules in the load's transaction
// (warehouse.Layer). Other datasets and pipelines load as they are.
func lambdaLoad(in *worker.Input, dataset string, spec pipeline.Load) (pipeline.Load, *warehouse.Layer) {
	l := in.Pipeline.Lambda
	if l == nil || dataset != pipeline.DatasetCurated {
		return spec, nil
	}
	layer := &warehouse.Layer{Name: messages.LayerSpeed, View: l.View, Batch: l.Batch.Table, Speed: l.Speed.Table, Time: l.Time, Keys: l.Keys}
	if ev, ok := in.Detail.(*messages.DatasetTransformed); ok && ev.Layer == messages.LayerBatch {
		layer.Name = messages.LayerBatch
		spec = pipeline.Load{Dataset: dataset, Table: l.Batch.Table, Keys: l.Keys, Mode: pipeline.ModeReplace}
	}
	return spec, layer
}
