package snowwh

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/engine"
	"github.com/fusiondata/fusion/services/runtime/warehouse"
)

// column is one of the data's columns as a load writes it.
type column struct {
	Name   string // in the Parquet files
	Target string // in the table, as stored (fold)
	Duck   string // the data's type, in DuckDB's vocabulary
	Type   string // the table column's Snowflake type
}

// prepare makes the table ready for the data and checks the data's values,
// all before the load's transaction: Snowflake commits DDL on its own, so a
// created table or added column stays when the load then fails (as it
// would have been made by the retry anyway).
func (w *Warehouse) prepare(ctx context.Context, conn *sql.Conn, req warehouse.LoadRequest, t tableName) ([]column, error) {
	existing, err := readColumns(ctx, conn, t)
	if err != nil {
		return nil, err
	}
	plan, cols, err := w.plan(ctx, req, existing)
	if err != nil {
		return nil, err
	}
	if plan.Create || len(plan.Add) > 0 {
		if plan.Create {
			err = w.createTable(ctx, conn, t, cols)
		} else {
			err = addColumns(ctx, conn, t, added(cols, plan.Add))
		}
		if err != nil {
			return nil, err
		}
		// Another load may have created or changed the table since it was
		// read (IF NOT EXISTS then did nothing): plan again against the
		// table as it is now, so a type it chose differently is refused
		// rather than converted.
		if existing, err = readColumns(ctx, conn, t); err != nil {
			return nil, err
		}
		if plan, cols, err = w.plan(ctx, req, existing); err != nil {
			return nil, err
		}
		if plan.Create || len(plan.Add) > 0 {
			return nil, fmt.Errorf("load %s: table %s changed while the load prepared it", req.LoadID, t)
		}
	}
	if err := warehouse.Validate(ctx, w.duck, req, plan); err != nil {
		return nil, err
	}
	return cols, nil
}

// plan compares the data's columns with the table's (existing, as
// stored), matching each data column to the table column of its folded
// name. It is warehouse.PlanFiles with that matching: the data's names are
// needed before the comparison.
func (w *Warehouse) plan(ctx context.Context, req warehouse.LoadRequest, existing []messages.Column) (warehouse.Plan, []column, error) {
	described, err := engine.Describe(ctx, w.duck, "SELECT * FROM "+engine.ReadParquet(req.Files...))
	if err != nil {
		return warehouse.Plan{}, nil, fmt.Errorf("load %s: %w", req.LoadID, err)
	}
	data := make([]messages.Column, len(described))
	seen := map[string]string{}
	for i, c := range described {
		// COPY matches Parquet columns to the staging table's ignoring case.
		if other, ok := seen[strings.ToUpper(c.Name)]; ok {
			return warehouse.Plan{}, nil, fmt.Errorf("%w: columns %s and %s differ only in case", warehouse.ErrIncompatible, other, c.Name)
		}
		seen[strings.ToUpper(c.Name)] = c.Name
		data[i] = messages.Column{Name: c.Name, Type: c.Type}
	}
	stored := make(map[string]string, len(existing))
	for _, c := range existing {
		stored[c.Name] = c.Type
	}
	var matched []messages.Column // the table's columns, by the data's names
	for _, c := range data {
		if typ, ok := stored[fold(c.Name)]; ok {
			matched = append(matched, messages.Column{Name: c.Name, Type: typ})
		}
	}
	plan, err := warehouse.PlanLoad(req.Table, matched, data)
	if err != nil {
		return plan, nil, err
	}
	plan.Columns = data
	if plan.Create && len(existing) > 0 {
		plan = warehouse.Plan{Add: data, Columns: data} // the table has none of the data's columns
	}
	cols := make([]column, len(data))
	for i, c := range data {
		col := column{Name: c.Name, Target: fold(c.Name), Duck: c.Type}
		typ, ok := stored[col.Target]
		if !ok {
			typ = c.Type
		}
		if col.Type, ok = snowflakeType(typ); !ok {
			return plan, nil, fmt.Errorf("%w: column %s is %s, which Snowflake has no type for", warehouse.ErrIncompatible, c.Name, typ)
		}
		cols[i] = col
	}
	return plan, cols, nil
}

// added are the columns of cols that the plan adds.
func added(cols []column, add []messages.Column) []column {
	var out []column
	for _, a := range add {
		for _, c := range cols {
			if c.Name == a.Name {
				out = append(out, c)
			}
		}
	}
	return out
}
