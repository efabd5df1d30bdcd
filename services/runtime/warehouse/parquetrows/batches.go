// Package parquetrows streams Parquet files, one row group at a time: the
// source side of a warehouse's bulk copy. Batches hands out Arrow records,
// for encoders that read columns directly; Rows hands out Go values, one
// row at a time (a pgx CopyFromSource). Memory stays at about one row group
// whatever the file size.
package parquetrows

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// BatchSize is the most rows a record holds.
const BatchSize = 8192

// Batches iterates the records of Parquet files in order. Every file must
// have the named columns; their order in the record is the requested one.
type Batches struct {
	ctx     context.Context
	files   []string
	columns []string

	file   int
	f      *os.File
	reader pqarrow.RecordReader
	rec    arrow.Record
	offset int64 // rows of the current file before rec
	err    error
}

// OpenBatches iterates the given columns (all of the first file's when nil)
// of the files.
func OpenBatches(ctx context.Context, files []string, columns []string) *Batches {
	return &Batches{ctx: ctx, files: files, columns: columns, file: -1}
}

// Columns returns the column names; with nil columns, once Next has been
// called.
func (b *Batches) Columns() []string { return b.columns }

// Record is the current record, valid until the next call to Next.
func (b *Batches) Record() arrow.Record { return b.rec }

// File is the index of the current record's file.
func (b *Batches) File() int { return b.file }

// Offset is how many rows of the current file precede the record: its
// first row is row Offset()+1 of the file.
func (b *Batches) Offset() int64 { return b.offset }

// Next advances to the next non-empty record.
func (b *Batches) Next() bool {
	if b.rec != nil {
		b.offset += b.rec.NumRows()
		b.rec.Release()
		b.rec = nil
	}
	for b.err == nil {
		if b.reader != nil {
			if b.reader.Next() {
				rec := b.reader.Record()
				if rec.NumRows() == 0 {
					continue
				}
				rec.Retain()
				b.rec = rec
				return true
			}
			if err := b.reader.Err(); err != nil && !errors.Is(err, io.EOF) { // EOF: the file is done
				b.err = fmt.Errorf("%s: %w", b.files[b.file], err)
				break
			}
		}
		if !b.openNext() {
			break
		}
	}
	return false
}

func (b *Batches) openNext() bool {
	b.closeFile()
	b.file++
	b.offset = 0
	if b.file >= len(b.files) {
		return false
	}
	name := b.files[b.file]
	f, err := os.Open(name)
	if err != nil {
		b.err = err
		return false
	}
	b.f = f
	pf, err := file.NewParquetReader(f)
	if err != nil {
		b.err = fmt.Errorf("%s: %w", name, err)
		return false
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: BatchSize}, memory.DefaultAllocator)
	if err != nil {
		b.err = fmt.Errorf("%s: %w", name, err)
		return false
	}
	schema, err := fr.Schema()
	if err != nil {
		b.err = fmt.Errorf("%s: %w", name, err)
		return false
	}
	if b.columns == nil {
		for _, field := range schema.Fields() {
			b.columns = append(b.columns, field.Name)
		}
	}
	// Top-level field indices equal leaf column indices only in a flat
	// schema; warehouses refuse nested columns before they copy.
	idx := make([]int, len(b.columns))
	for i, c := range b.columns {
		found := schema.FieldIndices(c)
		if len(found) == 0 {
			b.err = fmt.Errorf("%s has no column %q", name, c)
			return false
		}
		idx[i] = found[0]
	}
	reader, err := fr.GetRecordReader(b.ctx, idx, nil)
	if err != nil {
		b.err = fmt.Errorf("%s: %w", name, err)
		return false
	}
	b.reader = reader
	return true
}

func (b *Batches) closeFile() {
	if b.reader != nil {
		b.reader.Release()
		b.reader = nil
	}
	if b.f != nil {
		b.f.Close()
		b.f = nil
	}
}

// Err reports the first error.
func (b *Batches) Err() error { return b.err }

// Close releases the current record and file.
func (b *Batches) Close() {
	if b.rec != nil {
		b.rec.Release()
		b.rec = nil
	}
	b.closeFile()
}
