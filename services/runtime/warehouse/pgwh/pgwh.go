// Package pgwh is the Postgres (and Redshift-typed) warehouse: loads stream
// Parquet rows into the database with binary COPY inside one transaction
// that also records the load in the history table.
//
// The table's columns are planned and the data's values checked in a
// private in-memory DuckDB reading the Parquet files, with the same rules
// as every other sink (warehouse.PlanFiles, warehouse.Validate); Postgres's
// own COPY errors are the fallback and name the row and column too.
package pgwh

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
	_ "github.com/marcboeker/go-duckdb" // registers the duckdb driver

	"github.com/fusiondata/fusion/services/runtime/warehouse"
)

// Warehouse loads into a Postgres database.
type Warehouse struct {
	pool *pgxpool.Pool
	duck *sql.DB // plans and checks the Parquet files
	opts Options
	hist history
	// merge says the server has MERGE (Postgres 15); older servers
	// delete the matching rows and insert.
	merge bool
}

// Options tune the warehouse.
type Options struct {
	// MemoryLimit bounds the in-memory DuckDB that reads the Parquet
	// files, e.g. "512MB"; "" is DuckDB's default.
	MemoryLimit string
	// History names the load-history table, possibly schema-qualified;
	// default _fusion_loads in the connection's current schema. Every
	// warehouse loading into a database must use the same one.
	History string
	Hooks   warehouse.Hooks
}

var _ warehouse.Warehouse = (*Warehouse)(nil)

// History is the default load-history table. It lives in the database, so
// that a load and its record commit in one transaction.
const History = "_fusion_loads"

// Open connects to the database at dsn (postgres://…).
func Open(ctx context.Context, dsn string, opts Options) (*Warehouse, error) {
	if opts.History == "" {
		opts.History = History
	}
	hist, err := splitTable(opts.History)
	if err != nil {
		return nil, fmt.Errorf("postgres warehouse: history %w", err)
	}
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres warehouse: %w", err)
	}
	var version int
	if err := pool.QueryRow(ctx, "SELECT current_setting('server_version_num')::int").Scan(&version); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres warehouse: %w", err)
	}
	duck, err := warehouse.OpenChecker(ctx, opts.MemoryLimit)
	if err != nil {
		pool.Close()
		return nil, err
	}
	return &Warehouse{pool: pool, duck: duck, opts: opts, hist: history{hist}, merge: version >= 150000}, nil
}

func (w *Warehouse) Kind() string { return "postgres" }

// Close closes the connections.
func (w *Warehouse) Close() error {
	w.pool.Close()
	return w.duck.Close()
}
