// Package parquetrows streams the rows of Parquet files, one row group at a
// time, as Go values: the source side of a warehouse's bulk copy. Memory
// stays at one row group whatever the file size.
package parquetrows

import (
	"context"
	"fmt"
	"os"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// Rows iterates the rows of Parquet files. Row numbers count from 1 across
// all files, so an error can name the row.
type Rows struct {
	ctx     context.Context
	files   []string
	columns []string

	file   int
	f      *os.File
	reader pqarrow.RecordReader
	rec    arrow.Record
	i      int
	n      int64
	values []any
	err    error
}

// Open iterates the given columns (all when nil) of the files.
func Open(ctx context.Context, files []string, columns []string) *Rows {
	return &Rows{ctx: ctx, files: files, columns: columns, file: -1}
}

// Columns returns the column names, once Next has been called.
func (r *Rows) Columns() []string { return r.columns }

// Row is the 1-based number of the current row.
func (r *Rows) Row() int64 { return r.n }

// Next advances to the next row.
func (r *Rows) Next() bool {
	for r.err == nil {
		if r.rec != nil && r.i < int(r.rec.NumRows()) {
			r.fill()
			r.i++
			r.n++
			return true
		}
		if r.reader != nil && r.reader.Next() {
			if r.rec != nil {
				r.rec.Release()
			}
			r.rec = r.reader.Record()
			r.rec.Retain()
			r.i = 0
			continue
		}
		if r.reader != nil {
			if err := r.reader.Err(); err != nil {
				r.err = err
				break
			}
		}
		if !r.openNext() {
			break
		}
	}
	return false
}

func (r *Rows) openNext() bool {
	r.closeFile()
	r.file++
	if r.file >= len(r.files) {
		return false
	}
	f, err := os.Open(r.files[r.file])
	if err != nil {
		r.err = err
		return false
	}
	r.f = f
	pf, err := file.NewParquetReader(f)
	if err != nil {
		r.err = fmt.Errorf("%s: %w", r.files[r.file], err)
		return false
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 8192}, memory.DefaultAllocator)
	if err != nil {
		r.err = err
		return false
	}
	schema, err := fr.Schema()
	if err != nil {
		r.err = err
		return false
	}
	if r.columns == nil {
		for _, f := range schema.Fields() {
			r.columns = append(r.columns, f.Name)
		}
	}
	idx := make([]int, len(r.columns))
	for i, c := range r.columns {
		found := schema.FieldIndices(c)
		if len(found) == 0 {
			r.err = fmt.Errorf("%s has no column %q", r.files[r.file], c)
			return false
		}
		idx[i] = found[0]
	}
	reader, err := fr.GetRecordReader(r.ctx, idx, nil)
	if err != nil {
		r.err = err
		return false
	}
	r.reader = reader
	return true
}

func (r *Rows) closeFile() {
	if r.rec != nil {
		r.rec.Release()
		r.rec = nil
	}
	if r.reader != nil {
		r.reader.Release()
		r.reader = nil
	}
	if r.f != nil {
		r.f.Close()
		r.f = nil
	}
}

// Values returns the current row. The slice is reused by Next.
func (r *Rows) Values() ([]any, error) { return r.values, nil }

// Err reports the first error.
func (r *Rows) Err() error { return r.err }

// Close releases the open file.
func (r *Rows) Close() { r.closeFile() }

func (r *Rows) fill() {
	if cap(r.values) < len(r.columns) {
		r.values = make([]any, len(r.columns))
	}
	r.values = r.values[:len(r.columns)]
	for j := range r.values {
		r.values[j] = Value(r.rec.Column(j), r.i)
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
		return c.Value(i).ToString(c.DataType().(*arrow.Decimal128Type).Scale)
	}
	return col.ValueStr(i)
}
