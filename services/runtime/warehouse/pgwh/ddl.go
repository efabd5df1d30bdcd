package pgwh

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/engine"
	"github.com/fusiondata/fusion/services/runtime/warehouse"
)

// pgType spells a DuckDB type as a column type Postgres and Redshift both
// have. Unsigned and huge integers widen (UBIGINT and HUGEINT to
// NUMERIC(38,0)); strings become VARCHAR(65535), Redshift's longest, which
// reads back as plain VARCHAR. Nested and other types with no counterpart
// are refused with ErrIncompatible.
func pgType(column, duckType string) (string, error) {
	t := warehouse.ParseType(duckType)
	switch t.Name {
	case "BOOLEAN":
		return "BOOLEAN", nil
	case "TINYINT", "UTINYINT", "SMALLINT":
		return "SMALLINT", nil
	case "USMALLINT", "INTEGER":
		return "INTEGER", nil
	case "UINTEGER", "BIGINT":
		return "BIGINT", nil
	case "UBIGINT", "HUGEINT", "UHUGEINT":
		return "NUMERIC(38,0)", nil
	case "DECIMAL":
		return fmt.Sprintf("NUMERIC(%d,%d)", t.Precision, t.Scale), nil
	case "FLOAT":
		return "REAL", nil
	case "DOUBLE":
		return "DOUBLE PRECISION", nil
	case "VARCHAR":
		if t.Length > 0 && t.Length < unboundedText {
			return fmt.Sprintf("VARCHAR(%d)", t.Length), nil
		}
		return fmt.Sprintf("VARCHAR(%d)", unboundedText), nil
	case "DATE":
		return "DATE", nil
	case "TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_US", "TIMESTAMP_NS":
		return "TIMESTAMP", nil
	case "TIMESTAMP WITH TIME ZONE":
		return "TIMESTAMPTZ", nil
	case "TIME":
		return "TIME", nil
	case "BLOB":
		return "BYTEA", nil // Redshift spells it VARBYTE
	}
	return "", fmt.Errorf("%w: column %s is %s, which has no Postgres or Redshift column type", warehouse.ErrIncompatible, column, duckType)
}

// createTable creates the table, and its schema if need be, with the
// data's columns.
func createTable(ctx context.Context, tx pgx.Tx, t tableName, cols []messages.Column) error {
	defs := make([]string, len(cols))
	for i, c := range cols {
		typ, err := pgType(c.Name, c.Type)
		if err != nil {
			return err
		}
		defs[i] = engine.QuoteIdent(c.Name) + " " + typ
	}
	if t.schema != "" {
		if _, err := tx.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+engine.QuoteIdent(t.schema)); err != nil {
			return err
		}
	}
	_, err := tx.Exec(ctx, fmt.Sprintf("CREATE TABLE %s (%s)", t.quoted(), strings.Join(defs, ", ")))
	return err
}

// addColumns adds the data's new columns, nullable.
func addColumns(ctx context.Context, tx pgx.Tx, t tableName, cols []messages.Column) error {
	if len(cols) == 0 {
		return nil
	}
	adds := make([]string, len(cols))
	for i, c := range cols {
		typ, err := pgType(c.Name, c.Type)
		if err != nil {
			return err
		}
		adds[i] = "ADD COLUMN " + engine.QuoteIdent(c.Name) + " " + typ
	}
	// Redshift takes one ADD COLUMN per statement.
	for _, add := range adds {
		if _, err := tx.Exec(ctx, "ALTER TABLE "+t.quoted()+" "+add); err != nil {
			return err
		}
	}
	return nil
}
