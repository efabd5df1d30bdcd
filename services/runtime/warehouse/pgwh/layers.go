package pgwh

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/fusiondata/fusion/services/runtime/engine"
	"github.com/fusiondata/fusion/services/runtime/warehouse"
)

// viewLockPrefix keys the advisory lock that makes the loads of one
// serving view take turns: taken before the table's, so the batch load
// that prunes the speed table and a speed load never wait on each other
// in opposite orders.
const viewLockPrefix = "fusion.view:"

// layerTx is a load's transaction as the layer rules use it
// (warehouse.LayerTx).
type layerTx struct{ tx pgx.Tx }

func (t layerTx) Exec(ctx context.Context, stmt string) error {
	_, err := t.tx.Exec(ctx, stmt)
	return err
}

func (t layerTx) Texts(ctx context.Context, stmt string) ([]*string, error) {
	rows, err := t.tx.Query(ctx, stmt)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*string
	for rows.Next() {
		var v *string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func (t layerTx) CastType(column, duckType string) (string, error) { return pgType(column, duckType) }

func (t layerTx) Lock(ctx context.Context, view string) error {
	_, err := t.tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", viewLockPrefix+view)
	return err
}

// ReplaceView recreates the view only when its definition changed, known
// by a digest kept as the view's comment: DROP VIEW would otherwise block
// the view's readers for as long as every load runs.
func (t layerTx) ReplaceView(ctx context.Context, view, selectSQL string) error {
	sum := sha256.Sum256([]byte(selectSQL))
	tag := "fusion serving view " + hex.EncodeToString(sum[:8])
	q := engine.QuoteQualified(view)
	var current *string
	if err := t.tx.QueryRow(ctx, "SELECT obj_description(to_regclass($1), 'pg_class')", q).Scan(&current); err != nil {
		return err
	}
	if current != nil && *current == tag {
		return nil
	}
	for _, stmt := range []string{
		"DROP VIEW IF EXISTS " + q, // CREATE OR REPLACE cannot drop or reorder columns
		"CREATE VIEW " + q + " AS " + selectSQL,
		"COMMENT ON VIEW " + q + " IS " + engine.QuoteString(tag),
	} {
		if _, err := t.tx.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("serving view %s: %w", view, err)
		}
	}
	return nil
}

// lockLayer takes a layer load's view lock, first of all its locks.
func lockLayer(ctx context.Context, tx pgx.Tx, req warehouse.LoadRequest) error {
	if req.Layer == nil {
		return nil
	}
	return layerTx{tx}.Lock(ctx, req.Layer.View)
}

// layerStart and layerFinish apply a Lambda layer's rules
// (warehouse.Layer) inside the load's transaction; without a layer they
// do nothing. The Parquet files are read by the checker DuckDB.
func (w *Warehouse) layerStart(ctx context.Context, tx pgx.Tx, req warehouse.LoadRequest, plan warehouse.Plan) (warehouse.LayerState, error) {
	if req.Layer == nil {
		return warehouse.LayerState{}, nil
	}
	return warehouse.LayerStart(ctx, layerTx{tx}, w.duck, req, plan)
}

func (w *Warehouse) layerFinish(ctx context.Context, tx pgx.Tx, req warehouse.LoadRequest, st warehouse.LayerState) error {
	if req.Layer == nil {
		return nil
	}
	return warehouse.LayerFinish(ctx, layerTx{tx}, req, st)
}
