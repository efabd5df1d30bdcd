package pgsource

import (
	"fmt"
	"strings"
)

// DuckType maps a column's Postgres type to the DuckDB type it is copied
// as. The mapping is exact except for numeric without a precision, or with
// more than DuckDB's 38 digits, which becomes DOUBLE (as DuckDB's own
// Postgres scanner does); declare such a column DECIMAL(p,s) or VARCHAR in
// source.schema to keep every digit. Types without a mapping (arrays,
// intervals, bytea, geometry, ...) are a permanent error wrapping
// ErrUnsupportedType that names the column.
func DuckType(c Column) (string, error) {
	if c.Kind == "e" {
		return "VARCHAR", nil // an enum prints its label
	}
	switch c.Base {
	case "int2":
		return "SMALLINT", nil
	case "int4":
		return "INTEGER", nil
	case "int8":
		return "BIGINT", nil
	case "float4":
		return "FLOAT", nil
	case "float8":
		return "DOUBLE", nil
	case "numeric":
		if p, s, ok := numericTypmod(c.Typmod); ok && p >= 1 && p <= 38 && s >= 0 && s <= p {
			return fmt.Sprintf("DECIMAL(%d,%d)", p, s), nil
		}
		return "DOUBLE", nil
	case "bool":
		return "BOOLEAN", nil
	case "text", "varchar", "bpchar", "name", "citext", "uuid", "json", "jsonb":
		return "VARCHAR", nil
	case "date":
		return "DATE", nil
	case "timestamp":
		return "TIMESTAMP", nil
	case "timestamptz":
		return "TIMESTAMP WITH TIME ZONE", nil // DuckDB's own spelling of TIMESTAMPTZ
	}
	return "", permanent(fmt.Errorf("%w: column %q is %s (supported: %s); cast it in a view, or declare the column VARCHAR in source.schema",
		ErrUnsupportedType, c.Name, c.Type, strings.Join(supported, ", ")))
}

var supported = []string{"smallint", "integer", "bigint", "numeric", "real", "double precision", "boolean", "text", "varchar", "char",
	"date", "timestamp", "timestamptz", "uuid", "json", "jsonb", "enums"}

// numericTypmod decodes numeric(p,s) from its type modifier (Postgres'
// NUMERIC_TYPMOD_PRECISION and _SCALE; the scale may be negative).
func numericTypmod(typmod int32) (precision, scale int, ok bool) {
	if typmod < 4 {
		return 0, 0, false
	}
	t := typmod - 4
	return int((t >> 16) & 0xffff), int(((t & 0x7ff) ^ 1024) - 1024), true
}

// CanBookmark reports whether a column's type orders the way a bookmark
// needs: integers, numeric, dates and timestamps.
func CanBookmark(c Column) bool {
	switch c.Base {
	case "int2", "int4", "int8", "numeric", "date", "timestamp", "timestamptz":
		return true
	}
	return false
}
