package snowwh

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/fusiondata/fusion/services/runtime/engine"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
	"github.com/fusiondata/fusion/services/runtime/warehouse"
)

// Load applies a load exactly once, on one connection (the temporary stage
// is the session's):
//
//  1. outside any transaction, since Snowflake commits DDL on its own: the
//     history table, the table (created, or new columns added), the value
//     checks, and the staging table filled with the rows;
//  2. Hooks.AfterStage;
//  3. one transaction: take the history table's lock, read whether the
//     load is recorded (then change nothing), delete the rows the data
//     replaces (merge: those with its keys; replace: all), insert the
//     rows, record the load, commit.
//
// A crash before the commit leaves the table's rows as they were (a new
// column may stay); a retry stages again.
//
// Concurrent deliveries of one load: Snowflake does not enforce the
// history's primary key, so a second record would not be refused. Instead
// the transaction takes the history table's lock before it reads the
// history: DML holds a table's lock until the transaction ends, and a
// duplicate running at the same time waits for it, then reads the first's
// record and changes nothing. The lock serializes the final transactions of
// all loads sharing the history table (not their staging); Snowflake
// queues at most 20 statements for one lock, and a load failing on that is
// retried like any failed load.
func (w *Warehouse) Load(ctx context.Context, req warehouse.LoadRequest) (warehouse.Result, error) {
	if err := req.Check(); err != nil {
		return warehouse.Result{}, err
	}
	if req.Layer != nil { // Snowflake commits DDL on its own: not one transaction yet
		return warehouse.Result{}, fmt.Errorf("load %s: snowflake: %w", req.LoadID, warehouse.ErrNoLayers)
	}
	t, err := w.table(req.Table)
	if err != nil {
		return warehouse.Result{}, fmt.Errorf("load %s: %w", req.LoadID, err)
	}
	conn, err := w.db.Conn(ctx)
	if err != nil {
		return warehouse.Result{}, err
	}
	defer conn.Close()
	if err := w.makeHistory(ctx, conn); err != nil {
		return warehouse.Result{}, err
	}
	// A load applied before is not staged again (the transaction checks
	// again, under the lock).
	if rows, done, err := w.recorded(ctx, conn, req.LoadID); err != nil || done {
		return warehouse.Result{Rows: rows}, err
	}
	cols, err := w.prepare(ctx, conn, req, t)
	if err != nil {
		return warehouse.Result{}, err
	}
	s, rows, err := w.stage(ctx, conn, req, cols)
	defer w.unstage(ctx, conn, s)
	if err != nil {
		return warehouse.Result{}, err
	}
	if err := w.opts.Hooks.RunAfterStage(req.LoadID); err != nil {
		return warehouse.Result{}, err
	}
	return w.apply(ctx, conn, req, t, cols, s.table, rows)
}

// apply moves the staged rows into the table and records the load, in one
// transaction. A merge deletes the rows whose keys the data has and inserts
// the data's: the same rows a MERGE leaves (the data repeats no key, and
// columns it lacks are NULL as for any inserted row), and fakesnow cannot
// run MERGE inside a transaction.
func (w *Warehouse) apply(ctx context.Context, conn *sql.Conn, req warehouse.LoadRequest, t tableName, cols []column, staged tableName, rows int64) (warehouse.Result, error) {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return warehouse.Result{}, err
	}
	defer tx.Rollback()
	if err := w.lockHistory(ctx, tx, req.LoadID); err != nil {
		return warehouse.Result{}, err
	}
	if prior, found, err := w.recorded(ctx, tx, req.LoadID); err != nil || found {
		return warehouse.Result{Rows: prior}, err
	}
	switch req.Mode {
	case pipeline.ModeMerge:
		on := make([]string, len(req.Keys))
		for i, k := range req.Keys {
			on[i] = fmt.Sprintf("t.%s = s.%s", ident(k), ident(k))
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("DELETE FROM %s AS t USING %s AS s WHERE %s",
			t, staged, strings.Join(on, " AND "))); err != nil {
			return warehouse.Result{}, fmt.Errorf("load %s: merge into %s: %w", req.LoadID, t, err)
		}
	case pipeline.ModeReplace:
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+t.String()); err != nil {
			return warehouse.Result{}, fmt.Errorf("load %s: replace %s: %w", req.LoadID, t, err)
		}
	}
	targets := make([]string, len(cols))
	for i, c := range cols {
		targets[i] = engine.QuoteIdent(c.Target)
	}
	list := strings.Join(targets, ", ")
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("INSERT INTO %s (%s) SELECT %s FROM %s", t, list, list, staged)); err != nil {
		return warehouse.Result{}, fmt.Errorf("load %s into %s: %w", req.LoadID, t, err)
	}
	if err := w.record(ctx, tx, req, rows); err != nil {
		return warehouse.Result{}, err
	}
	if err := tx.Commit(); err != nil {
		return warehouse.Result{}, fmt.Errorf("load %s: commit: %w", req.LoadID, err)
	}
	return warehouse.Result{Applied: true, Rows: rows}, nil
}
