package handler

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fusiondata/fusion/services/runtime/engine"
)

// The result spool keeps types, NULLs, quotes and names; a DuckDB result
// stands in for a remote one (decimals, which DuckDB's driver returns as its
// own type, are covered against fakesnow in the warehouse tier).
func TestResultToParquetKeepsTypesAndValues(t *testing.T) {
	ctx := context.Background()
	e, err := engine.Open(engine.Config{TempDir: t.TempDir(), Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	remote, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer remote.Close()
	rows, err := remote.QueryContext(ctx, `SELECT i AS "CUSTOMER_ID", i * 0.5::DOUBLE AS "Mixed",
		CASE WHEN i = 1 THEN NULL ELSE 'say "hi", \N' END AS note, '' AS empty, i % 2 = 0 AS even,
		DATE '2026-11-21' + i::INTEGER AS day, TIMESTAMP '2026-11-21 10:00:00.123456' AS at, '\xAA\x00'::BLOB AS raw
		FROM range(3) t(i)`)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := e.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	out := filepath.Join(t.TempDir(), "out.parquet")
	cols, n, err := resultToParquet(ctx, rows, conn, t.TempDir(), out)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range cols {
		names = append(names, c.Name+" "+c.Type)
	}
	if n != 3 || strings.Join(names, ", ") != "customer_id BIGINT, Mixed DOUBLE, note VARCHAR, empty VARCHAR, even BOOLEAN, day DATE, at TIMESTAMP, raw BLOB" {
		t.Fatalf("%d rows, columns %s", n, strings.Join(names, ", "))
	}
	var got string
	err = conn.QueryRowContext(ctx, `SELECT string_agg(concat_ws('|', customer_id, "Mixed", coalesce(note, 'NULL'), '['||empty||']', even, day, at, hex(raw)), ' / ' ORDER BY customer_id)
		FROM `+engine.ReadParquet(out)).Scan(&got)
	if err != nil {
		t.Fatal(err)
	}
	want := `0|0.0|say "hi", \N|[]|true|2026-11-21|2026-11-21 10:00:00.123456|AA00 / ` +
		`1|0.5|NULL|[]|false|2026-11-22|2026-11-21 10:00:00.123456|AA00 / ` +
		`2|1.0|say "hi", \N|[]|true|2026-11-23|2026-11-21 10:00:00.123456|AA00`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
