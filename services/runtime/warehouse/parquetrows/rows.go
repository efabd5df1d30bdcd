package parquetrows

import (
	"context"
	"math"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// Rows iterates the rows of Parquet files as Go values; it is a pgx
// CopyFromSource. Row numbers count from 1 across all files.
type Rows struct {
	b      *Batches
	i, n   int
	row    int64
	values []any
}

// Open iterates the given columns (all when nil) of the files.
func Open(ctx context.Context, files []string, columns []string) *Rows {
	return &Rows{b: OpenBatches(ctx, files, columns)}
}

// Columns returns the column names, once Next has been called.
func (r *Rows) Columns() []string { return r.b.Columns() }

// Row is the 1-based number of the current row across all files.
func (r *Rows) Row() int64 { return r.row }

// Next advances to the next row.
func (r *Rows) Next() bool {
	if r.i >= r.n {
		if !r.b.Next() {
			return false
		}
		r.i, r.n = 0, int(r.b.Record().NumRows())
	}
	r.fill()
	r.i++
	r.row++
	return true
}

// Values returns the current row. The slice is reused by Next.
func (r *Rows) Values() ([]any, error) { return r.values, nil }

// Err reports the first error.
func (r *Rows) Err() error { return r.b.Err() }

// Close releases the open file.
func (r *Rows) Close() { r.b.Close() }

func (r *Rows) fill() {
	rec := r.b.Record()
	n := int(rec.NumCols())
	if cap(r.values) < n {
		r.values = make([]any, n)
	}
	r.values = r.values[:n]
	for j := range r.values {
		r.values[j] = Value(rec.Column(j), r.i)
	}
}

// Value converts one Arrow value to Go: integers to int64 (uint64 stays),
// floats to float64, dates and timestamps to time.Time, decimals to their
// string form, NULL to nil.
func Value(col arrow.Array, i int) any {
	if col.IsNull(i) {
		return nil
	}
	switch c := col.(type) {
	case *array.Int8:
		return int64(c.Value(i))
	case *array.Int16:
		return int64(c.Value(i))
	case *array.Int32:
		return int64(c.Value(i))
	case *array.Int64:
		return c.Value(i)
	case *array.Uint8:
		return int64(c.Value(i))
	case *array.Uint16:
		return int64(c.Value(i))
	case *array.Uint32:
		return int64(c.Value(i))
	case *array.Uint64:
		return c.Value(i)
	case *array.Float32:
		return float64(c.Value(i))
	case *array.Float64:
		return c.Value(i)
	case *array.Boolean:
		return c.Value(i)
	case *array.String:
		return c.Value(i)
	case *array.LargeString:
		return c.Value(i)
	case *array.Binary:
		return append([]byte(nil), c.Value(i)...)
	case *array.Date32:
		return c.Value(i).ToTime().UTC()
	case *array.Timestamp:
		unit := c.DataType().(*arrow.TimestampType).Unit
		return c.Value(i).ToTime(unit).UTC()
	case *array.Decimal128:
		return decimalString(c.Value(i), c.DataType().(*arrow.Decimal128Type).Scale)
	}
	return col.ValueStr(i)
}

// decimalString spells a decimal exactly; values that fit 64 bits, nearly
// all, without the big-number arithmetic of Num.ToString.
func decimalString(n decimal128.Num, scale int32) string {
	lo, hi := n.LowBits(), n.HighBits()
	if !(hi == 0 && lo <= math.MaxInt64) && !(hi == -1 && lo > math.MaxInt64) {
		return n.ToString(scale)
	}
	v := int64(lo)
	if v == math.MinInt64 {
		return n.ToString(scale)
	}
	neg := v < 0
	if neg {
		v = -v
	}
	digits := strconv.AppendUint(make([]byte, 0, 24), uint64(v), 10)
	if scale <= 0 {
		if neg {
			return "-" + string(digits)
		}
		return string(digits)
	}
	for len(digits) <= int(scale) {
		digits = append([]byte{'0'}, digits...)
	}
	out := make([]byte, 0, len(digits)+2)
	if neg {
		out = append(out, '-')
	}
	out = append(out, digits[:len(digits)-int(scale)]...)
	out = append(out, '.')
	out = append(out, digits[len(digits)-int(scale):]...)
	return string(out)
}
