package pgwh

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/fusiondata/fusion/services/runtime/warehouse/parquetrows"
)

// appendFunc appends row i of a column as a binary COPY field, length word
// included. An error is about that value: the caller names row and column.
type appendFunc func(buf []byte, i int) ([]byte, error)

// valueError is a value the column's type cannot take.
type valueError struct{ value, reason string }

func (e *valueError) Error() string { return e.reason }

func outOfRange(v any, typ string) error {
	s := fmt.Sprint(v)
	return &valueError{value: s, reason: fmt.Sprintf("value %s does not fit %s", s, typ)}
}

// encoders builds a column's appendFunc for one record. The common pairs
// of Arrow type and column type are encoded here, straight from the Arrow
// buffers; the rest go through pgx's type map, one boxed value at a time.
type encoders struct {
	types *pgtype.Map
	num   numericWriter
	text  []byte
}

func (e *encoders) encoder(col arrow.Array, oid uint32) appendFunc {
	var f appendFunc
	switch c := col.(type) {
	case *array.Int8, *array.Int16, *array.Int32, *array.Int64, *array.Uint8, *array.Uint16, *array.Uint32:
		f = e.integer(intGetter(col), oid)
	case *array.Uint64:
		f = e.uint64(c, oid)
	case *array.Float32:
		f = e.float(func(i int) float64 { return float64(c.Value(i)) }, oid, 32)
	case *array.Float64:
		f = e.float(c.Value, oid, 64)
	case *array.Decimal128:
		f = e.decimal(c, oid)
	case *array.String:
		f = e.bytes(c.Value, oid)
	case *array.LargeString:
		f = e.bytes(c.Value, oid)
	case *array.Binary:
		f = e.binary(c.Value, oid)
	case *array.LargeBinary:
		f = e.binary(c.Value, oid)
	case *array.Boolean:
		f = e.boolean(c, oid)
	case *array.Date32:
		f = e.micros(func(i int) int64 { return (int64(c.Value(i)) - pgEpochDays) * microsPerDay }, oid, true)
	case *array.Timestamp:
		f = e.micros(timestampMicros(c), oid, false)
	case *array.Time32, *array.Time64:
		f = e.time(col, oid)
	}
	if f == nil {
		f = e.generic(col, oid)
	}
	if col.NullN() == 0 {
		return f
	}
	return func(buf []byte, i int) ([]byte, error) {
		if col.IsNull(i) {
			return binary.BigEndian.AppendUint32(buf, math.MaxUint32), nil // -1: NULL
		}
		return f(buf, i)
	}
}

func appendInt16(buf []byte, v int16) []byte {
	return binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint32(buf, 2), uint16(v))
}

func appendInt32(buf []byte, v int32) []byte {
	return binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(buf, 4), uint32(v))
}

func appendInt64(buf []byte, v int64) []byte {
	return binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint32(buf, 8), uint64(v))
}

func appendFloat64(buf []byte, v float64) []byte {
	return binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint32(buf, 8), math.Float64bits(v))
}

func appendFloat32(buf []byte, v float32) []byte {
	return binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(buf, 4), math.Float32bits(v))
}

func appendBytes[S string | []byte](buf []byte, v S) []byte {
	return append(binary.BigEndian.AppendUint32(buf, uint32(len(v))), v...)
}

func isText(oid uint32) bool {
	return oid == pgtype.TextOID || oid == pgtype.VarcharOID || oid == pgtype.BPCharOID
}

func intGetter(col arrow.Array) func(int) int64 {
	switch c := col.(type) {
	case *array.Int8:
		return func(i int) int64 { return int64(c.Value(i)) }
	case *array.Int16:
		return func(i int) int64 { return int64(c.Value(i)) }
	case *array.Int32:
		return func(i int) int64 { return int64(c.Value(i)) }
	case *array.Int64:
		return c.Value
	case *array.Uint8:
		return func(i int) int64 { return int64(c.Value(i)) }
	case *array.Uint16:
		return func(i int) int64 { return int64(c.Value(i)) }
	case *array.Uint32:
		return func(i int) int64 { return int64(c.Value(i)) }
	}
	panic("not an integer array")
}

func (e *encoders) integer(v func(int) int64, oid uint32) appendFunc {
	switch {
	case oid == pgtype.Int2OID:
		return func(buf []byte, i int) ([]byte, error) {
			x := v(i)
			if x < math.MinInt16 || x > math.MaxInt16 {
				return buf, outOfRange(x, "smallint")
			}
			return appendInt16(buf, int16(x)), nil
		}
	case oid == pgtype.Int4OID:
		return func(buf []byte, i int) ([]byte, error) {
			x := v(i)
			if x < math.MinInt32 || x > math.MaxInt32 {
				return buf, outOfRange(x, "integer")
			}
			return appendInt32(buf, int32(x)), nil
		}
	case oid == pgtype.Int8OID:
		return func(buf []byte, i int) ([]byte, error) { return appendInt64(buf, v(i)), nil }
	case oid == pgtype.NumericOID:
		return func(buf []byte, i int) ([]byte, error) { return e.num.appendInt(buf, v(i)), nil }
	case oid == pgtype.Float8OID:
		return func(buf []byte, i int) ([]byte, error) { return appendFloat64(buf, float64(v(i))), nil }
	case oid == pgtype.Float4OID:
		return func(buf []byte, i int) ([]byte, error) { return appendFloat32(buf, float32(v(i))), nil }
	case isText(oid):
		return func(buf []byte, i int) ([]byte, error) {
			e.text = strconv.AppendInt(e.text[:0], v(i), 10)
			return appendBytes(buf, e.text), nil
		}
	}
	return nil
}

