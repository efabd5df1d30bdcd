package pgwh

import (
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/jackc/pgx/v5/pgtype"
)

// Postgres counts dates and timestamps from 2000-01-01.
const (
	pgEpochDays   = 10957
	pgEpochMicros = pgEpochDays * 86400 * 1000000
	microsPerDay  = 86400 * 1000000
)

// micros encodes dates and timestamps, given as microseconds since
// Postgres's epoch, into date, timestamp and timestamptz columns.
func (e *encoders) micros(v func(int) int64, oid uint32, date bool) appendFunc {
	switch {
	case oid == pgtype.TimestampOID || oid == pgtype.TimestamptzOID:
		return func(buf []byte, i int) ([]byte, error) { return appendInt64(buf, v(i)), nil }
	case oid == pgtype.DateOID && date:
		return func(buf []byte, i int) ([]byte, error) { return appendInt32(buf, int32(v(i)/microsPerDay)), nil }
	case isText(oid):
		layout := "2006-01-02 15:04:05.999999"
		if date {
			layout = "2006-01-02"
		}
		return func(buf []byte, i int) ([]byte, error) {
			t := time.UnixMicro(v(i) + pgEpochMicros).UTC()
			e.text = t.AppendFormat(e.text[:0], layout)
			return appendBytes(buf, e.text), nil
		}
	}
	return nil
}

// timestampMicros reads a timestamp column as microseconds since
// Postgres's epoch; nanoseconds are truncated, as Postgres keeps none.
func timestampMicros(c *array.Timestamp) func(int) int64 {
	switch c.DataType().(*arrow.TimestampType).Unit {
	case arrow.Second:
		return func(i int) int64 { return int64(c.Value(i))*1000000 - pgEpochMicros }
	case arrow.Millisecond:
		return func(i int) int64 { return int64(c.Value(i))*1000 - pgEpochMicros }
	case arrow.Nanosecond:
		return func(i int) int64 { return int64(floorDiv64(int64(c.Value(i)), 1000)) - pgEpochMicros }
	}
	return func(i int) int64 { return int64(c.Value(i)) - pgEpochMicros }
}

func floorDiv64(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func (e *encoders) time(col arrow.Array, oid uint32) appendFunc {
	if oid != pgtype.TimeOID {
		return nil
	}
	var v func(int) int64
	switch c := col.(type) {
	case *array.Time32:
		if c.DataType().(*arrow.Time32Type).Unit == arrow.Second {
			v = func(i int) int64 { return int64(c.Value(i)) * 1000000 }
		} else {
			v = func(i int) int64 { return int64(c.Value(i)) * 1000 }
		}
	case *array.Time64:
		if c.DataType().(*arrow.Time64Type).Unit == arrow.Nanosecond {
			v = func(i int) int64 { return int64(c.Value(i)) / 1000 }
		} else {
			v = func(i int) int64 { return int64(c.Value(i)) }
		}
	}
	return func(buf []byte, i int) ([]byte, error) { return appendInt64(buf, v(i)), nil }
}
