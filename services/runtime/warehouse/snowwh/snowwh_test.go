//go:build warehouse

package snowwh

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/snowflakedb/gosnowflake"

	"github.com/fusiondata/fusion/services/runtime/pipeline"
	"github.com/fusiondata/fusion/services/runtime/warehouse"
	"github.com/fusiondata/fusion/services/runtime/warehouse/warehousetest"
)

// The tests run against the fakesnow server scripts/test.sh warehouse
// starts; snowwh_live_test.go runs them against a Snowflake account.

func TestConformance(t *testing.T) {
	conformance(t, warehousetest.SnowflakeDSN(t), Options{})
}

// The suite's loads are small enough to be bound; this runs it again with
// every load PUT and copied.
func TestConformancePut(t *testing.T) {
	conformance(t, warehousetest.SnowflakeDSN(t), Options{ArrayBindRows: -1})
}

func TestStagingPaths(t *testing.T) {
	stagingPaths(t, warehousetest.SnowflakeDSN(t))
}

// concurrentDeliveries runs live only (snowwh_live_test.go): fakesnow
// has no table locks.

// conformance runs the warehouse suite. Each run keeps everything, the
// history table included, in the suite's own schema: the DSN's schema is
// replaced by it (the suite's load ids repeat from run to run).
func conformance(t *testing.T, dsn string, opts Options) {
	var once sync.Once
	var made string
	warehousetest.Run(t, func(t *testing.T, env warehousetest.Env, hooks warehouse.Hooks) warehouse.Warehouse {
		once.Do(func() { made = inSchema(t, dsn, env.Schema) })
		o := opts
		o.MemoryLimit, o.Hooks = "256MB", hooks
		return open(t, made, o)
	})
	if made != "" {
		dropSchema(t, made)
	}
}

