package pgwh

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/engine"
)

// tableName is a table split into its schema ("" for the connection's
// current one) and name, unquoted.
type tableName struct{ schema, name string }

// splitTable splits a possibly schema-qualified name as
// engine.QuoteQualified does.
func splitTable(table string) (tableName, error) {
	parts := strings.Split(table, ".")
	switch len(parts) {
	case 1:
		return tableName{name: parts[0]}, nil
	case 2:
		return tableName{schema: parts[0], name: parts[1]}, nil
	}
	return tableName{}, fmt.Errorf("table %q: want table or schema.table", table)
}

// quoted spells the table for SQL.
func (t tableName) quoted() string {
	if t.schema == "" {
		return engine.QuoteIdent(t.name)
	}
	return engine.QuoteIdent(t.schema) + "." + engine.QuoteIdent(t.name)
}

// columns reads the table's columns, in DuckDB's type vocabulary; none
// when the table does not exist.
func columns(ctx context.Context, tx pgx.Tx, t tableName) ([]messages.Column, error) {
	rows, err := tx.Query(ctx, `SELECT column_name, data_type, character_maximum_length, numeric_precision, numeric_scale
		FROM information_schema.columns
		WHERE table_schema = coalesce(nullif($1, ''), current_schema()) AND table_name = $2
		ORDER BY ordinal_position`, t.schema, t.name)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var cols []messages.Column
	for rows.Next() {
		var name, typ string
		var length, precision, scale *int32
		if err := rows.Scan(&name, &typ, &length, &precision, &scale); err != nil {
			return nil, err
		}
		cols = append(cols, messages.Column{Name: name, Type: duckType(typ, length, precision, scale)})
	}
	return cols, rows.Err()
}

// unboundedText is the length from which a VARCHAR(n) counts as unbounded:
// tables this sink creates use VARCHAR(65535), Redshift's longest.
const unboundedText = 65535

// duckType translates an information_schema data type to DuckDB's
// spelling. Types with no DuckDB counterpart keep their upper-cased name,
// which no data type equals: loading into them is refused.
func duckType(dataType string, length, precision, scale *int32) string {
	switch dataType {
	case "smallint":
		return "SMALLINT"
	case "integer":
		return "INTEGER"
	case "bigint":
		return "BIGINT"
	case "numeric":
		if precision == nil {
			// Unconstrained numeric takes any number without rounding
			// the integer part; DOUBLE is the type every number fits.
			return "DOUBLE"
		}
		s := int32(0)
		if scale != nil {
			s = *scale
		}
		return fmt.Sprintf("DECIMAL(%d,%d)", *precision, s)
	case "real":
		return "FLOAT"
	case "double precision":
		return "DOUBLE"
	case "boolean":
		return "BOOLEAN"
	case "character varying", "character":
		if length == nil || *length >= unboundedText {
			return "VARCHAR"
		}
		return fmt.Sprintf("VARCHAR(%d)", *length)
	case "text":
		return "VARCHAR"
	case "date":
		return "DATE"
	case "timestamp without time zone":
		return "TIMESTAMP"
	case "timestamp with time zone":
		return "TIMESTAMP WITH TIME ZONE"
	case "time without time zone":
		return "TIME"
	case "bytea":
		return "BLOB"
	}
	return strings.ToUpper(dataType)
}
