package snowwh

import (
	"context"
	"database/sql"
	"errors"

	"github.com/fusiondata/fusion/services/runtime/engine"
	"github.com/fusiondata/fusion/services/runtime/warehouse"
)

var (
	_ warehouse.Executor = (*Warehouse)(nil)
	_ warehouse.Tables   = (*Warehouse)(nil)
)

// Exec runs one statement in a transaction. Unqualified names resolve in
// the DSN's schema.
func (w *Warehouse) Exec(ctx context.Context, statement string) (int64, error) {
	tx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, statement)
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	return n, tx.Commit()
}

// TableExists looks the table or view up in its database's
// information_schema, with the name folded as loads fold it.
func (w *Warehouse) TableExists(ctx context.Context, table string) (bool, error) {
	t, err := w.table(table)
	if err != nil {
		return false, err
	}
	var n int
	err = w.db.QueryRowContext(ctx, "SELECT count(*) FROM "+engine.QuoteIdent(t.Database)+`.information_schema.tables
		WHERE table_schema = ? AND table_name = ?`, t.Schema, t.Name).Scan(&n)
	return n > 0, err
}

// HasRows reads whether a row of the table matches where.
func (w *Warehouse) HasRows(ctx context.Context, table, where string) (bool, error) {
	t, err := w.table(table)
	if err != nil {
		return false, err
	}
	var one int
	err = w.db.QueryRowContext(ctx, warehouse.ExistsQuery(t.String(), where)).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}
