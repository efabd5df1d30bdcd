// Package warehouse defines where curated rows and predictions are loaded:
// DuckDB on the embedded tier; Postgres/Redshift and Snowflake beside it.
package warehouse

import (
	"context"
	"errors"
	"strconv"

	"github.com/fusiondata/fusion/messages"
)

// Warehouse applies datasets to tables exactly once and answers queries.
//
// Rules every implementation keeps:
//   - a load is atomic: every row of every file and the load's history
//     record are committed together, or nothing is;
//   - a load id already in the history is not applied again: Load returns
//     Applied=false and changes nothing, however often it is called;
//   - a missing table is created from the dataset's schema; new nullable
//     columns are added; a column whose type changed is refused;
//   - identifiers are always quoted.
type Warehouse interface {
	// Kind names the warehouse in events: duckdb, postgres, snowflake.
	Kind() string
	Load(ctx context.Context, req LoadRequest) (Result, error)
	// Query runs a read-only statement. It calls fn once with the column
	// names and a nil row (to print a header), then once per row; the row
	// slice is reused between calls.
	Query(ctx context.Context, sql string, fn func(columns []string, row []any) error) error
	Close() error
}

// LoadRequest is one load: a dataset's files applied to a table.
type LoadRequest struct {
	// LoadID identifies the load: <run>/<dataset>/<part>.
	LoadID  string
	RunID   string
	Dataset string
	Table   string   // possibly schema-qualified
	Keys    []string // merge keys
	Mode    string   // append, merge or replace (pipeline.Mode*)
	Files   []string // local Parquet files
	Schema  []messages.Column
}

// Result reports what a load did.
type Result struct {
	Applied bool  // false when the load id had been applied before
	Rows    int64 // rows the load wrote (or wrote the first time)
}

// ErrIncompatible marks a load refused because the data does not fit the
// table: a changed column type, duplicate merge keys. It is permanent.
var ErrIncompatible = errors.New("incompatible with the table")

// LoadID builds the id of a load.
func LoadID(runID, dataset string, part int) string {
	return runID + "/" + dataset + "/" + strconv.Itoa(part)
}
