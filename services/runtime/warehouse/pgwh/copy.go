package pgwh

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/jackc/pgx/v5"

	"github.com/fusiondata/fusion/services/runtime/engine"
	"github.com/fusiondata/fusion/services/runtime/warehouse"
	"github.com/fusiondata/fusion/services/runtime/warehouse/parquetrows"
)

// copyTarget is a relation rows are copied into.
type copyTarget struct {
	sql     string   // the relation, quoted
	name    string   // its bare name, as COPY's error context spells it
	columns []string // the data's columns
}

// copyFiles streams the columns of the Parquet files into the target with
// binary COPY, one record of a row group at a time, and returns the rows
// copied. A value the column cannot take fails the copy with a
// *warehouse.RowError, whether the encoder or the server finds it.
func copyFiles(ctx context.Context, tx pgx.Tx, files []string, target copyTarget) (int64, error) {
	oids, err := columnTypes(ctx, tx, target)
	if err != nil {
		return 0, err
	}
	s := &copyStream{
		batches: parquetrows.OpenBatches(ctx, files, target.columns),
		target:  target,
		oids:    oids,
		encs:    make([]appendFunc, len(oids)),
		enc:     encoders{types: tx.Conn().TypeMap()},
	}
	defer s.batches.Close()
	sql := fmt.Sprintf("COPY %s (%s) FROM STDIN BINARY", target.sql, engine.QuoteIdents(target.columns))
	tag, err := tx.Conn().PgConn().CopyFrom(ctx, s, sql)
	if s.err != nil {
		return 0, s.err // the server only saw the copy fail
	}
	if err != nil {
		return 0, s.serverError(err)
	}
	return tag.RowsAffected(), nil
}

// columnTypes returns the type oids of the target's columns.
func columnTypes(ctx context.Context, tx pgx.Tx, target copyTarget) ([]uint32, error) {
	rows, err := tx.Query(ctx, fmt.Sprintf("SELECT %s FROM %s LIMIT 0", engine.QuoteIdents(target.columns), target.sql))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	fields := rows.FieldDescriptions()
	oids := make([]uint32, len(fields))
	for i, f := range fields {
		oids[i] = f.DataTypeOID
	}
	rows.Close()
	return oids, rows.Err()
}

// copyStream is the COPY data: an io.Reader that encodes rows whenever its
// buffer runs dry.
type copyStream struct {
	batches *parquetrows.Batches
	target  copyTarget
	oids    []uint32
	encs    []appendFunc
	enc     encoders

	buf    []byte
	pos    int
	begun  bool
	done   bool
	err    error
	next   int     // the current record's next row to encode
	n      int     // the current record's rows
	rows   int64   // rows encoded
	starts []int64 // rows encoded before each file
}

var copyHeader = []byte("PGCOPY\n\377\r\n\000\000\000\000\000\000\000\000\000")

func (s *copyStream) Read(p []byte) (int, error) {
	for s.pos == len(s.buf) {
		if s.done {
			return 0, io.EOF
		}
		s.buf, s.pos = s.buf[:0], 0
		if err := s.fill(); err != nil {
			s.err = err
			return 0, err
		}
	}
	n := copy(p, s.buf[s.pos:])
	s.pos += n
	return n, nil
}

// flushAt is how much encoded data fill hands on at a time: memory stays
// bounded however wide the rows.
const flushAt = 256 << 10

// fill encodes rows until the buffer holds flushAt bytes or the record
// ends, moving to the next record first when the current one is done; after
// the last it encodes the trailer.
func (s *copyStream) fill() error {
	if !s.begun {
		s.buf = append(s.buf, copyHeader...)
		s.begun = true
	}
	if s.next == s.n {
		if !s.batches.Next() {
			if err := s.batches.Err(); err != nil {
				return err
			}
			s.buf = binary.BigEndian.AppendUint16(s.buf, 0xFFFF)
			s.done = true
			return nil
		}
		rec := s.batches.Record()
		for len(s.starts) <= s.batches.File() {
			s.starts = append(s.starts, s.rows)
		}
		for j := range s.encs {
			s.encs[j] = s.enc.encoder(rec.Column(j), s.oids[j])
		}
		s.next, s.n = 0, int(rec.NumRows())
	}
	ncols := uint16(len(s.encs))
	buf := s.buf
	i := s.next
	for ; i < s.n && len(buf) < flushAt; i++ {
		buf = binary.BigEndian.AppendUint16(buf, ncols)
		for j, enc := range s.encs {
			var err error
			if buf, err = enc(buf, i); err != nil {
				return rowError(s.batches.File(), s.batches.Offset()+int64(i)+1, s.target.columns[j], err)
			}
		}
	}
	s.buf = buf
	s.rows += int64(i - s.next)
	s.next = i
	return nil
}

func rowError(file int, row int64, column string, err error) error {
	re := &warehouse.RowError{File: file, Row: row, Column: column, Reason: err.Error()}
	var ve *valueError
	if errors.As(err, &ve) {
		re.Value = ve.value
	}
	return re
}

// locate turns the server's line of the copy (1-based across all files)
// into a file and a row within it.
func (s *copyStream) locate(line int64) (int, int64) {
	for f := len(s.starts) - 1; f >= 0; f-- {
		if line > s.starts[f] {
			return f, line - s.starts[f]
		}
	}
	return 0, line
}
