package snowwh

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/snowflakedb/gosnowflake"

	"github.com/fusiondata/fusion/services/runtime/engine"
	"github.com/fusiondata/fusion/services/runtime/warehouse"
)

// bind inserts the files' rows into the staging table with one INSERT whose
// parameters are arrays, a column each (gosnowflake.Array; plain slices are
// not sent as arrays). Snowflake runs it once per row; above
// CLIENT_STAGE_ARRAY_BINDING_THRESHOLD values gosnowflake uploads the
// arrays to a stage itself.
//
// Every value travels as text, which Snowflake converts to the column's
// type on insert: DuckDB spells each value (asText), and text is the one
// bind type that can carry NULLs through fakesnow too. Binary values travel
// as hex and are decoded explicitly (TO_BINARY), whatever the session's
// BINARY_INPUT_FORMAT. A column with no value at all is inserted as a NULL
// literal, since an array of only NULLs has no type to send. When that
// leaves nothing to bind, bind returns viaPut without inserting.
func (w *Warehouse) bind(ctx context.Context, conn *sql.Conn, files []string, cols []column, table tableName) (string, error) {
	exprs := make([]string, len(cols))
	for i, c := range cols {
		exprs[i] = asText(c)
	}
	rows, err := w.duck.QueryContext(ctx, "SELECT "+strings.Join(exprs, ", ")+" FROM "+engine.ReadParquet(files...))
	if err != nil {
		return "", err
	}
	defer rows.Close()
	values := make([][]any, len(cols))
	some := make([]bool, len(cols)) // the column has a value
	scanned := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range scanned {
		ptrs[i] = &scanned[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return "", err
		}
		for i, v := range scanned {
			if v.Valid {
				values[i] = append(values[i], v.String)
				some[i] = true
			} else {
				values[i] = append(values[i], nil)
			}
		}
	}
	if err := rows.Err(); err != nil {
		return "", err
	}
	targets := make([]string, len(cols))
	params := make([]string, len(cols))
	var args []any
	for i, c := range cols {
		targets[i] = engine.QuoteIdent(c.Target)
		switch {
		case !some[i]:
			params[i] = "NULL"
		case warehouse.ParseType(c.Duck).Family == warehouse.FamilyBinary:
			params[i] = "TO_BINARY(?, 'HEX')"
		default:
			params[i] = "?"
		}
		if some[i] {
			args = append(args, gosnowflake.Array(&values[i]))
		}
	}
	if len(args) == 0 {
		return viaPut, nil
	}
	insert := fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s)", table, strings.Join(targets, ", "), strings.Join(params, ", "))
	if _, err := conn.ExecContext(ctx, insert, args...); err != nil {
		return "", err
	}
	return viaBind, nil
}

// asText is the DuckDB expression spelling a column's values as text
// Snowflake converts back: timestamps with a time zone as UTC with an
// explicit offset, binary as hex, the rest as DuckDB casts them (numbers
// in full, floats in their shortest exact form, ISO dates and times).
func asText(c column) string {
	col := engine.QuoteIdent(c.Name)
	switch warehouse.ParseType(c.Duck).Family {
	case warehouse.FamilyBinary:
		return "hex(" + col + ")"
	case warehouse.FamilyTimestampTZ:
		// epoch_us reads the instant, whatever DuckDB's TimeZone.
		return "CAST(make_timestamp(epoch_us(" + col + ")) AS VARCHAR) || '+00:00'"
	}
	return "CAST(" + col + " AS VARCHAR)"
}
