// Package warehouse defines where curated rows and predictions are loaded:
// DuckDB on the embedded tier; Postgres/Redshift and Snowflake beside it.
package warehouse

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
)

// Warehouse applies datasets to tables exactly once and answers queries.
//
// Rules every implementation keeps:
//   - a load is atomic: every row of every file and the load's history
//     record are committed together, or nothing is;
//   - a load id already in the history is not applied again: Load returns
//     Applied=false and changes nothing, however often it is called;
//   - a crash at any point leaves either the whole load or nothing;
//   - a missing table is created from the dataset's schema; new nullable
//     columns are added; a column whose type changed is refused
//     (ErrIncompatible); a value that does not fit its column fails the
//     whole load with a *RowError naming the file, row and column;
//   - a merge replaces the table's rows whose keys the data has; its data
//     must not repeat a key nor leave one NULL;
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
	// Layer, when set, makes the load one layer of a Lambda pipeline's
	// serving view, with the rules of layers.go; a sink that does not
	// serve layers refuses it (ErrNoLayers).
	Layer *Layer
}

// Check refuses a request no sink can apply.
func (r LoadRequest) Check() error {
	switch {
	case len(r.Files) == 0:
		return fmt.Errorf("load %s: no files", r.LoadID)
	case r.Mode == pipeline.ModeMerge && len(r.Keys) == 0:
		return fmt.Errorf("load %s: merge into %s needs key columns", r.LoadID, r.Table)
	case r.Mode != pipeline.ModeMerge && r.Mode != pipeline.ModeAppend && r.Mode != pipeline.ModeReplace:
		return fmt.Errorf("load %s: unknown mode %q", r.LoadID, r.Mode)
	}
	return nil
}

// Hooks are seams inside a load, for tests that crash or fail a load at a
// given point.
type Hooks struct {
	// AfterStage runs when the rows are staged and before they are merged
	// into the table; an error aborts the load.
	AfterStage func(loadID string) error
}

// RunAfterStage runs the AfterStage hook, if any.
func (h Hooks) RunAfterStage(loadID string) error {
	if h.AfterStage == nil {
		return nil
	}
	return h.AfterStage(loadID)
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
