package warehouse

import (
	"context"
	"fmt"
	"strings"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/engine"
)

// Plan is how a load's data meets the table it goes into.
type Plan struct {
	// Create says the table does not exist yet: create it from the data.
	Create bool
	// Add are the data's columns the table lacks: added, nullable.
	Add []messages.Column
	// Checks are the columns whose values may not fit the table's type.
	Checks []Check
	// Columns are the data's (set by PlanFiles).
	Columns []messages.Column
}

// Check is a column whose every value is checked against the table's type.
type Check struct {
	Column string
	Type   Type // the table's
}

// PlanFiles plans a load of req's Parquet files, whose schema DuckDB (q)
// reads from their footers, into a table with the existing columns.
func PlanFiles(ctx context.Context, q engine.Querier, req LoadRequest, existing []messages.Column) (Plan, error) {
	if err := req.Check(); err != nil {
		return Plan{}, err
	}
	cols, err := engine.Describe(ctx, q, "SELECT * FROM "+engine.ReadParquet(req.Files...))
	if err != nil {
		return Plan{}, fmt.Errorf("load %s: %w", req.LoadID, err)
	}
	incoming := make([]messages.Column, len(cols))
	for i, c := range cols {
		incoming[i] = messages.Column{Name: c.Name, Type: c.Type}
	}
	plan, err := PlanLoad(req.Table, existing, incoming)
	plan.Columns = incoming
	return plan, err
}

// PlanLoad compares the data's columns with the table's (nil when the table
// does not exist). Both are in DuckDB's type vocabulary. Columns the data
// lacks stay NULL; columns whose type cannot hold the data make the load
// ErrIncompatible, naming each.
func PlanLoad(table string, existing, incoming []messages.Column) (Plan, error) {
	if len(existing) == 0 {
		return Plan{Create: true}, nil
	}
	have := make(map[string]string, len(existing))
	for _, c := range existing {
		have[c.Name] = c.Type
	}
	var p Plan
	var problems []string
	for _, c := range incoming {
		t, ok := have[c.Name]
		if !ok {
			p.Add = append(p.Add, c)
			continue
		}
		to := ParseType(t)
		switch FitOf(ParseType(c.Type), to) {
		case Narrows:
			p.Checks = append(p.Checks, Check{Column: c.Name, Type: to})
		case Refused:
			problems = append(problems, fmt.Sprintf("column %s is %s in %s but %s in the data", c.Name, to, table, c.Type))
		}
	}
	if len(problems) > 0 {
		return Plan{}, fmt.Errorf("%w: %s", ErrIncompatible, strings.Join(problems, "; "))
	}
	return p, nil
}
