package duckwh

import (
	"context"
	"database/sql"

	"github.com/fusiondata/fusion/services/runtime/warehouse"
)

// layerStart and layerFinish apply a Lambda layer's rules
// (warehouse.Layer) inside a load's transaction; without a layer they do
// nothing. Loads are serialized by the warehouse's lock, and DuckDB reads
// the Parquet files itself, in the same transaction.
func layerStart(ctx context.Context, tx *sql.Tx, req warehouse.LoadRequest, plan warehouse.Plan) (warehouse.LayerState, error) {
	if req.Layer == nil {
		return warehouse.LayerState{}, nil
	}
	return warehouse.LayerStart(ctx, warehouse.SQLLayerTx{Tx: tx}, tx, req, plan)
}

func layerFinish(ctx context.Context, tx *sql.Tx, req warehouse.LoadRequest, st warehouse.LayerState) error {
	if req.Layer == nil {
		return nil
	}
	return warehouse.LayerFinish(ctx, warehouse.SQLLayerTx{Tx: tx}, req, st)
}
