package engine

import "strings"

// QuoteIdent quotes a SQL identifier. Every identifier that comes from a
// pipeline file or from data goes through it, so a column named
// `x"; DROP TABLE t; --` stays a column name.
func QuoteIdent(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

// QuoteQualified quotes a possibly schema-qualified name: a.b -> "a"."b".
func QuoteQualified(name string) string {
	parts := strings.Split(name, ".")
	for i, p := range parts {
		parts[i] = QuoteIdent(p)
	}
	return strings.Join(parts, ".")
}

// QuoteString quotes a SQL string literal.
func QuoteString(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// QuoteIdents quotes and comma-joins identifiers.
func QuoteIdents(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = QuoteIdent(n)
	}
	return strings.Join(q, ", ")
}
