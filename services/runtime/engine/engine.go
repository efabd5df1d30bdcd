// Package engine runs the workers' data work on an in-process DuckDB:
// reading CSV and JSON lines, running SQL over Parquet and writing Parquet.
// One Engine per process shares DuckDB's buffer pool, so memory stays
// within the configured limit however many steps run at once, and DuckDB
// spills to its temporary directory instead of growing.
package engine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"

	_ "github.com/marcboeker/go-duckdb" // registers the duckdb driver
)

// Config bounds the engine's resources.
type Config struct {
	// Threads DuckDB may use; 0 means one per CPU.
	Threads int
	// MemoryLimit is DuckDB's memory limit, e.g. "1GB"; "" lets DuckDB
	// pick (80% of RAM), which is not bounded enough for a shared host.
	MemoryLimit string
	// TempDir is where DuckDB spills and where steps stage files.
	TempDir string
}

func (c *Config) setDefaults() {
	if c.MemoryLimit == "" {
		c.MemoryLimit = "1GB"
	}
	if c.TempDir == "" {
		c.TempDir = os.TempDir()
	}
}

// Validate reports unusable settings.
func (c Config) Validate() error {
	if c.Threads < 0 {
		return fmt.Errorf("engine: threads must not be negative")
	}
	return nil
}

// Engine is the shared DuckDB instance.
type Engine struct {
	db  *sql.DB
	cfg Config
}

// Open starts an in-memory DuckDB with the configured limits.
func Open(cfg Config) (*Engine, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.TempDir, 0o755); err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	q := url.Values{}
	q.Set("memory_limit", cfg.MemoryLimit)
	q.Set("temp_directory", cfg.TempDir)
	// Row order inside a file carries no meaning here; not preserving it
	// lets DuckDB stream large COPYs in parallel with less memory.
	q.Set("preserve_insertion_order", "false")
	if cfg.Threads > 0 {
		q.Set("threads", strconv.Itoa(cfg.Threads))
	}
	db, err := sql.Open("duckdb", "?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("engine: open duckdb: %w", err)
	}
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, fmt.Errorf("engine: open duckdb: %w", err)
	}
	return &Engine{db: db, cfg: cfg}, nil
}

// TempDir is where steps stage files.
func (e *Engine) TempDir() string { return e.cfg.TempDir }

// Conn returns a dedicated connection. Temporary views a step creates on it
// are invisible to other steps. Close it when done.
func (e *Engine) Conn(ctx context.Context) (*sql.Conn, error) { return e.db.Conn(ctx) }

// Close shuts DuckDB down.
func (e *Engine) Close() error { return e.db.Close() }

// ParquetOptions is how every Parquet file in the lake is written: snappy,
// the codec every Parquet reader takes (Snowflake's COPY among them).
const ParquetOptions = "FORMAT parquet, COMPRESSION snappy"

// CopyToParquet writes the result of query to a Parquet file at path and
// returns the number of rows written.
func CopyToParquet(ctx context.Context, conn *sql.Conn, query, path string) (rows int64, err error) {
	ctx, span := startSQL(ctx, "COPY")
	defer func() { endSQL(span, rows, err) }()
	res, err := conn.ExecContext(ctx, fmt.Sprintf("COPY (%s) TO %s (%s)", query, QuoteString(path), ParquetOptions))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// CopyPartitioned writes the result of query into a directory of Parquet
// files, one subdirectory per value of column (column=value/…), in a
// single pass, and returns the number of rows written.
func CopyPartitioned(ctx context.Context, conn *sql.Conn, query, column, dir string) (rows int64, err error) {
	ctx, span := startSQL(ctx, "COPY")
	defer func() { endSQL(span, rows, err) }()
	// Flush each partition at about a row group instead of holding half a
	// million rows per partition in memory.
	if _, err := conn.ExecContext(ctx, "SET partitioned_write_flush_threshold = 131072"); err != nil {
		return 0, err
	}
	res, err := conn.ExecContext(ctx, fmt.Sprintf("COPY (%s) TO %s (%s, PARTITION_BY (%s))", query, QuoteString(dir), ParquetOptions, QuoteIdent(column)))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// Querier is what Describe needs: a *sql.DB, *sql.Conn or *sql.Tx.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// Describe returns the columns a query produces, without running it.
func Describe(ctx context.Context, q Querier, query string) (_ []Column, err error) {
	ctx, span := startSQL(ctx, "DESCRIBE")
	defer func() { endSQL(span, -1, err) }()
	rows, err := q.QueryContext(ctx, "DESCRIBE "+query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var cols []Column
	for rows.Next() {
		var name, typ string
		var null, key, def, extra sql.NullString
		if err := rows.Scan(&name, &typ, &null, &key, &def, &extra); err != nil {
			return nil, err
		}
		cols = append(cols, Column{Name: name, Type: typ})
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(cols) == 0 {
		return nil, errors.New("query has no columns")
	}
	return cols, nil
}

// Column is a column name and DuckDB type.
type Column struct {
	Name string
	Type string
}

// ReadParquet is the SQL table expression reading Parquet files.
func ReadParquet(paths ...string) string {
	list := ""
	for i, p := range paths {
		if i > 0 {
			list += ", "
		}
		list += QuoteString(p)
	}
	return "read_parquet([" + list + "])"
}
