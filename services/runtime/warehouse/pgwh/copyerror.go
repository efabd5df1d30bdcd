package pgwh

import (
	"errors"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/fusiondata/fusion/services/runtime/warehouse"
)

// serverError turns an error Postgres raised during the copy about one
// value (its context reads "COPY rel, line N, column c") into a
// *warehouse.RowError naming the file, row and column; other errors pass
// through. It is the fallback for values the checks before the copy did
// not catch: a string too long for VARCHAR(65535), invalid UTF-8.
func (s *copyStream) serverError(err error) error {
	var pg *pgconn.PgError
	if !errors.As(err, &pg) {
		return err
	}
	line, column, ok := parseCopyContext(pg.Where, s.target.name, s.target.columns)
	if !ok {
		return err
	}
	file, row := s.locate(line)
	return &warehouse.RowError{File: file, Row: row, Column: column, Reason: pg.Message}
}

// parseCopyContext reads the line and column from a COPY error's context.
// Relation and column names may hold anything, so they are matched against
// the known ones rather than parsed.
func parseCopyContext(where, rel string, columns []string) (int64, string, bool) {
	for _, l := range strings.Split(where, "\n") {
		rest, ok := strings.CutPrefix(l, "COPY "+rel+", line ")
		if !ok {
			continue
		}
		end := 0
		for end < len(rest) && rest[end] >= '0' && rest[end] <= '9' {
			end++
		}
		line, err := strconv.ParseInt(rest[:end], 10, 64)
		if err != nil {
			return 0, "", false
		}
		rest, ok = strings.CutPrefix(rest[end:], ", column ")
		if !ok {
			return 0, "", false // a whole-row problem: no column to name
		}
		// Text COPY adds `: "value"` after the name; binary COPY does not.
		best := ""
		for _, c := range columns {
			if (rest == c || strings.HasPrefix(rest, c+": ")) && len(c) > len(best) {
				best = c
			}
		}
		return line, best, best != ""
	}
	return 0, "", false
}
