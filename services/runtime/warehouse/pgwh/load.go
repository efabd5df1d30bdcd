package pgwh

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/engine"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
	"github.com/fusiondata/fusion/services/runtime/warehouse"
)

// Load applies the request in one transaction: the history row, the
// table's creation or new columns, the rows and the row count commit
// together or not at all. Loads into one table take turns.
//
// Rows go where they are applied with one binary COPY. A merge into an
// existing table copies into a staging table and merges from it; an
// append, a replace (after DELETE: TRUNCATE would commit on Redshift) and
// any load that creates its table copy straight into the table, which the
// open transaction keeps invisible until commit: writing the rows once
// instead of twice. Hooks.AfterStage runs once the rows are copied.
func (w *Warehouse) Load(ctx context.Context, req warehouse.LoadRequest) (res warehouse.Result, err error) {
	if err := req.Check(); err != nil {
		return warehouse.Result{}, err
	}
	t, err := splitTable(req.Table)
	if err != nil {
		return warehouse.Result{}, err
	}
	tx, err := w.pool.Begin(ctx)
	if err != nil {
		return warehouse.Result{}, err
	}
	defer func() {
		if err != nil {
			tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	res, err = w.load(ctx, tx, t, req)
	if err != nil {
		return warehouse.Result{}, fmt.Errorf("load %s into %s: %w", req.LoadID, req.Table, err)
	}
	if !res.Applied {
		return res, tx.Rollback(ctx)
	}
	if err = tx.Commit(ctx); err != nil {
		return warehouse.Result{}, fmt.Errorf("load %s into %s: %w", req.LoadID, req.Table, err)
	}
	return res, nil
}

func (w *Warehouse) load(ctx context.Context, tx pgx.Tx, t tableName, req warehouse.LoadRequest) (warehouse.Result, error) {
	if err := lockLayer(ctx, tx, req); err != nil { // a Lambda layer's load (layers.go)
		return warehouse.Result{}, err
	}
	if err := lockTable(ctx, tx, t); err != nil {
		return warehouse.Result{}, err
	}
	if err := w.hist.ensure(ctx, tx); err != nil {
		return warehouse.Result{}, err
	}
	claimed, done, err := w.hist.claim(ctx, tx, req)
	if err != nil || !claimed {
		return warehouse.Result{Rows: done}, err
	}
	existing, err := columns(ctx, tx, t)
	if err != nil {
		return warehouse.Result{}, err
	}
	plan, err := warehouse.PlanFiles(ctx, w.duck, req, existing)
	if err != nil {
		return warehouse.Result{}, err
	}
	if err := warehouse.Validate(ctx, w.duck, req, plan); err != nil {
		return warehouse.Result{}, err
	}
	if plan.Create {
		err = createTable(ctx, tx, t, plan.Columns)
	} else {
		err = addColumns(ctx, tx, t, plan.Add)
	}
	if err != nil {
		return warehouse.Result{}, err
	}
	lay, err := w.layerStart(ctx, tx, req, plan)
	if err != nil {
		return warehouse.Result{}, err
	}
	data := names(plan.Columns)
	staged := req.Mode == pipeline.ModeMerge && !plan.Create
	target := copyTarget{sql: t.quoted(), name: t.name, columns: data}
	switch {
	case lay.Stale: // an older batch recompute: only its history record
	case staged:
		if err := createStage(ctx, tx, t, data); err != nil {
			return warehouse.Result{}, err
		}
		target = copyTarget{sql: engine.QuoteIdent(stageName), name: stageName, columns: data}
	case req.Mode == pipeline.ModeReplace && !plan.Create:
		if _, err := tx.Exec(ctx, "DELETE FROM "+t.quoted()); err != nil {
			return warehouse.Result{}, err
		}
	}
	var rows int64
	if !lay.Stale {
		if rows, err = copyFiles(ctx, tx, req.Files, target); err != nil {
			return warehouse.Result{}, err
		}
	}
	if err := w.opts.Hooks.RunAfterStage(req.LoadID); err != nil {
		return warehouse.Result{}, err
	}
	if staged {
		all := append(names(existing), names(plan.Add)...)
		if err := mergeStage(ctx, tx, w.merge, t, all, data, req.Keys); err != nil {
			return warehouse.Result{}, err
		}
	}
	if err := w.layerFinish(ctx, tx, req, lay); err != nil {
		return warehouse.Result{}, err
	}
	if err := w.hist.record(ctx, tx, req.LoadID, rows); err != nil {
		return warehouse.Result{}, err
	}
	return warehouse.Result{Applied: true, Rows: rows}, nil
}

func names(cols []messages.Column) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = c.Name
	}
	return out
}
