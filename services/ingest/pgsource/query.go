package pgsource

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/jackc/pgx/v5"
)

// DescribeQuery returns the columns a query's rows have, in order, with
// their types as Describe reports a table's (so DuckType maps them). The
// query is prepared, not run.
func DescribeQuery(ctx context.Context, conn *pgx.Conn, query string) ([]Column, error) {
	sd, err := conn.PgConn().Prepare(ctx, "", query, nil)
	if err != nil {
		return nil, permanent(fmt.Errorf("the query does not prepare: %w", err))
	}
	if len(sd.Fields) == 0 {
		return nil, permanent(fmt.Errorf("the query returns no columns"))
	}
	cols := make([]Column, len(sd.Fields))
	for i, f := range sd.Fields {
		c := Column{Name: f.Name, Nullable: true}
		err := conn.QueryRow(ctx, `
			SELECT format_type(t.oid, $2), bt.typname, format_type(bt.oid, NULL), bt.typtype::text,
			       CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE $2 END
			FROM pg_type t
			JOIN pg_type bt ON bt.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
			WHERE t.oid = $1`, f.DataTypeOID, f.TypeModifier).Scan(&c.Type, &c.Base, &c.BaseSQL, &c.Kind, &c.Typmod)
		if err != nil {
			return nil, fmt.Errorf("describe column %q of the query: %w", f.Name, err)
		}
		cols[i] = c
	}
	return cols, nil
}

// CopyQueryCSV streams a query's rows as CSV with a header line to w, in
// one read-only transaction, and returns the number of rows. NULL is an
// unquoted empty field; an empty string is "".
func CopyQueryCSV(ctx context.Context, conn *pgx.Conn, query string, w io.Writer) (int64, error) {
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return 0, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	tag, err := conn.PgConn().CopyTo(ctx, w, "COPY ("+strings.TrimRight(strings.TrimSpace(query), ";")+") TO STDOUT WITH (FORMAT csv, HEADER true)")
	if err != nil {
		return 0, fmt.Errorf("copy the query's rows: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}
