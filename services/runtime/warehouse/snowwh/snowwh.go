// Package snowwh is the Snowflake warehouse: a load stages the Parquet
// files into a staging table of its own (PUT and COPY, or array binding for
// small loads), then, in one transaction, moves the rows into the table and
// records the load in the history table.
//
// The table's columns are planned and the data's values checked in a
// private in-memory DuckDB reading the Parquet files, with the same rules
// as every other sink (warehouse.PlanFiles, warehouse.Validate), before
// anything is written.
package snowwh

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"

	_ "github.com/marcboeker/go-duckdb"    // registers the duckdb driver
	_ "github.com/snowflakedb/gosnowflake" // registers the snowflake driver

	"github.com/fusiondata/fusion/services/runtime/warehouse"
)

// Warehouse loads into a Snowflake database.
type Warehouse struct {
	db   *sql.DB
	duck *sql.DB // plans and checks the Parquet files
	opts Options
	// home is the DSN's database and schema: the history table and the
	// staging tables live there, and unqualified tables go there.
	home schemaName

	mu          sync.Mutex
	historyMade bool

	// staged, when set, is told how each load was staged (tests).
	staged func(method string)
}

// Options tune the warehouse.
type Options struct {
	// MemoryLimit bounds the in-memory DuckDB that reads the Parquet
	// files, e.g. "512MB"; "" is DuckDB's default.
	MemoryLimit string
	Hooks       warehouse.Hooks
	// ArrayBindRows: loads of up to this many rows are sent as bound
	// arrays of an INSERT, saving the PUT and COPY round trips; larger
	// loads are PUT to a stage and copied. 0 means 1000; negative means
	// always PUT.
	ArrayBindRows int
}

// DefaultArrayBindRows is the ArrayBindRows used when none is set.
const DefaultArrayBindRows = 1000

var _ warehouse.Warehouse = (*Warehouse)(nil)

// Open connects to the Snowflake database at dsn, a gosnowflake DSN
// (user:password@account/DATABASE/SCHEMA?warehouse=…&role=…). The DSN
// must name a database and schema: the history table lives there.
func Open(ctx context.Context, dsn string, opts Options) (*Warehouse, error) {
	if opts.ArrayBindRows == 0 {
		opts.ArrayBindRows = DefaultArrayBindRows
	}
	db, err := sql.Open("snowflake", dsn)
	if err != nil {
		return nil, fmt.Errorf("snowflake warehouse: %w", err)
	}
	var database, schema sql.NullString
	if err := db.QueryRowContext(ctx, "SELECT CURRENT_DATABASE(), CURRENT_SCHEMA()").Scan(&database, &schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("snowflake warehouse: %w", err)
	}
	if database.String == "" || schema.String == "" {
		db.Close()
		return nil, errors.New("snowflake warehouse: the DSN must name a database and a schema (user:password@account/DATABASE/SCHEMA)")
	}
	duck, err := warehouse.OpenChecker(ctx, opts.MemoryLimit)
	if err != nil {
		db.Close()
		return nil, err
	}
	return &Warehouse{db: db, duck: duck, opts: opts, home: schemaName{database.String, schema.String}}, nil
}

func (w *Warehouse) Kind() string { return "snowflake" }

// Close closes the connections.
func (w *Warehouse) Close() error {
	return errors.Join(w.db.Close(), w.duck.Close())
}

// Query runs a statement in Snowflake. Unqualified names resolve in the
// DSN's schema.
func (w *Warehouse) Query(ctx context.Context, query string, fn func([]string, []any) error) error {
	rows, err := w.db.QueryContext(ctx, query)
	if err != nil {
		return err
	}
	return warehouse.ScanRows(rows, fn)
}
