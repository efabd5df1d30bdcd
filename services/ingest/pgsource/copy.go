package pgsource

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Range selects rows by bookmark: Column in (Low, High]. Low nil means
// from the start; High nil means nothing (the table had no bookmark
// values). A nil *Range selects every row.
type Range struct {
	Column Column
	Low    *string
	High   *string
}

// MaxBookmark returns the highest value of a column as Postgres prints it
// (nil when the table has no non-NULL value).
func MaxBookmark(ctx context.Context, conn *pgx.Conn, t Table, col Column) (*string, error) {
	var high *string
	q := fmt.Sprintf("SELECT max(%s)::text FROM %s", quoteIdent(col.Name), t.SQL())
	if err := conn.QueryRow(ctx, q).Scan(&high); err != nil {
		return nil, fmt.Errorf("read the highest %s of %s: %w", col.Name, t, err)
	}
	return high, nil
}

// CopyCSV streams the selected columns of the rows in r as CSV with a
// header line to w, ordered by the bookmark, in one read-only transaction,
// and returns the number of rows. NULL is an unquoted empty field; an empty
// string is "".
func CopyCSV(ctx context.Context, conn *pgx.Conn, t Table, cols []string, r *Range, w io.Writer) (int64, error) {
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = quoteIdent(c)
	}
	query := "SELECT " + strings.Join(quoted, ", ") + " FROM " + t.SQL()
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return 0, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if r != nil {
		b := quoteIdent(r.Column.Name)
		var cond []string
		if r.High == nil {
			cond = append(cond, "false")
		} else {
			// The bounds travel as bind parameters; the query reads them
			// back typed, which keeps an index on the column usable.
			low := ""
			if r.Low != nil {
				low = *r.Low
				cond = append(cond, fmt.Sprintf("%s > current_setting('fusion.pull_low')::%s", b, r.Column.BaseSQL))
			}
			cond = append(cond, fmt.Sprintf("%s <= current_setting('fusion.pull_high')::%s", b, r.Column.BaseSQL))
			if _, err := tx.Exec(ctx, `SELECT set_config('fusion.pull_low', $1, true), set_config('fusion.pull_high', $2, true)`, low, *r.High); err != nil {
				return 0, fmt.Errorf("set the range of %s: %w", t, err)
			}
		}
		query += " WHERE " + strings.Join(cond, " AND ") + " ORDER BY " + b
	}
	tag, err := conn.PgConn().CopyTo(ctx, w, "COPY ("+query+") TO STDOUT WITH (FORMAT csv, HEADER true)")
	if err != nil {
		return 0, fmt.Errorf("copy %s: %w", t, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}
