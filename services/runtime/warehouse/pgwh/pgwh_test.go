//go:build warehouse

package pgwh

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fusiondata/fusion/services/runtime/engine"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
	"github.com/fusiondata/fusion/services/runtime/warehouse"
	"github.com/fusiondata/fusion/services/runtime/warehouse/warehousetest"
)

// open opens the warehouse with its history in schema, so that each run's
// load ids are its own however often the database is reused.
func open(t testing.TB, schema string, hooks warehouse.Hooks) *Warehouse {
	t.Helper()
	w, err := Open(context.Background(), warehousetest.PostgresDSN(t), Options{MemoryLimit: "256MB", History: schema + "." + History, Hooks: hooks})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

func TestConformance(t *testing.T) {
	var schemas sync.Map
	warehousetest.Run(t, func(t *testing.T, env warehousetest.Env, hooks warehouse.Hooks) warehouse.Warehouse {
		schemas.Store(env.Schema, true)
		return open(t, env.Schema, hooks)
	})
	schemas.Range(func(k, _ any) bool {
		exec(t, "DROP SCHEMA IF EXISTS "+engine.QuoteIdent(k.(string))+" CASCADE")
		return true
	})
}

// fixture is a schema of the test's own, dropped afterwards.
type fixture struct {
	t      *testing.T
	w      *Warehouse
	schema string
	n      int
}

func newFixture(t *testing.T) *fixture {
	f := &fixture{t: t, schema: "pgwh_" + strings.ToLower(strings.NewReplacer("/", "_", "-", "_").Replace(t.Name()))}
	f.w = open(t, f.schema, warehouse.Hooks{})
	exec(t, "DROP SCHEMA IF EXISTS "+engine.QuoteIdent(f.schema)+" CASCADE")
	exec(t, "CREATE SCHEMA "+engine.QuoteIdent(f.schema))
	t.Cleanup(func() { exec(t, "DROP SCHEMA IF EXISTS "+engine.QuoteIdent(f.schema)+" CASCADE") })
	return f
}

// exec runs statements on a connection of its own.
func exec(t testing.TB, stmts ...string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, warehousetest.PostgresDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, s := range stmts {
		if _, err := conn.Exec(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// parquet writes the rows of a DuckDB query to a Parquet file.
func (f *fixture) parquet(query string) string {
	f.t.Helper()
	f.n++
	path := filepath.Join(f.t.TempDir(), fmt.Sprintf("part-%d.parquet", f.n))
	return warehousetest.WriteParquet(f.t, path, query)
}

func (f *fixture) request(table, mode string, keys []string, files ...string) warehouse.LoadRequest {
	f.n++
	run := fmt.Sprintf("run-%d", f.n)
	return warehouse.LoadRequest{LoadID: warehouse.LoadID(run, "p.curated", 0), RunID: run, Dataset: "p.curated",
		Table: f.schema + "." + table, Keys: keys, Mode: mode, Files: files}
}

func (f *fixture) load(req warehouse.LoadRequest) warehouse.Result {
	f.t.Helper()
	res, err := f.w.Load(context.Background(), req)
	if err != nil {
		f.t.Fatalf("load %s: %v", req.LoadID, err)
	}
	return res
}

// query returns the rows of a query, each value printed and joined by |.
func (f *fixture) query(q string) []string {
	f.t.Helper()
	var out []string
	err := f.w.Query(context.Background(), q, func(_ []string, row []any) error {
		if row == nil {
			return nil
		}
		parts := make([]string, len(row))
		for i, v := range row {
			parts[i] = fmt.Sprint(v)
		}
		out = append(out, strings.Join(parts, "|"))
		return nil
	})
	if err != nil {
		f.t.Fatalf("%s: %v", q, err)
	}
	return out
}

func (f *fixture) scalar(q string) string {
	f.t.Helper()
	rows := f.query(q)
	if len(rows) != 1 {
		f.t.Fatalf("%s: %d rows", q, len(rows))
	}
	return rows[0]
}

func (f *fixture) table(name string) string {
	return engine.QuoteIdent(f.schema) + "." + engine.QuoteIdent(name)
}

// A table a DBA created with narrow types refuses data that does not fit,
// naming the row and column, and keeps what it had.
func TestNarrowTableRefusesValuesThatDoNotFit(t *testing.T) {
	f := newFixture(t)
	exec(t, "CREATE TABLE "+f.table("orders")+" (id BIGINT PRIMARY KEY, amount NUMERIC(5,2), code VARCHAR(3), qty SMALLINT, note TEXT)",
		"INSERT INTO "+f.table("orders")+" VALUES (0, 1.00, 'abc', 1, 'kept')")
	cases := []struct {
		name, column, query string
		row                 int64
	}{
		{"numeric_overflow", "amount", "SELECT i::BIGINT AS id, CASE WHEN i = 6 THEN 1234.5 ELSE 12.34 END::DECIMAL(10,2) AS amount FROM range(1, 10) t(i)", 6},
		{"varchar_too_long", "code", "SELECT i::BIGINT AS id, CASE WHEN i = 3 THEN 'ABCD' ELSE 'AB' END AS code FROM range(1, 10) t(i)", 3},
		{"smallint_out_of_range", "qty", "SELECT i::BIGINT AS id, (i * 5000)::INTEGER AS qty FROM range(1, 10) t(i)", 7},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, mode := range []string{pipeline.ModeAppend, pipeline.ModeMerge, pipeline.ModeReplace} {
				_, err := f.w.Load(context.Background(), f.request("orders", mode, []string{"id"}, f.parquet(c.query)))
				var re *warehouse.RowError
				if !errors.As(err, &re) || re.Row != c.row || re.Column != c.column || !errors.Is(err, warehouse.ErrIncompatible) {
					t.Fatalf("%s: got %v, want row %d, column %s", mode, err, c.row, c.column)
				}
			}
			if got := f.scalar("SELECT count(*) || ' ' || min(note) FROM " + f.table("orders")); got != "1 kept" {
				t.Errorf("table after refused loads: %s", got)
			}
		})
	}
	// Nothing committed, not even the history table the first load creates.
	if got := f.scalar("SELECT to_regclass(" + engine.QuoteString(f.table(History)) + ") IS NULL"); got != "true" {
		t.Errorf("refused loads left a history")
	}
	// Values that fit load, converted to the table's types.
	f.load(f.request("orders", pipeline.ModeMerge, []string{"id"},
		f.parquet("SELECT 0::BIGINT AS id, 999.99::DECIMAL(10,2) AS amount, 'XYZ' AS code, 32767::INTEGER AS qty")))
	if got := f.scalar("SELECT amount || '|' || code || '|' || qty || '|' || coalesce(note, 'NULL') FROM " + f.table("orders")); got != "999.99|XYZ|32767|NULL" {
		t.Errorf("row after merge: %s", got)
	}
}

// Values the checks before the copy let through are refused by the server,
// and the error still names the file, row and column.
func TestServerRefusalNamesRowAndColumn(t *testing.T) {
	f := newFixture(t)
	first := f.parquet("SELECT i::BIGINT AS id, 'short' AS body FROM range(20000) t(i)")
	second := f.parquet("SELECT i::BIGINT AS id, CASE WHEN i = 11000 THEN repeat('x', 70000) ELSE 'short' END AS body FROM range(20000) t(i)")
	_, err := f.w.Load(context.Background(), f.request("docs", pipeline.ModeAppend, nil, first, second))
	var re *warehouse.RowError
	if !errors.As(err, &re) || re.File != 1 || re.Row != 11001 || re.Column != "body" {
		t.Fatalf("got %v (%+v), want file 1, row 11001, column body", err, re)
	}
	if got := f.scalar("SELECT count(*) FROM pg_tables WHERE schemaname = " + engine.QuoteString(f.schema)); got != "0" {
		t.Errorf("the refused load left %s tables", got)
	}
}

// Two deliveries of one load at the same time apply it once: the second
// starts while the first holds its rows uncommitted, waits, then sees the
// first's history row.
func TestConcurrentDuplicateLoadAppliesOnce(t *testing.T) {
	f := newFixture(t)
	req := f.request("dup", pipeline.ModeAppend, nil, f.parquet("SELECT i::BIGINT AS id FROM range(50000) t(i)"))
	second := open(t, f.schema, warehouse.Hooks{})
	results := make([]warehouse.Result, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	first := open(t, f.schema, warehouse.Hooks{AfterStage: func(string) error {
		wg.Go(func() { results[1], errs[1] = second.Load(context.Background(), req) })
		waitForLockWaiter(t)
		return nil
	}})
	results[0], errs[0] = first.Load(context.Background(), req)
	wg.Wait()
	applied := 0
	for i := range results {
		if errs[i] != nil {
			t.Fatalf("load %d: %v", i, errs[i])
		}
		if results[i].Rows != 50000 {
			t.Errorf("load %d: %+v", i, results[i])
		}
		if results[i].Applied {
			applied++
		}
	}
	if applied != 1 || !results[0].Applied {
		t.Errorf("applied %d times (%+v)", applied, results)
	}
	if got := f.scalar("SELECT count(*) FROM " + f.table("dup")); got != "50000" {
		t.Errorf("table holds %s rows", got)
	}
}

// waitForLockWaiter waits until a session waits for a lock.
func waitForLockWaiter(t *testing.T) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, warehousetest.PostgresDSN(t))
	if err != nil {
		t.Error(err)
		return
	}
	defer conn.Close(ctx)
	for range 500 {
		var n int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_locks WHERE NOT granted").Scan(&n); err != nil {
			t.Error(err)
			return
		}
		if n > 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Error("the second load never waited for the first")
}

// The DELETE and INSERT merge of servers without MERGE matches MERGE.
func TestMergeWithoutMergeStatement(t *testing.T) {
	f := newFixture(t)
	for _, useMerge := range []bool{true, false} {
		f.w.merge = useMerge
		table := fmt.Sprintf("m_%v", useMerge)
		f.load(f.request(table, pipeline.ModeMerge, []string{"id", "region"},
			f.parquet("SELECT i::BIGINT AS id, 'eu' AS region, 1::BIGINT AS v, 'old' AS note FROM range(100) t(i)")))
		f.load(f.request(table, pipeline.ModeMerge, []string{"id", "region"},
			f.parquet("SELECT i::BIGINT AS id, 'eu' AS region, 2::BIGINT AS v FROM range(50, 150) t(i) UNION ALL SELECT 0, 'us', 5")))
		got := f.scalar(fmt.Sprintf("SELECT count(*) || ' ' || sum(v) || ' ' || count(note) FROM %s", f.table(table)))
		if got != "151 255 50" {
			t.Errorf("merge=%v: count, sum(v), notes = %s, want 151 255 50 (replaced rows lose the note)", useMerge, got)
		}
	}
}

// Every supported type survives the copy exactly.
func TestTypesRoundTrip(t *testing.T) {
	f := newFixture(t)
	f.load(f.request("typed", pipeline.ModeAppend, nil, f.parquet(`SELECT
		-5::TINYINT AS i1, 300::SMALLINT AS i2, -70000::INTEGER AS i4, -9223372036854775807::BIGINT AS i8,
		250::UTINYINT AS u1, 65000::USMALLINT AS u2, 4000000000::UINTEGER AS u4, 18446744073709551615::UBIGINT AS u8,
		-170141183460469231731687303715884105727::HUGEINT AS huge,
		-0.001::DECIMAL(10,3) AS d_small, 12345678901234.5678::DECIMAL(18,4) AS d_mid,
		-1234567890123456789012345678.0123456789::DECIMAL(38,10) AS d_big, 0::DECIMAL(5,2) AS d_zero,
		1.5::FLOAT AS f4, -2.25e300::DOUBLE AS f8, 'nan'::DOUBLE AS f_nan, true AS flag,
		DATE '1969-07-20' AS old_day, DATE '2026-11-21' AS day,
		TIMESTAMP '1960-01-01 00:00:00.000001' AS old_at, TIMESTAMP_NS '2026-11-21 10:11:12.345678912' AS ns_at,
		TIMESTAMP_MS '2026-11-21 10:11:12.345' AS ms_at, TIMESTAMPTZ '2026-11-21 10:11:12.5+00' AS tz_at,
		TIME '23:59:59.999999' AS tod, '\x00\xff'::BLOB AS bin, 'ünï' AS text, '' AS empty, NULL::INTEGER AS nothing`)))
	want := map[string]string{
		"i1": "-5", "i2": "300", "i4": "-70000", "i8": "-9223372036854775807",
		"u1": "250", "u2": "65000", "u4": "4000000000", "u8": "18446744073709551615",
		"huge":    "-170141183460469231731687303715884105727",
		"d_small": "-0.001", "d_mid": "12345678901234.5678", "d_big": "-1234567890123456789012345678.0123456789", "d_zero": "0.00",
		"f4": "1.5", "f8": "-2.25e+300", "f_nan": "NaN", "flag": "true",
		"old_day": "1969-07-20", "day": "2026-11-21",
		"old_at": "1960-01-01 00:00:00.000001", "ns_at": "2026-11-21 10:11:12.345678", "ms_at": "2026-11-21 10:11:12.345",
		"tz_at": "2026-11-21 10:11:12.5+00", "tod": "23:59:59.999999", "bin": `\x00ff`, "text": "ünï", "empty": "", "nothing": "NULL",
	}
	for col, v := range want {
		got := f.scalar(fmt.Sprintf("SELECT coalesce(%s::text, 'NULL') FROM %s", engine.QuoteIdent(col), f.table("typed")))
		if col == "tz_at" {
			got = f.scalar(fmt.Sprintf("SELECT to_char(%s AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS') FROM %s", engine.QuoteIdent(col), f.table("typed")))
			v = "2026-11-21 10:11:12.500"
		}
		if col == "huge" {
			// HUGEINT reaches Parquet as a DOUBLE.
			v = f.scalar("SELECT (-170141183460469231731687303715884105727::float8)::text")
		}
		if got != v {
			t.Errorf("%s = %q, want %q", col, got, v)
		}
	}
	types := f.query(fmt.Sprintf(`SELECT column_name || ' ' || data_type FROM information_schema.columns
		WHERE table_schema = %s AND column_name IN ('u8', 'text', 'f4', 'tz_at') ORDER BY column_name`, engine.QuoteString(f.schema)))
	if strings.Join(types, ", ") != "f4 real, text character varying, tz_at timestamp with time zone, u8 numeric" {
		t.Errorf("column types: %v", types)
	}
	// A second load into the existing table plans against its types.
	res := f.load(f.request("typed", pipeline.ModeAppend, nil, f.parquet("SELECT 1::TINYINT AS i1, 2::BIGINT AS u8, 'x' AS text")))
	if !res.Applied || f.scalar("SELECT count(*) FROM "+f.table("typed")) != "2" {
		t.Errorf("second load: %+v", res)
	}
}

// Nested columns have no Postgres/Redshift type: the load is refused.
func TestNestedTypesAreRefused(t *testing.T) {
	f := newFixture(t)
	_, err := f.w.Load(context.Background(), f.request("nested", pipeline.ModeAppend, nil,
		f.parquet("SELECT 1::BIGINT AS id, [1, 2] AS tags")))
	if !errors.Is(err, warehouse.ErrIncompatible) || !strings.Contains(err.Error(), "column tags") {
		t.Fatalf("got %v, want ErrIncompatible naming column tags", err)
	}
}

// Query hands out values fmt prints naturally.
func TestQueryValues(t *testing.T) {
	f := newFixture(t)
	got := f.scalar(`SELECT 123.45::numeric, sum(x), -0.001::numeric, 1e20::numeric, 'NaN'::numeric, 2.5::float8, 'a'::text,
		NULL::int, TIME '01:02:03.5' FROM (VALUES (1::bigint), (2)) v(x)`)
	if got != "123.45|3|-0.001|100000000000000000000|NaN|2.5|a|<nil>|01:02:03.5" {
		t.Errorf("got %s", got)
	}
}
