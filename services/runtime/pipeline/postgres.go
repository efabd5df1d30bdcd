package pipeline

import (
	"errors"
	"fmt"
	"strings"

	"github.com/fusiondata/fusion/messages"
)

// PostgresSource makes a pipeline copy a Postgres table (or view) instead
// of reading landed files: each run is started by a
// fusion.ingest.requested.v1 event and copies the table, in full or — with
// a bookmark — the rows whose bookmark passed the last successful pull's.
//
// Table, Columns and Bookmark name Postgres objects the way SQL does: an
// unquoted name is folded to lower case, a double-quoted one is taken as
// written ("Order Lines"; "" for a quote inside), and the table may be
// schema-qualified (sales."Order Lines").
type PostgresSource struct {
	// Connection names the database: FUSION_CONN_<NAME>, a postgres:// URL.
	// Credentials live there, never in pipeline files.
	Connection string `yaml:"connection"`
	// Table is the table or view, optionally schema-qualified.
	Table string `yaml:"table"`
	// Columns are the columns copied, in order; all of them by default.
	Columns []string `yaml:"columns"`
	// Bookmark, when set, is a column of an orderable type (integer,
	// numeric, date, timestamp) that grows as rows are added or changed:
	// a run copies the rows with bookmark in (last pull's high, max now].
	// Rows whose bookmark is NULL are never copied. Without a bookmark,
	// every run copies the whole table.
	Bookmark string `yaml:"bookmark"`
}

// Label names the source in events and the run ledger, e.g.
// postgres:crm/public.orders.
func (s *PostgresSource) Label() string { return "postgres:" + s.Connection + "/" + s.Table }

// TableName returns the table's schema ("" when unqualified) and name, as
// stored in Postgres' catalog.
func (s *PostgresSource) TableName() (schema, name string) {
	parts, _ := ParseSQLName(s.Table)
	if len(parts) == 2 {
		return parts[0], parts[1]
	}
	if len(parts) == 1 {
		return "", parts[0]
	}
	return "", ""
}

// ColumnNames returns the selected columns as stored in Postgres' catalog
// (nil for all of them).
func (s *PostgresSource) ColumnNames() []string {
	var out []string
	for _, c := range s.Columns {
		if parts, err := ParseSQLName(c); err == nil && len(parts) == 1 {
			out = append(out, parts[0])
		}
	}
	return out
}

// BookmarkColumn returns the bookmark column as stored in Postgres'
// catalog, "" for none.
func (s *PostgresSource) BookmarkColumn() string {
	if parts, err := ParseSQLName(s.Bookmark); err == nil && len(parts) == 1 {
		return parts[0]
	}
	return ""
}

// ParseSQLName splits a dotted SQL name into its identifiers: unquoted
// ones ([A-Za-z_][A-Za-z0-9_$]*) are folded to lower case, double-quoted
// ones are kept as written with "" standing for one quote.
func ParseSQLName(s string) ([]string, error) {
	var parts []string
	i := 0
	for {
		if i >= len(s) {
			return nil, errors.New("a name is missing")
		}
		var part string
		if s[i] == '"' {
			var b strings.Builder
			i++
			for {
				if i >= len(s) {
					return nil, errors.New("a quoted name is not closed")
				}
				if s[i] == '"' {
					if i+1 < len(s) && s[i+1] == '"' {
						b.WriteByte('"')
						i += 2
						continue
					}
					i++
					break
				}
				b.WriteByte(s[i])
				i++
			}
			part = b.String()
			if part == "" {
				return nil, errors.New(`"" is not a name`)
			}
			if strings.ContainsRune(part, 0) {
				return nil, errors.New("a name cannot contain NUL")
			}
		} else {
			j := i
			for j < len(s) && (s[j] == '_' || s[j] == '$' || isLetter(s[j]) || (j > i && isDigit(s[j]))) {
				j++
			}
			if j == i || s[i] == '$' {
				return nil, fmt.Errorf("unexpected %q (quote names with spaces, capitals or symbols in double quotes)", s[i:])
			}
			part = strings.ToLower(s[i:j])
			i = j
		}
		if len(part) > 63 {
			return nil, fmt.Errorf("%q is longer than Postgres' 63 bytes", part)
		}
		parts = append(parts, part)
		if i == len(s) {
			return parts, nil
		}
		if s[i] != '.' {
			return nil, fmt.Errorf("unexpected %q after %q (quote names with spaces, capitals or symbols in double quotes)", s[i:], part)
		}
		i++
	}
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }

// validatePostgres checks a Postgres source. Landing-file settings do not
// apply to it: a table has no prefix, format or delimiter.
func (v *validator) validatePostgres(s Source) {
	pg := s.Postgres
	for _, f := range []struct{ field, val string }{{"source.prefix", s.Prefix}, {"source.format", s.Format}, {"source.delimiter", s.Delimiter}} {
		if f.val != "" {
			v.add(f.field, "only applies to landed files, not to a postgres source")
		}
	}
	if pg.Connection == "" {
		v.add("source.postgres.connection", "is required: the name of a FUSION_CONN_<NAME> postgres:// URL")
	} else if !messages.ValidName(pg.Connection) {
		v.add("source.postgres.connection", "must name a connection (FUSION_CONN_<NAME>; lower case letters, digits, underscores; got %q)", pg.Connection)
	}
	if pg.Table == "" {
		v.add("source.postgres.table", "is required: the table to copy, optionally schema-qualified")
	} else if parts, err := ParseSQLName(pg.Table); err != nil {
		v.add("source.postgres.table", "%q is not a table name: %v", pg.Table, err)
	} else if len(parts) > 2 {
		v.add("source.postgres.table", "%q has %d parts; use table or schema.table", pg.Table, len(parts))
	}
	seen := map[string]bool{}
	for i, c := range pg.Columns {
		f := fmt.Sprintf("source.postgres.columns[%d]", i)
		parts, err := ParseSQLName(c)
		switch {
		case err != nil:
			v.add(f, "%q is not a column name: %v", c, err)
		case len(parts) != 1:
			v.add(f, "%q is not a column name (no dots; quote the name if it has one)", c)
		case seen[parts[0]]:
			v.add(f, "column %q is listed twice", parts[0])
		default:
			seen[parts[0]] = true
		}
	}
	if len(pg.Columns) > 0 && len(s.Schema) > 0 {
		v.add("source.postgres.columns", "give either columns or source.schema: the schema's names select the columns")
	}
	if pg.Bookmark != "" {
		if parts, err := ParseSQLName(pg.Bookmark); err != nil || len(parts) != 1 {
			v.add("source.postgres.bookmark", "%q is not a column name (quote it if it has spaces, capitals or dots)", pg.Bookmark)
		}
	}
}
