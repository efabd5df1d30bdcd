package pgwh

import (
	"fmt"
	"math"
	"testing"

	"github.com/jackc/pgx/v5/pgtype"
)

// decode reads a numeric field (length word included) back through pgx.
func decode(t *testing.T, field []byte) string {
	t.Helper()
	var n pgtype.Numeric
	if err := pgtype.NewMap().Scan(pgtype.NumericOID, pgtype.BinaryFormatCode, field[4:], &n); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprint(numericText(n))
}

func TestNumericEncoding(t *testing.T) {
	var w numericWriter
	cases := []struct {
		field []byte
		want  string
	}{
		{w.appendInt(nil, 0), "0"},
		{w.appendInt(nil, 10000), "10000"},
		{w.appendInt(nil, -1), "-1"},
		{w.appendInt(nil, math.MinInt64), "-9223372036854775808"},
		{w.appendUint(nil, false, math.MaxUint64, 0), "18446744073709551615"},
		{w.appendUint(nil, false, 1234567, 2), "12345.67"},
		{w.appendUint(nil, true, 1, 3), "-0.001"},
		{w.appendUint(nil, false, 5, 9), "0.000000005"},
		{w.appendDecimal(nil, false, []byte("12345678901234567890123456789012345678"), 10), "1234567890123456789012345678.9012345678"},
		{w.appendFloat(nil, 2.5, 64), "2.5"},
		{w.appendFloat(nil, -1e20, 64), "-100000000000000000000"},
		{w.appendFloat(nil, 0.1, 32), "0.1"},
		{w.appendFloat(nil, math.NaN(), 64), "NaN"},
		{w.appendFloat(nil, math.Inf(-1), 64), "-Infinity"},
	}
	for _, c := range cases {
		if got := decode(t, c.field); got != c.want {
			t.Errorf("got %s, want %s", got, c.want)
		}
	}
}

// Zero keeps its display scale: Postgres prints 0::NUMERIC(5,2) as 0.00.
func TestNumericZeroKeepsScale(t *testing.T) {
	var w numericWriter
	got := fmt.Sprintf("% x", w.appendUint(nil, false, 0, 2))
	if want := "00 00 00 08 00 00 00 00 00 00 00 02"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestParseCopyContext(t *testing.T) {
	cols := []string{"a", "a, b", "note"}
	cases := []struct {
		where, column string
		line          int64
		ok            bool
	}{
		{"COPY t, line 4, column note", "note", 4, true},
		{"COPY t, line 12, column a, b", "a, b", 12, true},
		{`COPY t, line 3, column a: "x"`, "a", 3, true},
		{"SQL function f\nCOPY t, line 7, column a", "a", 7, true},
		{"COPY t, line 4", "", 0, false},
		{"COPY other, line 4, column a", "", 0, false},
	}
	for _, c := range cases {
		line, col, ok := parseCopyContext(c.where, "t", cols)
		if line != c.line || col != c.column || ok != c.ok {
			t.Errorf("%q: %d %q %v", c.where, line, col, ok)
		}
	}
}

func TestDuckType(t *testing.T) {
	i := func(v int32) *int32 { return &v }
	cases := []struct {
		dataType          string
		length, prec, scl *int32
		want              string
	}{
		{"integer", nil, i(32), i(0), "INTEGER"},
		{"numeric", nil, i(5), i(2), "DECIMAL(5,2)"},
		{"numeric", nil, nil, nil, "DOUBLE"},
		{"character varying", i(3), nil, nil, "VARCHAR(3)"},
		{"character varying", i(65535), nil, nil, "VARCHAR"},
		{"timestamp with time zone", nil, nil, nil, "TIMESTAMP WITH TIME ZONE"},
		{"jsonb", nil, nil, nil, "JSONB"},
	}
	for _, c := range cases {
		if got := duckType(c.dataType, c.length, c.prec, c.scl); got != c.want {
			t.Errorf("%s: %s, want %s", c.dataType, got, c.want)
		}
	}
}
