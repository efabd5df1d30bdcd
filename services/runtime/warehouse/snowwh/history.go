package snowwh

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/fusiondata/fusion/services/runtime/warehouse"
)

// History is the load-history table, in the DSN's schema; it lives in the
// database, so that a load and its record commit in one transaction.
const History = "_fusion_loads"

// querier is a *sql.Conn or *sql.Tx.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (w *Warehouse) history() tableName { return w.in(fold(History)) }

// makeHistory creates the history table once per Warehouse. LOAD_ID is
// declared the primary key for readers; Snowflake does not enforce it (see
// apply for what does).
func (w *Warehouse) makeHistory(ctx context.Context, conn *sql.Conn) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.historyMade {
		return nil
	}
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+w.history().String()+` (
		"LOAD_ID" VARCHAR NOT NULL PRIMARY KEY, "TABLE_NAME" VARCHAR NOT NULL, "RUN_ID" VARCHAR, "DATASET" VARCHAR,
		"MODE" VARCHAR, "ROWS" NUMBER(38,0) NOT NULL, "LOADED_AT" TIMESTAMP_NTZ NOT NULL)`); err != nil {
		return fmt.Errorf("history %s: %w", w.history(), err)
	}
	w.historyMade = true
	return nil
}

// recorded returns the rows of the load in the history, if it is there.
func (w *Warehouse) recorded(ctx context.Context, q querier, loadID string) (int64, bool, error) {
	var rows int64
	err := q.QueryRowContext(ctx, `SELECT "ROWS" FROM `+w.history().String()+` WHERE "LOAD_ID" = ?`, loadID).Scan(&rows)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 0, false, nil
	case err != nil:
		return 0, false, fmt.Errorf("history %s: %w", w.history(), err)
	}
	return rows, true, nil
}

// lockHistory takes the history table's lock for the rest of the
// transaction. Snowflake's UPDATE, DELETE and MERGE hold a table's lock
// until the transaction ends and keep others from running beside them; the
// UPDATE changes nothing (a recorded load's row stays as it is).
func (w *Warehouse) lockHistory(ctx context.Context, tx *sql.Tx, loadID string) error {
	if _, err := tx.ExecContext(ctx, `UPDATE `+w.history().String()+` SET "LOAD_ID" = "LOAD_ID" WHERE "LOAD_ID" = ?`, loadID); err != nil {
		return fmt.Errorf("lock history %s: %w", w.history(), err)
	}
	return nil
}

// record adds the load to the history.
func (w *Warehouse) record(ctx context.Context, tx *sql.Tx, req warehouse.LoadRequest, rows int64) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO `+w.history().String()+`
		("LOAD_ID", "TABLE_NAME", "RUN_ID", "DATASET", "MODE", "ROWS", "LOADED_AT") VALUES (?, ?, ?, ?, ?, ?, SYSDATE())`,
		req.LoadID, req.Table, req.RunID, req.Dataset, req.Mode, rows)
	if err != nil {
		return fmt.Errorf("history %s: %w", w.history(), err)
	}
	return nil
}
