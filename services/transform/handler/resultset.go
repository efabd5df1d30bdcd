package handler

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/engine"
)

// resultToParquet streams a remote result set into a Parquet file through
// DuckDB (conn): rows go to a CSV spool file as they arrive, so memory
// stays bounded whatever the result's size, and DuckDB reads the spool
// with the result's own column types. Column names Snowflake folded to
// upper case come back lower-cased, the spelling pipeline files use.
func resultToParquet(ctx context.Context, rows *sql.Rows, conn *sql.Conn, spoolDir, out string) ([]messages.Column, int64, error) {
	types, err := rows.ColumnTypes()
	if err != nil {
		return nil, 0, err
	}
	cols := make([]messages.Column, len(types))
	for i, t := range types {
		cols[i] = messages.Column{Name: foldedName(t.Name()), Type: duckType(t)}
	}
	spool, err := os.CreateTemp(spoolDir, "result-*.csv")
	if err != nil {
		return nil, 0, err
	}
	defer os.Remove(spool.Name())
	defer spool.Close()
	w := bufio.NewWriterSize(spool, 1<<20)
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var n int64
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, 0, err
		}
		for i, v := range vals {
			if i > 0 {
				w.WriteByte(',')
			}
			writeField(w, v, cols[i].Type)
		}
		w.WriteByte('\n')
		n++
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	if err := w.Flush(); err != nil {
		return nil, 0, err
	}
	spec := make([]string, len(cols))
	for i, c := range cols {
		spec[i] = engine.QuoteString(c.Name) + ": " + engine.QuoteString(c.Type)
	}
	src := fmt.Sprintf(`read_csv(%s, header = false, columns = {%s}, nullstr = '\N', allow_quoted_nulls = false,
		quote = '"', escape = '"', auto_detect = false)`,
		engine.QuoteString(spool.Name()), strings.Join(spec, ", "))
	if _, err := engine.CopyToParquet(ctx, conn, "SELECT * FROM "+src, out); err != nil {
		return nil, 0, fmt.Errorf("write the result: %w", err)
	}
	return cols, n, nil
}

// foldedName lower-cases a name Snowflake upper-cased (an unquoted
// identifier); a quoted mixed-case name keeps its spelling.
func foldedName(name string) string {
	if name == strings.ToUpper(name) {
		return strings.ToLower(name)
	}
	return name
}

// duckType maps a result column's database type to DuckDB's.
func duckType(t *sql.ColumnType) string {
	switch strings.ToUpper(t.DatabaseTypeName()) {
	case "FIXED", "NUMBER", "DECIMAL", "NUMERIC", "INT", "INTEGER", "BIGINT":
		p, s, ok := t.DecimalSize()
		switch {
		case !ok || s == 0:
			if ok && p > 18 && p < 38 {
				return fmt.Sprintf("DECIMAL(%d,0)", p)
			}
			return "BIGINT" // Snowflake's integers are NUMBER(38,0)
		case p > 38:
			return "DOUBLE"
		}
		return fmt.Sprintf("DECIMAL(%d,%d)", p, s)
	case "REAL", "FLOAT", "DOUBLE":
		return "DOUBLE"
	case "BOOLEAN":
		return "BOOLEAN"
	case "DATE":
		return "DATE"
	case "TIMESTAMP_NTZ", "TIMESTAMP", "DATETIME":
		return "TIMESTAMP"
	case "TIMESTAMP_LTZ", "TIMESTAMP_TZ":
		return "TIMESTAMP WITH TIME ZONE"
	case "TIME":
		return "TIME"
	case "BINARY", "VARBINARY", "BLOB", "BYTEA":
		return "BLOB"
	}
	return "VARCHAR" // TEXT, VARIANT, OBJECT, ARRAY (as JSON text)
}

// writeField writes one CSV field: \N for NULL, text quoted.
func writeField(w *bufio.Writer, v any, typ string) {
	var s string
	switch x := v.(type) {
	case nil:
		w.WriteString(`\N`)
		return
	case time.Time:
		switch typ {
		case "DATE":
			s = x.Format("2006-01-02")
		case "TIME":
			s = x.Format("15:04:05.999999")
		case "TIMESTAMP":
			s = x.Format("2006-01-02 15:04:05.000000")
		default:
			s = x.UTC().Format("2006-01-02 15:04:05.000000") + "+00"
		}
	case []byte:
		if typ == "BLOB" {
			var b strings.Builder
			for _, c := range x {
				b.WriteString(`\x`)
				b.WriteString(hex.EncodeToString([]byte{c}))
			}
			s = b.String()
		} else {
			s = string(x)
		}
	case string:
		s = x
	case float64:
		s = strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		s = strconv.FormatBool(x)
	default:
		s = fmt.Sprint(x)
	}
	w.WriteByte('"')
	if strings.IndexByte(s, '"') < 0 {
		w.WriteString(s)
	} else {
		w.WriteString(strings.ReplaceAll(s, `"`, `""`))
	}
	w.WriteByte('"')
}
