package handler

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/engine"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
)

// converted is a validated file's typed copy.
type converted struct {
	Rows   int64
	Schema []messages.Column
}

// convert validates a landed file and writes its typed Parquet copy to out.
// DuckDB does the reading (streamed, parallel, memory-bounded); when it
// refuses a file, a streaming validator finds the exact line and field.
// Problems with the data come back as *problem; other errors are the
// engine's.
func convert(ctx context.Context, conn *sql.Conn, path string, src pipeline.Source, out string) (converted, *problem, error) {
	switch src.Format {
	case "jsonl":
		return convertJSONLines(ctx, conn, path, src, out)
	default:
		return convertCSV(ctx, conn, path, src, out)
	}
}

func declared(src pipeline.Source) []column {
	cols := make([]column, len(src.Schema))
	for i, c := range src.Schema {
		cols[i] = column{Name: c.Name, Type: c.Type, Required: c.Required}
	}
	return cols
}

func convertCSV(ctx context.Context, conn *sql.Conn, path string, src pipeline.Source, out string) (converted, *problem, error) {
	delim := []rune(src.Delimiter)[0]
	header, p := readHeader(path, delim)
	if p != nil {
		return converted{}, p, nil
	}
	opts := fmt.Sprintf("header = true, delim = %s, quote = '\"', escape = '\"'", engine.QuoteString(src.Delimiter))
	cols := declared(src)
	if len(cols) > 0 {
		if p := checkHeader(header, cols); p != nil {
			return converted{}, p, nil
		}
	} else {
		// Infer the types from a sample, as DuckDB's sniffer does.
		inferred, err := engine.Describe(ctx, conn, fmt.Sprintf("SELECT * FROM read_csv(%s, %s, sample_size = 20480)", engine.QuoteString(path), opts))
		if err != nil {
			if p := validateCSV(path, delim, untyped(header)); p != nil {
				return converted{}, p, nil
			}
			return converted{}, duckProblem(err), nil
		}
		for _, c := range inferred {
			cols = append(cols, column{Name: c.Name, Type: c.Type})
		}
		if len(cols) != len(header) {
			return converted{}, &problem{Line: 1, Field: "header", Err: fmt.Errorf("%d columns in the header, %d detected in the data", len(header), len(cols))}, nil
		}
		for i := range cols {
			cols[i].Name = header[i] // the file's own spelling
		}
	}
	read := fmt.Sprintf("SELECT * FROM read_csv(%s, %s, auto_detect = false, columns = %s)", engine.QuoteString(path), opts, columnsStruct(cols))
	return finish(ctx, conn, read, cols, out, func() *problem { return validateCSV(path, delim, cols) })
}

func convertJSONLines(ctx context.Context, conn *sql.Conn, path string, src pipeline.Source, out string) (converted, *problem, error) {
	if empty, err := isBlank(path); err != nil {
		return converted{}, nil, err
	} else if empty {
		return converted{}, &problem{Err: errors.New("the file is empty")}, nil
	}
	if p, err := firstLineProblem(path, maxJSONLine); err != nil || p != nil {
		return converted{}, p, err
	}
	opts := "format = 'newline_delimited', records = true"
	cols := declared(src)
	if len(cols) == 0 {
		inferred, err := engine.Describe(ctx, conn, fmt.Sprintf("SELECT * FROM read_json(%s, %s, sample_size = 20480)", engine.QuoteString(path), opts))
		if err != nil {
			if p := validateJSONLines(path, nil); p != nil {
				return converted{}, p, nil
			}
			return converted{}, duckProblem(err), nil
		}
		for _, c := range inferred {
			cols = append(cols, column{Name: c.Name, Type: c.Type})
		}
	}
	read := fmt.Sprintf("SELECT * FROM read_json(%s, %s, columns = %s)", engine.QuoteString(path), opts, columnsStruct(cols))
	return finish(ctx, conn, read, cols, out, func() *problem { return validateJSONLines(path, cols) })
}

// finish writes the Parquet copy and enforces required columns; on any
// refusal it asks the validator where the problem is.
func finish(ctx context.Context, conn *sql.Conn, read string, cols []column, out string, locate func() *problem) (converted, *problem, error) {
	refused := func(err error) (converted, *problem, error) {
		if p := locate(); p != nil {
			return converted{}, p, nil
		}
		return converted{}, duckProblem(err), nil
	}
	rows, err := engine.CopyToParquet(ctx, conn, read, out)
	if err != nil {
		if ctx.Err() != nil {
			return converted{}, nil, ctx.Err()
		}
		return refused(err)
	}
	if rows == 0 {
		return converted{}, &problem{Err: errors.New("the file has no data rows")}, nil
	}
	var required []string
	for _, c := range cols {
		if c.Required {
			required = append(required, fmt.Sprintf("count(*) FILTER (WHERE %s IS NULL)", engine.QuoteIdent(c.Name)))
		}
	}
	if len(required) > 0 {
		var missing int64
		q := fmt.Sprintf("SELECT %s FROM %s", strings.Join(required, " + "), engine.ReadParquet(out))
		if err := conn.QueryRowContext(ctx, q).Scan(&missing); err != nil {
			return converted{}, nil, err
		}
		if missing > 0 {
			return refused(fmt.Errorf("%d required values are missing", missing))
		}
	}
	schema := make([]messages.Column, len(cols))
	for i, c := range cols {
		schema[i] = messages.Column{Name: c.Name, Type: c.Type}
	}
	return converted{Rows: rows, Schema: schema}, nil, nil
}

// columnsStruct renders DuckDB's columns = {'name': 'TYPE', ...} argument.
func columnsStruct(cols []column) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = engine.QuoteString(c.Name) + ": " + engine.QuoteString(c.Type)
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

func untyped(header []string) []column {
	cols := make([]column, len(header))
	for i, h := range header {
		cols[i] = column{Name: h, Type: "VARCHAR"}
	}
	return cols
}

var duckLineRE = regexp.MustCompile(`(?i)\bline:? (\d+)`)

// duckProblem keeps the useful first line of a DuckDB error and its line
// number, dropping the multi-line advice DuckDB appends.
func duckProblem(err error) *problem {
	msg := err.Error()
	p := &problem{}
	if m := duckLineRE.FindStringSubmatch(msg); m != nil {
		p.Line, _ = strconv.ParseInt(m[1], 10, 64)
	}
	lines := strings.Split(msg, "\n")
	keep := lines[0]
	for _, l := range lines[1:] {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "Original Line") || strings.HasPrefix(l, "Possible") {
			continue
		}
		if !strings.HasPrefix(l, "*") && !strings.Contains(l, " = ") {
			keep += ": " + l
		}
		break
	}
	p.Err = errors.New(keep)
	return p
}
