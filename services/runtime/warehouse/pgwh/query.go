package pgwh

import (
	"context"
	"fmt"
	"math/big"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// Query runs a statement in a read-only transaction. It calls fn once with
// the column names and a nil row, then once per row, reusing the row.
// Values are Go's natural types: numerics as their exact decimal text,
// times of day and uuids as text, intervals as durations.
func (w *Warehouse) Query(ctx context.Context, sql string, fn func([]string, []any) error) error {
	tx, err := w.pool.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	rows, err := tx.Query(ctx, sql)
	if err != nil {
		return err
	}
	defer rows.Close()
	fields := rows.FieldDescriptions()
	cols := make([]string, len(fields))
	for i, f := range fields {
		cols[i] = f.Name
	}
	if err := fn(cols, nil); err != nil {
		return err
	}
	row := make([]any, len(cols))
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return err
		}
		for i, v := range vals {
			row[i] = natural(v)
		}
		if err := fn(cols, row); err != nil {
			return err
		}
	}
	return rows.Err()
}

// natural converts pgx's wrapper types to what fmt.Sprint prints well.
func natural(v any) any {
	switch x := v.(type) {
	case pgtype.Numeric:
		return numericText(x)
	case pgtype.Time:
		if !x.Valid {
			return nil
		}
		return time.UnixMicro(x.Microseconds).UTC().Format("15:04:05.999999")
	case [16]byte: // uuid
		return fmt.Sprintf("%x-%x-%x-%x-%x", x[0:4], x[4:6], x[6:8], x[8:10], x[10:16])
	case pgtype.Interval:
		if !x.Valid {
			return nil
		}
		d := time.Duration(x.Microseconds)*time.Microsecond + time.Duration(x.Days)*24*time.Hour
		if x.Months == 0 {
			return d
		}
		return fmt.Sprintf("%d months %v", x.Months, d) // a month has no fixed length
	}
	return v
}

// numericText spells a numeric exactly: 255, 123.45, -0.001, NaN.
func numericText(n pgtype.Numeric) any {
	switch {
	case !n.Valid:
		return nil
	case n.NaN:
		return "NaN"
	case n.InfinityModifier == pgtype.Infinity:
		return "Infinity"
	case n.InfinityModifier == pgtype.NegativeInfinity:
		return "-Infinity"
	}
	digits := n.Int
	if digits == nil {
		digits = new(big.Int)
	}
	s := digits.String()
	if n.Exp >= 0 {
		if digits.Sign() == 0 {
			return "0"
		}
		for range n.Exp {
			s += "0"
		}
		return s
	}
	neg := s[0] == '-'
	if neg {
		s = s[1:]
	}
	scale := int(-n.Exp)
	for len(s) <= scale {
		s = "0" + s
	}
	s = s[:len(s)-scale] + "." + s[len(s)-scale:]
	if neg {
		s = "-" + s
	}
	return s
}
