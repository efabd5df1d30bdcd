package pgwh

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fusiondata/fusion/services/runtime/engine"
	"github.com/fusiondata/fusion/services/runtime/warehouse"
)

// Advisory-lock keys are hashes of a namespace and a name, so fusion's
// locks do not collide with an application's small integers.
const (
	historyLockKey  = "fusion.history"
	tableLockPrefix = "fusion.load:"
)

// lockTable makes loads into one table take turns until commit. The key
// is the table's resolved, quoted name.
func lockTable(ctx context.Context, tx pgx.Tx, t tableName) error {
	_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1 ||
		quote_ident(coalesce(nullif($2, ''), current_schema())) || '.' || quote_ident($3), 0))`, tableLockPrefix, t.schema, t.name)
	return err
}

// history is the load-history table.
type history struct{ t tableName }

// ensure creates the history table (and its schema) if it is missing.
// Concurrent CREATE TABLE IF NOT EXISTS can still collide in the catalog,
// so the first loads take a lock to create it; later loads only look.
func (h history) ensure(ctx context.Context, tx pgx.Tx) error {
	var exists bool
	if err := tx.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", h.t.quoted()).Scan(&exists); err != nil || exists {
		return err
	}
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", historyLockKey); err != nil {
		return err
	}
	if h.t.schema != "" {
		if _, err := tx.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+engine.QuoteIdent(h.t.schema)); err != nil {
			return err
		}
	}
	_, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+h.t.quoted()+` (
		load_id VARCHAR(1024) PRIMARY KEY, table_name VARCHAR(1024) NOT NULL, run_id VARCHAR(256),
		dataset VARCHAR(1024), mode VARCHAR(16), rows BIGINT NOT NULL, loaded_at TIMESTAMP NOT NULL)`)
	return err
}

// claim records the load in the history before anything else is written.
// It reports false, with the recorded row count, when the load id is
// there already: a duplicate running concurrently waits until the first
// commits or rolls back, then sees its row or takes its place.
func (h history) claim(ctx context.Context, tx pgx.Tx, req warehouse.LoadRequest) (bool, int64, error) {
	tag, err := tx.Exec(ctx, `INSERT INTO `+h.t.quoted()+` (load_id, table_name, run_id, dataset, mode, rows, loaded_at)
		VALUES ($1, $2, $3, $4, $5, 0, $6) ON CONFLICT (load_id) DO NOTHING`,
		req.LoadID, req.Table, req.RunID, req.Dataset, req.Mode, time.Now().UTC())
	if err != nil || tag.RowsAffected() == 1 {
		return err == nil, 0, err
	}
	var rows int64
	err = tx.QueryRow(ctx, `SELECT rows FROM `+h.t.quoted()+` WHERE load_id = $1`, req.LoadID).Scan(&rows)
	return false, rows, err
}

// record sets the load's row count.
func (h history) record(ctx context.Context, tx pgx.Tx, loadID string, rows int64) error {
	_, err := tx.Exec(ctx, `UPDATE `+h.t.quoted()+` SET rows = $2, loaded_at = $3 WHERE load_id = $1`, loadID, rows, time.Now().UTC())
	return err
}
