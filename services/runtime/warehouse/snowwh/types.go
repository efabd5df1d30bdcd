package snowwh

import (
	"database/sql"
	"fmt"
	"strings"

	"github.com/fusiondata/fusion/services/runtime/warehouse"
)

// snowflakeType spells a DuckDB type as the Snowflake column type that
// holds its values; false when Snowflake has none (lists, structs, maps,
// UUID, intervals). Snowflake has one integer type, NUMBER(38,0), and one
// binary floating point type, FLOAT (a double).
func snowflakeType(duck string) (string, bool) {
	t := warehouse.ParseType(duck)
	switch t.Family {
	case warehouse.FamilyBool:
		return "BOOLEAN", true
	case warehouse.FamilyInt:
		return "NUMBER(38,0)", true
	case warehouse.FamilyDecimal:
		return fmt.Sprintf("NUMBER(%d,%d)", t.Precision, t.Scale), true
	case warehouse.FamilyFloat:
		return "FLOAT", true
	case warehouse.FamilyText:
		if t.Length > 0 {
			return fmt.Sprintf("VARCHAR(%d)", t.Length), true
		}
		return "VARCHAR", true
	case warehouse.FamilyDate:
		return "DATE", true
	case warehouse.FamilyTimestamp:
		return "TIMESTAMP_NTZ", true
	case warehouse.FamilyTimestampTZ:
		return "TIMESTAMP_TZ", true
	case warehouse.FamilyTime:
		return "TIME", true
	case warehouse.FamilyBinary:
		return "BINARY", true
	}
	return "", false
}

// maxVarchar is the length information_schema reports for a VARCHAR
// declared without one (16 MB); longer limits are as good as none.
const maxVarchar = 16777216

// duckType translates a Snowflake column, as information_schema.columns
// describes it, into DuckDB's vocabulary (warehouse.ParseType). Types
// DuckDB has no counterpart for keep their Snowflake name, which no data
// type fits.
func duckType(dataType string, length, precision, scale sql.NullInt64) string {
	switch strings.ToUpper(dataType) {
	case "NUMBER", "DECIMAL", "NUMERIC", "INT", "INTEGER", "BIGINT", "SMALLINT", "TINYINT", "BYTEINT":
		p, s := int64(38), int64(0)
		if precision.Valid {
			p = precision.Int64
		}
		if scale.Valid {
			s = scale.Int64
		}
		return fmt.Sprintf("DECIMAL(%d,%d)", p, s)
	case "FLOAT", "FLOAT4", "FLOAT8", "DOUBLE", "DOUBLE PRECISION", "REAL":
		return "DOUBLE"
	case "TEXT", "VARCHAR", "STRING", "CHAR", "CHARACTER":
		if length.Valid && length.Int64 > 0 && length.Int64 < maxVarchar {
			return fmt.Sprintf("VARCHAR(%d)", length.Int64)
		}
		return "VARCHAR"
	case "BOOLEAN":
		return "BOOLEAN"
	case "DATE":
		return "DATE"
	case "TIME":
		return "TIME"
	case "TIMESTAMP_NTZ", "DATETIME", "TIMESTAMP":
		return "TIMESTAMP"
	case "TIMESTAMP_TZ", "TIMESTAMP_LTZ":
		return "TIMESTAMP WITH TIME ZONE" // both are instants
	case "BINARY", "VARBINARY":
		return "BLOB"
	}
	return strings.ToUpper(dataType)
}
