package handler

import (
	"fmt"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/ingest/pgsource"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
	"github.com/fusiondata/fusion/services/runtime/worker"
)

// pullPlan is what a pull copies: the columns with the DuckDB types they
// become, and the bookmark column (nil: the whole table).
type pullPlan struct {
	cols     []column
	bookmark *pgsource.Column
}

// names lists the planned columns.
func (pp pullPlan) names() []string {
	n := make([]string, len(pp.cols))
	for i, c := range pp.cols {
		n[i] = c.Name
	}
	return n
}

// schema is the dataset's schema.
func (pp pullPlan) schema() []messages.Column {
	s := make([]messages.Column, len(pp.cols))
	for i, c := range pp.cols {
		s[i] = messages.Column{Name: c.Name, Type: c.Type}
	}
	return s
}

// planPull matches a pipeline's Postgres source against the table's
// columns. A declared source.schema selects the columns and the types they
// are read as (so a column of a type without a mapping can still be
// copied, as VARCHAR say); otherwise source.postgres.columns, or every
// column, is copied with its mapped type. Every mismatch is permanent and
// names the field and the column.
func planPull(p *pipeline.Pipeline, have []pgsource.Column) (pullPlan, error) {
	src := p.Source.Postgres
	var plan pullPlan
	missing := func(field, name string) error {
		return worker.Permanent(fmt.Errorf("%s: %w: %q (the table has %s)", field, pgsource.ErrNoColumn, name, pgsource.Names(have)))
	}
	add := func(field string, c pgsource.Column) error {
		t, err := pgsource.DuckType(c)
		if err != nil {
			return fmt.Errorf("%s: %w", field, err)
		}
		plan.cols = append(plan.cols, column{Name: c.Name, Type: t})
		return nil
	}
	switch {
	case len(p.Source.Schema) > 0:
		for i, d := range p.Source.Schema {
			if _, ok := pgsource.Find(have, d.Name); !ok {
				return pullPlan{}, missing(fmt.Sprintf("source.schema[%d].name", i), d.Name)
			}
			plan.cols = append(plan.cols, column{Name: d.Name, Type: d.Type, Required: d.Required})
		}
	case len(src.Columns) > 0:
		for i, name := range src.ColumnNames() {
			field := fmt.Sprintf("source.postgres.columns[%d]", i)
			c, ok := pgsource.Find(have, name)
			if !ok {
				return pullPlan{}, missing(field, name)
			}
			if err := add(field, c); err != nil {
				return pullPlan{}, err
			}
		}
	default:
		for _, c := range have {
			if err := add("source.postgres.table", c); err != nil {
				return pullPlan{}, err
			}
		}
	}
	if name := src.BookmarkColumn(); name != "" {
		c, ok := pgsource.Find(have, name)
		if !ok {
			return pullPlan{}, missing("source.postgres.bookmark", name)
		}
		if !pgsource.CanBookmark(c) {
			return pullPlan{}, worker.Permanent(fmt.Errorf("source.postgres.bookmark: %w: column %q is %s; a bookmark must be an integer, numeric, date or timestamp column",
				pgsource.ErrBookmarkType, name, c.Type))
		}
		plan.bookmark = &c
	}
	return plan, nil
}
