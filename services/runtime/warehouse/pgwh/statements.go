package pgwh

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/fusiondata/fusion/services/runtime/warehouse"
)

var (
	_ warehouse.Executor = (*Warehouse)(nil)
	_ warehouse.Tables   = (*Warehouse)(nil)
)

// Exec runs one statement in a transaction.
func (w *Warehouse) Exec(ctx context.Context, statement string) (int64, error) {
	tx, err := w.pool.Begin(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	tag, err := tx.Exec(ctx, statement, pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), tx.Commit(ctx)
}

// TableExists looks the table or view up in the catalog: an unqualified
// name in the connection's current schema, as loads create it.
func (w *Warehouse) TableExists(ctx context.Context, table string) (bool, error) {
	t, err := splitTable(table)
	if err != nil {
		return false, err
	}
	var exists bool
	err = w.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM information_schema.tables
		WHERE table_schema = coalesce(nullif($1, ''), current_schema()) AND table_name = $2)`, t.schema, t.name).Scan(&exists)
	return exists, err
}

// HasRows reads, in a read-only transaction, whether a row of the table
// matches where.
func (w *Warehouse) HasRows(ctx context.Context, table, where string) (bool, error) {
	t, err := splitTable(table)
	if err != nil {
		return false, err
	}
	tx, err := w.pool.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return false, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	var one int
	err = tx.QueryRow(ctx, warehouse.ExistsQuery(t.quoted(), where)).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}
