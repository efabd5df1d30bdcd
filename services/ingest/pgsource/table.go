package pgsource

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Table names a table or view: Schema "" resolves through the session's
// search_path, as unqualified names do in SQL.
type Table struct {
	Schema string
	Name   string
}

// SQL is the quoted, qualified name.
func (t Table) SQL() string {
	if t.Schema == "" {
		return quoteIdent(t.Name)
	}
	return quoteIdent(t.Schema) + "." + quoteIdent(t.Name)
}

// String is the name as people read it.
func (t Table) String() string {
	if t.Schema == "" {
		return t.Name
	}
	return t.Schema + "." + t.Name
}

// Column is one column of a table, with its type as Postgres spells it
// and the base type the mapping looks at (a domain's underlying type).
type Column struct {
	Name     string
	Type     string // format_type: numeric(12,2), timestamp with time zone, ...
	Base     string // pg_type.typname of the base type: numeric, timestamptz, ...
	BaseSQL  string // the base type without modifiers, for casts: numeric, timestamp with time zone
	Kind     string // pg_type.typtype of the base type: b (base), e (enum), ...
	Typmod   int32
	Nullable bool
}

// Describe returns a table's columns in order. A missing table is a
// permanent error wrapping ErrNoTable.
func Describe(ctx context.Context, conn *pgx.Conn, t Table) ([]Column, error) {
	var oid *uint32
	if err := conn.QueryRow(ctx, `SELECT to_regclass($1)::oid`, t.SQL()).Scan(&oid); err != nil {
		return nil, fmt.Errorf("look up table %s: %w", t, err)
	}
	if oid == nil {
		return nil, permanent(fmt.Errorf("%w: %s (check the name, the schema and the role's search_path)", ErrNoTable, t))
	}
	rows, err := conn.Query(ctx, `
		SELECT a.attname, format_type(a.atttypid, a.atttypmod), bt.typname, format_type(bt.oid, NULL), bt.typtype::text,
		       CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END, NOT a.attnotnull
		FROM pg_attribute a
		JOIN pg_type t ON t.oid = a.atttypid
		JOIN pg_type bt ON bt.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
		WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped
		ORDER BY a.attnum`, *oid)
	if err != nil {
		return nil, fmt.Errorf("describe table %s: %w", t, err)
	}
	cols, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Column, error) {
		var c Column
		err := r.Scan(&c.Name, &c.Type, &c.Base, &c.BaseSQL, &c.Kind, &c.Typmod, &c.Nullable)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("describe table %s: %w", t, err)
	}
	if len(cols) == 0 {
		return nil, permanent(fmt.Errorf("table %s has no columns", t))
	}
	return cols, nil
}

// Find returns the column with this exact name.
func Find(cols []Column, name string) (Column, bool) {
	for _, c := range cols {
		if c.Name == name {
			return c, true
		}
	}
	return Column{}, false
}

// Names lists the columns' names, for messages.
func Names(cols []Column) string {
	n := make([]string, len(cols))
	for i, c := range cols {
		n[i] = c.Name
	}
	return strings.Join(n, ", ")
}

func quoteIdent(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }
