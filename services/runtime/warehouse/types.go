package warehouse

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Types are spelled as DuckDB spells them (BIGINT, DECIMAL(18,2),
// VARCHAR(20), TIMESTAMP WITH TIME ZONE): datasets carry DuckDB types, and
// every sink translates its own catalog's types into this vocabulary to
// decide whether data fits a table.

// Family groups the types a value can move between.
type Family int

const (
	FamilyOther Family = iota // compared by exact name
	FamilyBool
	FamilyInt
	FamilyDecimal
	FamilyFloat
	FamilyText
	FamilyDate
	FamilyTimestamp
	FamilyTimestampTZ
	FamilyTime
	FamilyBinary
)

// Type is a parsed type.
type Type struct {
	Name   string // upper-case base name: BIGINT, DECIMAL, VARCHAR
	Family Family
	// Precision and Scale of a DECIMAL; Length of a VARCHAR(n), 0 for none.
	Precision, Scale, Length int
}

var typeArgs = regexp.MustCompile(`^([A-Z_ ]+?)\s*(?:\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\))?$`)

// ParseType parses a DuckDB type name.
func ParseType(s string) Type {
	up := strings.ToUpper(strings.TrimSpace(s))
	m := typeArgs.FindStringSubmatch(up)
	if m == nil {
		return Type{Name: up}
	}
	t := Type{Name: strings.TrimSpace(m[1])}
	a, _ := strconv.Atoi(m[2])
	b, _ := strconv.Atoi(m[3])
	switch t.Name {
	case "BOOLEAN", "BOOL":
		t.Name, t.Family = "BOOLEAN", FamilyBool
	case "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT":
		t.Family = FamilyInt
	case "DECIMAL", "NUMERIC":
		t.Name, t.Family, t.Precision, t.Scale = "DECIMAL", FamilyDecimal, a, b
		if m[2] == "" {
			t.Precision, t.Scale = 18, 3 // DuckDB's default
		}
	case "FLOAT", "REAL", "DOUBLE":
		t.Family = FamilyFloat
		if t.Name == "REAL" {
			t.Name = "FLOAT"
		}
	case "VARCHAR", "TEXT", "STRING":
		t.Name, t.Family, t.Length = "VARCHAR", FamilyText, a
	case "DATE":
		t.Family = FamilyDate
	case "TIMESTAMP", "DATETIME", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS", "TIMESTAMP_US":
		t.Family = FamilyTimestamp
	case "TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ":
		t.Name, t.Family = "TIMESTAMP WITH TIME ZONE", FamilyTimestampTZ
	case "TIME":
		t.Family = FamilyTime
	case "BLOB", "BYTEA", "BINARY", "VARBINARY":
		t.Name, t.Family = "BLOB", FamilyBinary
	}
	return t
}

// String spells the type for DuckDB.
func (t Type) String() string {
	switch {
	case t.Family == FamilyDecimal:
		return fmt.Sprintf("DECIMAL(%d,%d)", t.Precision, t.Scale)
	case t.Family == FamilyText && t.Length > 0:
		return fmt.Sprintf("VARCHAR(%d)", t.Length)
	}
	return t.Name
}

// intDigits is how many decimal digits every value of an integer type
// fits in, and intRank orders the integer types by range.
var (
	intDigits = map[string]int{"TINYINT": 3, "UTINYINT": 3, "SMALLINT": 5, "USMALLINT": 5, "INTEGER": 10, "UINTEGER": 10,
		"BIGINT": 19, "UBIGINT": 20, "HUGEINT": 39, "UHUGEINT": 39}
	intRange = map[string][2]float64{
		"TINYINT": {-1 << 7, 1<<7 - 1}, "SMALLINT": {-1 << 15, 1<<15 - 1}, "INTEGER": {-1 << 31, 1<<31 - 1},
		"BIGINT": {-1 << 63, 1<<63 - 1}, "HUGEINT": {-1e38, 1e38}, "UHUGEINT": {0, 1e38},
		"UTINYINT": {0, 1<<8 - 1}, "USMALLINT": {0, 1<<16 - 1}, "UINTEGER": {0, 1<<32 - 1}, "UBIGINT": {0, 1<<64 - 1},
	}
)

// Fit says how data of type from goes into a column of type to.
type Fit int

const (
	// Fits: every value converts without loss.
	Fits Fit = iota
	// Narrows: values convert, but some may not fit (an INTEGER column
	// loading BIGINT data, a VARCHAR(10) column, a smaller DECIMAL); each
	// value is checked before the load.
	Narrows
	// Refused: the column cannot hold the data (text into a number, a
	// fraction into an integer): the type changed.
	Refused
)

// FitOf decides how data of type from goes into a column of type to.
// Conversions that would round or reinterpret values are refused.
func FitOf(from, to Type) Fit {
	if from.String() == to.String() {
		return Fits
	}
	switch to.Family {
	case FamilyText:
		if to.Length > 0 {
			return Narrows
		}
		if from.Family != FamilyOther && from.Family != FamilyBinary {
			return Fits // anything printable goes into text
		}
	case FamilyInt:
		if from.Family == FamilyInt {
			f, t := intRange[from.Name], intRange[to.Name]
			if t[0] <= f[0] && f[1] <= t[1] {
				return Fits
			}
			return Narrows
		}
	case FamilyDecimal:
		switch from.Family {
		case FamilyInt:
			if to.Precision-to.Scale >= intDigits[from.Name] {
				return Fits
			}
			return Narrows
		case FamilyDecimal:
			if from.Scale > to.Scale {
				return Refused // would round
			}
			if to.Precision-to.Scale >= from.Precision-from.Scale {
				return Fits
			}
			return Narrows
		}
	case FamilyFloat:
		switch from.Family {
		case FamilyInt, FamilyDecimal:
			return Fits
		case FamilyFloat:
			if to.Name == "DOUBLE" {
				return Fits
			}
			return Narrows
		}
	case FamilyTimestamp, FamilyTimestampTZ:
		if from.Family == FamilyDate || from.Family == FamilyTimestamp || from.Family == FamilyTimestampTZ {
			return Fits
		}
	case FamilyBool, FamilyDate, FamilyTime, FamilyBinary:
		if from.Family == to.Family {
			return Fits
		}
	}
	return Refused
}
