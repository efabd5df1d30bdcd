package warehouse

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"

	_ "github.com/marcboeker/go-duckdb" // the checker's driver
)

// Checker is the in-memory DuckDB a sink plans and checks a load's
// Parquet files with (PlanFiles, Validate, CheckUniqueKeys).
type Checker struct {
	DB  *sql.DB
	own bool // opened here, so closed here
}

// OpenChecker returns shared as the checker when it is set: the process's
// engine, so that the checks count against the engine's memory limit
// instead of a budget of their own. Without it, it opens a private
// in-memory DuckDB on one thread (its scans are small beside the load and
// run beside the rest of the worker) within memoryLimit, e.g. "256MB"; ""
// is DuckDB's default.
func OpenChecker(ctx context.Context, shared *sql.DB, memoryLimit string) (*Checker, error) {
	if shared != nil {
		return &Checker{DB: shared}, nil
	}
	q := url.Values{"threads": {"1"}}
	if memoryLimit != "" {
		q.Set("memory_limit", memoryLimit)
	}
	db, err := sql.Open("duckdb", "?"+q.Encode())
	if err == nil {
		err = db.PingContext(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("duckdb: %w", err)
	}
	return &Checker{DB: db, own: true}, nil
}

// Close closes a private checker; a shared one stays open.
func (c *Checker) Close() error {
	if c == nil || !c.own {
		return nil
	}
	return c.DB.Close()
}

// ScanRows feeds a database/sql result to a Query callback: fn gets the
// column names with a nil row, then each row (the slice is reused).
func ScanRows(rows *sql.Rows, fn func(columns []string, row []any) error) error {
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	if err := fn(cols, nil); err != nil {
		return err
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		if err := fn(cols, vals); err != nil {
			return err
		}
	}
	return rows.Err()
}
