package snowwh

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/engine"
)

// readColumns reads a table's columns from information_schema, their types
// in DuckDB's vocabulary; none when the table does not exist.
func readColumns(ctx context.Context, conn *sql.Conn, t tableName) ([]messages.Column, error) {
	rows, err := conn.QueryContext(ctx, fmt.Sprintf(`SELECT column_name, data_type, character_maximum_length,
		numeric_precision, numeric_scale FROM %s.information_schema.columns
		WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position`, engine.QuoteIdent(t.Database)),
		t.Schema, t.Name)
	if err != nil {
		return nil, fmt.Errorf("columns of %s: %w", t, err)
	}
	defer rows.Close()
	var cols []messages.Column
	for rows.Next() {
		var name, dataType string
		var length, precision, scale sql.NullInt64
		if err := rows.Scan(&name, &dataType, &length, &precision, &scale); err != nil {
			return nil, err
		}
		cols = append(cols, messages.Column{Name: name, Type: duckType(dataType, length, precision, scale)})
	}
	return cols, rows.Err()
}

// createTable creates the table and its schema. Snowflake makes a schema it
// creates the session's current one; the home schema is restored, and a
// connection that cannot be restored is discarded, since unqualified names
// in later statements on it would resolve elsewhere.
func (w *Warehouse) createTable(ctx context.Context, conn *sql.Conn, t tableName, cols []column) error {
	if _, err := conn.ExecContext(ctx, "CREATE SCHEMA IF NOT EXISTS "+t.schemaName.String()); err != nil {
		return fmt.Errorf("create schema %s: %w", t.schemaName, err)
	}
	if _, err := conn.ExecContext(ctx, "USE SCHEMA "+w.home.String()); err != nil {
		conn.Raw(func(any) error { return driver.ErrBadConn })
		return fmt.Errorf("use schema %s: %w", w.home, err)
	}
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s (%s)", t, definitions(cols))); err != nil {
		return fmt.Errorf("create table %s: %w", t, err)
	}
	return nil
}

// addColumns adds the data's new columns, nullable.
func addColumns(ctx context.Context, conn *sql.Conn, t tableName, cols []column) error {
	for _, c := range cols {
		if _, err := conn.ExecContext(ctx, fmt.Sprintf("ALTER TABLE %s ADD COLUMN IF NOT EXISTS %s %s", t, engine.QuoteIdent(c.Target), c.Type)); err != nil {
			return fmt.Errorf("add column %s to %s: %w", c.Target, t, err)
		}
	}
	return nil
}

// definitions spells column definitions.
func definitions(cols []column) string {
	s := ""
	for i, c := range cols {
		if i > 0 {
			s += ", "
		}
		s += engine.QuoteIdent(c.Target) + " " + c.Type
	}
	return s
}
