package duckwh

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"os"
	"strings"

	"github.com/fusiondata/fusion/services/runtime/engine"
	"github.com/fusiondata/fusion/services/runtime/warehouse"
)

var (
	_ warehouse.Executor = (*Warehouse)(nil)
	_ warehouse.Tables   = (*Warehouse)(nil)
)

// Exec runs one statement in a transaction, as the process's one writer.
func (w *Warehouse) Exec(ctx context.Context, statement string) (int64, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	db, err := w.open(ctx, false)
	if err != nil {
		return 0, err
	}
	defer db.Close() // checkpoints
	return warehouse.ExecSQL(ctx, db, statement)
}

// TableExists looks the table or view up in the catalog (main schema
// when unqualified); DuckDB's names are case-insensitive.
func (w *Warehouse) TableExists(ctx context.Context, table string) (bool, error) {
	schema, name := "main", table
	if i := strings.IndexByte(table, '.'); i >= 0 {
		schema, name = table[:i], table[i+1:]
	}
	var n int
	err := w.read(ctx, func(db *sql.DB) error {
		return db.QueryRowContext(ctx, `SELECT count(*) FROM information_schema.tables
			WHERE lower(table_schema) = lower(?) AND lower(table_name) = lower(?)`, schema, name).Scan(&n)
	})
	return n > 0, err
}

// HasRows reads whether a row of the table matches where.
func (w *Warehouse) HasRows(ctx context.Context, table, where string) (bool, error) {
	var found bool
	err := w.read(ctx, func(db *sql.DB) (err error) {
		found, err = warehouse.HasRowsSQL(ctx, db, engine.QuoteQualified(table), where)
		return err
	})
	return found, err
}

// read opens the file read-only for fn; an empty database when nothing
// was loaded yet (the file does not exist). Reads in this process wait
// for its load or statement, if one is running (filelock.go).
func (w *Warehouse) read(ctx context.Context, fn func(*sql.DB) error) error {
	w.mu.RLock()
	defer w.mu.RUnlock()
	var db *sql.DB
	var err error
	if _, serr := os.Stat(w.path); errors.Is(serr, fs.ErrNotExist) {
		db, err = sql.Open("duckdb", "")
	} else {
		db, err = w.open(ctx, true)
	}
	if err != nil {
		return err
	}
	defer db.Close()
	return fn(db)
}
