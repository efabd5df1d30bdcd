package handler

import (
	"context"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/worker"
)

// batchLayer is a Lambda pipeline's batch-layer recompute
// (pipeline.Lambda), started by an ingest request: a snapshot (snapshot.go)
// of the history prefix — by default raw/<pipeline>/, the byte copies of
// every file the speed layer ingested, read in place — announced with the
// layer batch, so that transform runs the same SQL over the whole history
// and the loader replaces the batch table and moves the watermark.
// Snapshots skip their own outputs (_snapshot.json, .parquet), so a
// recompute never reads an earlier one's.
func (h *ingester) batchLayer(ctx context.Context, in *worker.Input) (worker.Output, error) {
	p := *in.Pipeline
	p.Source.Prefix = p.Lambda.BatchPrefix(p.Name)
	batch := *in
	batch.Pipeline = &p
	out, err := h.snapshot(ctx, &batch)
	if err != nil {
		return out, err
	}
	for _, e := range out.Events {
		if ev, ok := e.(*messages.DatasetIngested); ok {
			ev.Layer = messages.LayerBatch
		}
	}
	return out, nil
}