// inSchema creates the schema (the folded form of name) and returns dsn
// with it as the schema.
func inSchema(t *testing.T, dsn, name string) string {
	t.Helper()
	cfg, err := gosnowflake.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("snowflake", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cfg.Schema = fold(name)
	if _, err := db.Exec("CREATE SCHEMA IF NOT EXISTS " + schemaName{cfg.Database, cfg.Schema}.String()); err != nil {
		t.Fatal(err)
	}
	out, err := gosnowflake.DSN(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// dropSchema drops the DSN's schema and what is in it.
func dropSchema(t *testing.T, dsn string) {
	cfg, err := gosnowflake.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("snowflake", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("DROP SCHEMA IF EXISTS " + schemaName{cfg.Database, cfg.Schema}.String() + " CASCADE"); err != nil {
		t.Logf("drop schema %s: %v", cfg.Schema, err)
	}
}

func open(t *testing.T, dsn string, opts Options) *Warehouse {
	t.Helper()
	w, err := Open(context.Background(), dsn, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

// parquet writes the rows of a DuckDB query to a Parquet file.
func parquet(t *testing.T, query string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "part.parquet")
	return warehousetest.WriteParquet(t, path, query)
}

// stagingData is one row of every type and one of NULLs; text holds what
// CSV, JSON and SQL quote (the bound arrays may travel as CSV).
const stagingData = `SELECT * FROM (VALUES
	(1, 12345678901::BIGINT, 123.45::DECIMAL(10,2), 2.5::DOUBLE, 'héllo, "wörld"' || chr(10) || '\ ''q''', '', true,
		DATE '2026-11-21', TIMESTAMP '2026-11-21 10:11:12.345678', TIMESTAMPTZ '2026-11-21 10:11:12.345678+02',
		TIME '10:11:12.5', '\xAB\x00'::BLOB, NULL::VARCHAR),
	(2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)
) v(id, big, amount, ratio, words, empty, flag, d, ts, tstz, tm, bin, nothing)`

// stagingPaths loads the same rows bound and PUT, and checks every value
// arrives either way.
func stagingPaths(t *testing.T, dsn string) {
	dsn = inSchema(t, dsn, "fusion_test_paths_"+strings.ToLower(randomHex(4)))
	defer dropSchema(t, dsn)
	file := parquet(t, stagingData)
	checks := []struct {
		column, cond string
		args         []any
	}{
		{"big", "big = 12345678901", nil},
		{"amount", "amount = 123.45", nil},
		{"ratio", "ratio = 2.5", nil},
		{"words", "words = ?", []any{"héllo, \"wörld\"\n\\ 'q'"}},
		{"empty", "empty = ''", nil},
		{"flag", "flag = TRUE", nil},
		{"d", "d = DATE '2026-11-21'", nil},
		{"ts", "ts = TIMESTAMP '2026-11-21 10:11:12.345678'", nil},
		{"tstz", "tstz = CAST('2026-11-21 08:11:12.345678+00:00' AS TIMESTAMP_TZ)", nil},
		{"tm", "tm = CAST('10:11:12.5' AS TIME)", nil},
		{"bin", "bin = TO_BINARY('AB00', 'HEX')", nil},
	}
	for _, via := range []string{viaBind, viaPut} {
		t.Run(via, func(t *testing.T) {
			bind := map[string]int{viaBind: 10, viaPut: -1}[via]
			w := open(t, dsn, Options{ArrayBindRows: bind})
			var got []string
			w.staged = func(m string) { got = append(got, m) }
			table := "typed_" + via
			res, err := w.Load(context.Background(), warehouse.LoadRequest{LoadID: "r/" + via + "/0", RunID: "r", Dataset: "p.d",
				Table: table, Mode: pipeline.ModeAppend, Files: []string{file}})
			if err != nil {
				t.Fatal(err)
			}
			if !res.Applied || res.Rows != 2 || len(got) != 1 || got[0] != via {
				t.Fatalf("result %+v, staged %v; want applied, 2 rows, staged by %s", res, got, via)
			}
			count := func(where string, args ...any) int {
				t.Helper()
				var n int
				if err := w.db.QueryRow("SELECT count(*) FROM "+table+" WHERE "+where, args...).Scan(&n); err != nil {
					t.Fatalf("%s: %v", where, err)
				}
				return n
			}
			for _, c := range checks {
				if n := count("id = 1 AND "+c.cond, c.args...); n != 1 {
					t.Errorf("%s: no row where %s", c.column, c.cond)
				}
				if n := count("id = 2 AND " + c.column + " IS NULL"); n != 1 {
					t.Errorf("%s: NULL did not arrive", c.column)
				}
			}
			if n := count("nothing IS NULL"); n != 2 {
				t.Errorf("a column of NULLs: %d NULLs, want 2", n)
			}
		})
	}
}

// concurrentDeliveries delivers one load from several workers at once: it
// is applied once.
func concurrentDeliveries(t *testing.T, dsn string) {
	dsn = inSchema(t, dsn, "fusion_test_concurrent_"+strings.ToLower(randomHex(4)))
	defer dropSchema(t, dsn)
	file := parquet(t, "SELECT i::BIGINT AS id FROM range(100) t(i)")
	for _, mode := range []string{pipeline.ModeAppend, pipeline.ModeMerge} {
		t.Run(mode, func(t *testing.T) {
			req := warehouse.LoadRequest{LoadID: "r/" + mode + "/0", RunID: "r", Dataset: "p.d", Table: "concurrent_" + mode,
				Mode: mode, Files: []string{file}}
			if mode == pipeline.ModeMerge {
				req.Keys = []string{"id"}
			}
			const workers = 4
			var mu sync.Mutex
			applied := 0
			var wg sync.WaitGroup
			for range workers {
				w := open(t, dsn, Options{})
				wg.Add(1)
				go func() {
					defer wg.Done()
					// A load that fails is redelivered, as the queue would.
					var err error
					for range 5 {
						var res warehouse.Result
						if res, err = w.Load(context.Background(), req); err == nil {
							mu.Lock()
							applied += map[bool]int{true: 1}[res.Applied]
							mu.Unlock()
							return
						}
					}
					t.Errorf("five deliveries failed: %v", err)
				}()
			}
			wg.Wait()
			var n int
			w := open(t, dsn, Options{})
			if err := w.db.QueryRow("SELECT count(*) FROM " + req.Table).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if applied != 1 || n != 100 {
				t.Errorf("applied %d times, %d rows; want once, 100 rows", applied, n)
			}
		})
	}
}
