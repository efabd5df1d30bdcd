package warehouse

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"

	_ "github.com/marcboeker/go-duckdb" // the checker's driver
)

// OpenChecker opens the in-memory DuckDB a remote sink plans and checks
// Parquet files with (PlanFiles, Validate), on one thread: its scans are
// small beside the load, and they run beside the rest of the worker.
// memoryLimit is e.g. "256MB"; "" is DuckDB's default.
func OpenChecker(ctx context.Context, memoryLimit string) (*sql.DB, error) {
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
	return db, nil
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