func (e *encoders) uint64(c *array.Uint64, oid uint32) appendFunc {
	switch {
	case oid == pgtype.NumericOID:
		return func(buf []byte, i int) ([]byte, error) { return e.num.appendUint(buf, false, c.Value(i), 0), nil }
	case oid == pgtype.Int8OID:
		return func(buf []byte, i int) ([]byte, error) {
			x := c.Value(i)
			if x > math.MaxInt64 {
				return buf, outOfRange(x, "bigint")
			}
			return appendInt64(buf, int64(x)), nil
		}
	case oid == pgtype.Int2OID || oid == pgtype.Int4OID:
		return e.integer(func(i int) int64 { return int64(min(c.Value(i), math.MaxInt64)) }, oid)
	}
	return nil
}

func (e *encoders) float(v func(int) float64, oid uint32, bits int) appendFunc {
	switch {
	case oid == pgtype.Float8OID:
		return func(buf []byte, i int) ([]byte, error) { return appendFloat64(buf, v(i)), nil }
	case oid == pgtype.Float4OID:
		return func(buf []byte, i int) ([]byte, error) { return appendFloat32(buf, float32(v(i))), nil }
	case oid == pgtype.NumericOID:
		return func(buf []byte, i int) ([]byte, error) { return e.num.appendFloat(buf, v(i), bits), nil }
	case isText(oid):
		return func(buf []byte, i int) ([]byte, error) {
			e.text = strconv.AppendFloat(e.text[:0], v(i), 'g', -1, bits)
			return appendBytes(buf, e.text), nil
		}
	}
	return nil
}

func (e *encoders) decimal(c *array.Decimal128, oid uint32) appendFunc {
	scale := c.DataType().(*arrow.Decimal128Type).Scale
	switch {
	case oid == pgtype.NumericOID:
		return func(buf []byte, i int) ([]byte, error) {
			n := c.Value(i)
			neg := n.Sign() < 0
			if neg {
				n = n.Negate()
			}
			if n.HighBits() == 0 {
				return e.num.appendUint(buf, neg, n.LowBits(), int(scale)), nil
			}
			e.text = n.BigInt().Append(e.text[:0], 10) // beyond 64 bits: rare
			return e.num.appendDecimal(buf, neg, e.text, int(scale)), nil
		}
	case oid == pgtype.Float8OID:
		return func(buf []byte, i int) ([]byte, error) { return appendFloat64(buf, c.Value(i).ToFloat64(scale)), nil }
	case oid == pgtype.Float4OID:
		return func(buf []byte, i int) ([]byte, error) { return appendFloat32(buf, c.Value(i).ToFloat32(scale)), nil }
	case isText(oid):
		return func(buf []byte, i int) ([]byte, error) { return appendBytes(buf, c.Value(i).ToString(scale)), nil }
	}
	return nil
}

// bytes encodes strings into text columns; Postgres checks a VARCHAR(n)'s
// length and the encoding as it receives them.
func (e *encoders) bytes(v func(int) string, oid uint32) appendFunc {
	if isText(oid) {
		return func(buf []byte, i int) ([]byte, error) { return appendBytes(buf, v(i)), nil }
	}
	return nil
}

func (e *encoders) binary(v func(int) []byte, oid uint32) appendFunc {
	if oid == pgtype.ByteaOID {
		return func(buf []byte, i int) ([]byte, error) { return appendBytes(buf, v(i)), nil }
	}
	return nil
}

func (e *encoders) boolean(c *array.Boolean, oid uint32) appendFunc {
	switch {
	case oid == pgtype.BoolOID:
		return func(buf []byte, i int) ([]byte, error) {
			b := byte(0)
			if c.Value(i) {
				b = 1
			}
			return append(binary.BigEndian.AppendUint32(buf, 1), b), nil
		}
	case isText(oid):
		return func(buf []byte, i int) ([]byte, error) { return appendBytes(buf, strconv.FormatBool(c.Value(i))), nil }
	}
	return nil
}

// generic encodes a value through pgx's type map: text columns get the
// value's printed form, other columns whatever pgx makes of the Go value.
func (e *encoders) generic(col arrow.Array, oid uint32) appendFunc {
	return func(buf []byte, i int) ([]byte, error) {
		v := parquetrows.Value(col, i)
		if isText(oid) {
			v = col.ValueStr(i)
		}
		start := len(buf)
		buf = binary.BigEndian.AppendUint32(buf, 0)
		out, err := e.types.Encode(oid, pgtype.BinaryFormatCode, v, buf)
		if err != nil {
			return buf[:start], &valueError{value: fmt.Sprint(v), reason: err.Error()}
		}
		if out == nil {
			return binary.BigEndian.AppendUint32(buf[:start], math.MaxUint32), nil
		}
		binary.BigEndian.PutUint32(out[start:], uint32(len(out)-start-4))
		return out, nil
	}
}
