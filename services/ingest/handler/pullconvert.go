package handler

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/fusiondata/fusion/services/runtime/engine"
	"github.com/fusiondata/fusion/services/runtime/worker"
)

// pulledToParquet reads the CSV a pull's COPY wrote — a header line,
// Postgres' quoting, NULL as an unquoted empty field and "" as an empty
// string — as the planned column types, and writes the typed Parquet copy.
// DuckDB streams it, so memory stays bounded however large the pull. A
// value that does not fit its declared type, or a NULL in a required
// column, is permanent and names the column.
func pulledToParquet(ctx context.Context, conn *sql.Conn, csvPath string, rows int64, cols []column, out string) error {
	read := fmt.Sprintf(`SELECT * FROM read_csv(%s, header = true, delim = ',', quote = '"', escape = '"', auto_detect = false,
		allow_quoted_nulls = false, max_line_size = %d, columns = %s)`, engine.QuoteString(csvPath), maxValueBytes, columnsStruct(cols))
	if rows == 0 {
		read = emptyTable(cols) // the typed schema, without reading an empty file
	}
	n, err := engine.CopyToParquet(ctx, conn, read, out)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return worker.Permanent(fmt.Errorf("the copied rows do not fit their column types: %v", duckProblem(err).Err))
	}
	if n != rows {
		return fmt.Errorf("postgres copied %d rows, the Parquet copy holds %d", rows, n)
	}
	for _, c := range cols {
		if !c.Required || rows == 0 {
			continue
		}
		var missing int64
		q := fmt.Sprintf("SELECT count(*) FROM %s WHERE %s IS NULL", engine.ReadParquet(out), engine.QuoteIdent(c.Name))
		if err := conn.QueryRowContext(ctx, q).Scan(&missing); err != nil {
			return err
		}
		if missing > 0 {
			return worker.Permanent(fmt.Errorf("column %q: %d rows have no value, and source.schema requires one", c.Name, missing))
		}
	}
	return nil
}

// maxValueBytes bounds one CSV line, so one row: large JSON documents fit.
const maxValueBytes = 64 << 20

// emptyTable selects no rows of the given columns and types.
func emptyTable(cols []column) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = fmt.Sprintf("CAST(NULL AS %s) AS %s", c.Type, engine.QuoteIdent(c.Name))
	}
	return "SELECT " + strings.Join(parts, ", ") + " LIMIT 0"
}
