// Package pgsource reads a Postgres table for the ingest worker: it
// connects read-only, describes the table's columns and maps their types to
// DuckDB's, finds the highest bookmark, and streams a bookmark range out as
// CSV with COPY, never holding the table in memory.
//
// Every identifier is quoted, and bookmark bounds never become SQL text:
// they are bind parameters of set_config, which the COPY reads back with
// current_setting (COPY itself takes no parameters). Sessions run in UTC
// with ISO dates, so values print the same way on every server, and as
// read-only transactions, so a pull cannot write to the source.
package pgsource

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Connect opens a read-only session on a postgres:// URL.
func Connect(ctx context.Context, url string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, permanent(fmt.Errorf("the connection URL does not parse: %w", err))
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 15 * time.Second
	}
	for k, v := range map[string]string{
		"TimeZone":                      "UTC",
		"DateStyle":                     "ISO, YMD",
		"default_transaction_read_only": "on",
		"application_name":              "fusion-ingest",
	} {
		cfg.RuntimeParams[k] = v
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to %s:%d/%s: %w", cfg.Host, cfg.Port, cfg.Database, err)
	}
	return conn, nil
}
