package snowwh

import (
	"context"

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
	return warehouse.ExecSQL(ctx, w.db, statement)
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
	return warehouse.HasRowsSQL(ctx, w.db, t.String(), where)
}
