package warehouse

import (
	"context"
	"database/sql"
	"errors"
)

// ExecSQL runs one statement in a transaction of its own on a
// database/sql database and returns the rows it changed (Executor's rules).
func ExecSQL(ctx context.Context, db *sql.DB, statement string) (int64, error) {
	tx, err := db.BeginTx(ctx, nil)
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

// HasRowsSQL reads whether a row of table (quoted as the sink quotes it)
// matches where, on a database/sql database (Tables' rules).
func HasRowsSQL(ctx context.Context, db *sql.DB, table, where string) (bool, error) {
	var one int
	err := db.QueryRowContext(ctx, ExistsQuery(table, where)).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}
