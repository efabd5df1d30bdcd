//go:build warehouse

package snowwh

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/snowflakedb/gosnowflake"

	"github.com/fusiondata/fusion/services/runtime/pipeline"
	"github.com/fusiondata/fusion/services/runtime/warehouse"
)

// The live tests run the fakesnow tests, and what fakesnow cannot check,
// against a Snowflake account. Each creates a schema of its own in
// SNOWFLAKE_DATABASE and drops it afterwards. They cover, beyond fakesnow:
//   - the history lock: concurrent deliveries of one load apply it once
//     (fakesnow has no table locks; there a conflicting COMMIT fails with
//     HTTP 500, and gosnowflake's retry of it reports success);
//   - bound arrays beyond CLIENT_STAGE_ARRAY_BINDING_THRESHOLD, which
//     gosnowflake uploads to a stage (fakesnow does not send the
//     threshold, so binds never go there), with TO_BINARY on them;
//   - PUT to the account's cloud storage, and COPY's own reading of the
//     Parquet types (USE_LOGICAL_TYPE, BINARY_AS_TEXT = FALSE; fakesnow
//     reads the files with DuckDB);
//   - Snowflake's implicit conversions of the bound text (fakesnow's are
//     DuckDB's), NUMBER(38,0) beyond 64 bits (fakesnow stores BIGINT);
//   - DROP STAGE, TRANSIENT tables and DATA_RETENTION_TIME_IN_DAYS
//     (fakesnow ignores or rejects them);
//   - the suite's query on a column named at (fakesnow's translation to
//     DuckDB fails to parse it).

// liveDSN builds a DSN from the SNOWFLAKE_* variables, or skips.
func liveDSN(t *testing.T) string {
	cfg := &gosnowflake.Config{
		Account:   os.Getenv("SNOWFLAKE_ACCOUNT"),
		User:      os.Getenv("SNOWFLAKE_USER"),
		Password:  os.Getenv("SNOWFLAKE_PASSWORD"),
		Database:  os.Getenv("SNOWFLAKE_DATABASE"),
		Warehouse: os.Getenv("SNOWFLAKE_WAREHOUSE"),
		Role:      os.Getenv("SNOWFLAKE_ROLE"),
		Schema:    os.Getenv("SNOWFLAKE_SCHEMA"),
	}
	if cfg.Account == "" || cfg.User == "" || cfg.Password == "" || cfg.Database == "" || cfg.Warehouse == "" {
		t.Skip("live Snowflake tests: set SNOWFLAKE_ACCOUNT, SNOWFLAKE_USER, SNOWFLAKE_PASSWORD, SNOWFLAKE_DATABASE " +
			"and SNOWFLAKE_WAREHOUSE (optionally SNOWFLAKE_ROLE, SNOWFLAKE_SCHEMA) to run them")
	}
	if cfg.Schema == "" {
		cfg.Schema = "PUBLIC"
	}
	dsn, err := gosnowflake.DSN(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return dsn
}

func TestLiveConformance(t *testing.T) {
	conformance(t, liveDSN(t), Options{})
}

func TestLiveConformancePut(t *testing.T) {
	conformance(t, liveDSN(t), Options{ArrayBindRows: -1})
}

func TestLiveStagingPaths(t *testing.T) {
	stagingPaths(t, liveDSN(t))
}

func TestLiveConcurrentDeliveries(t *testing.T) {
	concurrentDeliveries(t, liveDSN(t))
}

// TestLiveStagedArrays binds more values than gosnowflake sends inline.
func TestLiveStagedArrays(t *testing.T) {
	dsn := inSchema(t, liveDSN(t), "fusion_test_arrays_"+strings.ToLower(randomHex(4)))
	defer dropSchema(t, dsn)
	w := open(t, dsn, Options{ArrayBindRows: 10000})
	var via []string
	w.staged = func(m string) { via = append(via, m) }
	file := parquet(t, `SELECT i::BIGINT AS id, i * 1.5 AS v, CASE WHEN i % 7 = 0 THEN NULL ELSE '' END AS empty,
		'a,"b"' || chr(10) || CAST(i AS VARCHAR) AS words, '\xAB\x00'::BLOB AS bin FROM range(10000) t(i)`)
	res, err := w.Load(context.Background(), warehouse.LoadRequest{LoadID: "r/arrays/0", RunID: "r", Dataset: "p.d",
		Table: "arrays", Mode: pipeline.ModeAppend, Files: []string{file}})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Applied || res.Rows != 10000 || len(via) != 1 || via[0] != viaBind {
		t.Fatalf("result %+v, staged %v; want 10000 rows bound", res, via)
	}
	for cond, want := range map[string]int{
		"empty IS NULL": 1429, "empty = ''": 8571, "bin = TO_BINARY('AB00', 'HEX')": 10000,
		"words = 'a,\"b\"' || CHR(10) || id": 10000, "v = id * 1.5": 10000,
	} {
		var n int
		if err := w.db.QueryRow("SELECT count(*) FROM arrays WHERE " + cond).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != want {
			t.Errorf("%d rows where %s, want %d", n, cond, want)
		}
	}
}
