package warehouse

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/fusiondata/fusion/services/runtime/engine"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
)

// RowError is a load refused because of one value: it names the file, the
// row and the column. It wraps ErrIncompatible.
type RowError struct {
	File   int   // index into LoadRequest.Files
	Row    int64 // 1-based within the file
	Column string
	Value  string
	Reason string
}

func (e *RowError) Error() string {
	return fmt.Sprintf("row %d, column %s: %s", e.Row, e.Column, e.Reason)
}

func (e *RowError) Unwrap() error { return ErrIncompatible }

// Validate runs the checks a load needs before anything is written: values
// the plan says may not fit, and for a merge NULL or repeated keys. q is a
// DuckDB connection.
func Validate(ctx context.Context, q engine.Querier, req LoadRequest, plan Plan) error {
	var keys []string
	if req.Mode == pipeline.ModeMerge {
		keys = req.Keys
	}
	if err := CheckValues(ctx, q, req.Files, plan.Checks, keys); err != nil {
		return err
	}
	return CheckUniqueKeys(ctx, q, req.Files, keys)
}

// CheckValues finds the first value in the Parquet files that the load
// cannot take: a value that does not fit its column's type (checks) or a
// NULL merge key (keys). It returns a *RowError for it, or nil. q is a
// DuckDB connection; the scan reads only the named columns and is skipped
// when there is nothing to check.
func CheckValues(ctx context.Context, q engine.Querier, files []string, checks []Check, keys []string) error {
	type cond struct{ column, sql, reason string }
	var conds []cond
	for _, c := range checks {
		col := engine.QuoteIdent(c.Column)
		var bad string
		if c.Type.Family == FamilyText {
			bad = fmt.Sprintf("length(CAST(%s AS VARCHAR)) > %d", col, c.Type.Length)
		} else {
			bad = fmt.Sprintf("%s IS NOT NULL AND TRY_CAST(%s AS %s) IS NULL", col, col, c.Type)
		}
		conds = append(conds, cond{c.Column, bad, "value %s does not fit " + c.Type.String()})
	}
	for _, k := range keys {
		conds = append(conds, cond{k, engine.QuoteIdent(k) + " IS NULL", "merge key is NULL"})
	}
	if len(conds) == 0 {
		return nil
	}
	var which, value, any []string
	for i, c := range conds {
		which = append(which, fmt.Sprintf("WHEN %s THEN %d", c.sql, i))
		value = append(value, fmt.Sprintf("WHEN %s THEN CAST(%s AS VARCHAR)", c.sql, engine.QuoteIdent(c.column)))
		any = append(any, "("+c.sql+")")
	}
	for i, f := range files {
		query := fmt.Sprintf(`SELECT file_row_number + 1, CASE %s END, CASE %s END
			FROM read_parquet(%s, file_row_number = true) WHERE %s ORDER BY file_row_number LIMIT 1`,
			strings.Join(which, " "), strings.Join(value, " "), engine.QuoteString(f), strings.Join(any, " OR "))
		rows, err := q.QueryContext(ctx, query)
		if err != nil {
			return fmt.Errorf("check values of %s: %w", f, err)
		}
		var row int64
		var idx int
		var v sql.NullString
		found := rows.Next()
		if found {
			err = rows.Scan(&row, &idx, &v)
		}
		if err == nil {
			err = rows.Err()
		}
		rows.Close()
		if err != nil {
			return err
		}
		if found {
			c := conds[idx]
			reason := c.reason
			if strings.Contains(reason, "%s") {
				reason = fmt.Sprintf(reason, truncate(v.String, 40))
			}
			return &RowError{File: i, Row: row, Column: c.column, Value: v.String, Reason: reason}
		}
	}
	return nil
}

// CheckUniqueKeys refuses a merge whose data repeats a key: which of the
// repeated rows should win is not the loader's to guess.
func CheckUniqueKeys(ctx context.Context, q engine.Querier, files []string, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	query := fmt.Sprintf("SELECT %s, count(*) AS n FROM %s GROUP BY ALL HAVING count(*) > 1 LIMIT 1",
		engine.QuoteIdents(keys), engine.ReadParquet(files...))
	rows, err := q.QueryContext(ctx, query)
	if err != nil {
		return err
	}
	defer rows.Close()
	if !rows.Next() {
		return rows.Err()
	}
	vals := make([]any, len(keys)+1)
	ptrs := make([]any, len(vals))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return err
	}
	var parts []string
	for i, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%v", k, vals[i]))
	}
	return fmt.Errorf("%w: merge key (%s) appears %v times in the data", ErrIncompatible, strings.Join(parts, ", "), vals[len(keys)])
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
