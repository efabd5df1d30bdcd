package pgsource

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

func numeric(p, s int) int32 { return int32(p<<16|(s&0x7ff)) + 4 }

func TestDuckType(t *testing.T) {
	cases := []struct {
		col  Column
		want string
	}{
		{Column{Base: "int2"}, "SMALLINT"},
		{Column{Base: "int4"}, "INTEGER"},
		{Column{Base: "int8"}, "BIGINT"},
		{Column{Base: "numeric", Typmod: numeric(12, 2)}, "DECIMAL(12,2)"},
		{Column{Base: "numeric", Typmod: numeric(38, 0)}, "DECIMAL(38,0)"},
		{Column{Base: "numeric", Typmod: -1}, "DOUBLE"},              // unconstrained
		{Column{Base: "numeric", Typmod: numeric(50, 10)}, "DOUBLE"}, // wider than DuckDB's
		{Column{Base: "numeric", Typmod: numeric(5, -2)}, "DOUBLE"},  // negative scale (Postgres 15)
		{Column{Base: "float4"}, "FLOAT"},
		{Column{Base: "float8"}, "DOUBLE"},
		{Column{Base: "bool"}, "BOOLEAN"},
		{Column{Base: "text"}, "VARCHAR"},
		{Column{Base: "varchar"}, "VARCHAR"},
		{Column{Base: "bpchar"}, "VARCHAR"},
		{Column{Base: "date"}, "DATE"},
		{Column{Base: "timestamp"}, "TIMESTAMP"},
		{Column{Base: "timestamptz"}, "TIMESTAMP WITH TIME ZONE"},
		{Column{Base: "uuid"}, "VARCHAR"},
		{Column{Base: "json"}, "VARCHAR"},
		{Column{Base: "jsonb"}, "VARCHAR"},
		{Column{Base: "mood", Kind: "e"}, "VARCHAR"},
	}
	for _, c := range cases {
		if got, err := DuckType(c.col); err != nil || got != c.want {
			t.Errorf("%+v: %s, %v (want %s)", c.col, got, err, c.want)
		}
	}
	for _, typ := range []string{"interval", "bytea", "_int4", "point", "tsvector"} {
		_, err := DuckType(Column{Name: "odd col", Type: typ, Base: typ, Kind: "b"})
		if !errors.Is(err, ErrUnsupportedType) || !Permanent(err) || !strings.Contains(err.Error(), `column "odd col" is `+typ) {
			t.Errorf("%s: %v", typ, err)
		}
	}
}

func TestNumericTypmod(t *testing.T) {
	if p, s, ok := numericTypmod(numeric(12, 2)); !ok || p != 12 || s != 2 {
		t.Errorf("numeric(12,2): %d,%d", p, s)
	}
	if p, s, ok := numericTypmod(numeric(5, -2)); !ok || p != 5 || s != -2 {
		t.Errorf("numeric(5,-2): %d,%d", p, s)
	}
	if _, _, ok := numericTypmod(-1); ok {
		t.Error("unconstrained numeric decoded")
	}
}

func TestCanBookmark(t *testing.T) {
	for _, b := range []string{"int2", "int4", "int8", "numeric", "date", "timestamp", "timestamptz"} {
		if !CanBookmark(Column{Base: b}) {
			t.Errorf("%s cannot bookmark", b)
		}
	}
	for _, b := range []string{"text", "uuid", "float8", "bool", "jsonb"} {
		if CanBookmark(Column{Base: b}) {
			t.Errorf("%s can bookmark", b)
		}
	}
}

func TestPermanent(t *testing.T) {
	for code, want := range map[string]bool{
		"42P01": true,  // undefined table
		"42703": true,  // undefined column
		"42501": true,  // insufficient privilege
		"28P01": true,  // bad password
		"3D000": true,  // no such database
		"22P02": true,  // bad value
		"08006": false, // connection failure
		"57P01": false, // admin shutdown
		"57014": false, // query canceled
		"53300": false, // too many connections
		"40001": false, // serialization failure
	} {
		err := fmt.Errorf("copy: %w", &pgconn.PgError{Code: code})
		if Permanent(err) != want {
			t.Errorf("%s: permanent = %v", code, !want)
		}
	}
	if Permanent(errors.New("dial tcp 127.0.0.1:1: connection refused")) {
		t.Error("a refused connection is permanent")
	}
	if !Permanent(permanent(ErrNoTable)) {
		t.Error("a missing table is transient")
	}
}

func TestTableSQLQuotesEverything(t *testing.T) {
	if got := (Table{Schema: "my schema", Name: `a"b`}).SQL(); got != `"my schema"."a""b"` {
		t.Error(got)
	}
	if got := (Table{Name: "orders"}).SQL(); got != `"orders"` {
		t.Error(got)
	}
}
