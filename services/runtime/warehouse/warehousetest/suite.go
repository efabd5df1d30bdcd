// Package warehousetest is the conformance suite every warehouse sink
// passes: exactly-once loads under redelivery and crashes, merge, append
// and replace, table creation and additive schema evolution, refusal of
// changed types and of values that do not fit, hostile identifiers.
package warehousetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	_ "github.com/marcboeker/go-duckdb" // writes the suite's Parquet files

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/engine"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
	"github.com/fusiondata/fusion/services/runtime/warehouse"
)

// Env is where one run of the suite keeps its state. A crash test re-runs
// the test binary, and the child must reach the same database: factories
// derive every location from Env.
type Env struct {
	Dir    string // a directory shared with the child process
	Schema string // a schema of the suite's own, created by the loads
}

// Factory opens the warehouse under test. Every call within one run of the
// suite must reach the same database.
type Factory func(t *testing.T, env Env, hooks warehouse.Hooks) warehouse.Warehouse

const (
	childEnv     = "FUSION_WAREHOUSETEST_CHILD" // dir|schema|table|load id
	crashExit    = 3
	noCrashExit  = 4
	crashSubtest = "crash_between_staging_and_merge"
)

// Run runs the suite.
func Run(t *testing.T, open Factory) {
	if v, ok := os.LookupEnv(childEnv); ok {
		crashChild(t, open, v)
		return
	}
	env := Env{Dir: t.TempDir(), Schema: "fusion_test_" + randomHex(4)}
	s := &suite{open: open, env: env, n: new(int)}
	t.Run("applies_a_load_once_however_often_it_arrives", s.redelivery)
	t.Run("merge_replaces_rows_by_key", s.merge)
	t.Run("append_and_replace", s.appendReplace)
	t.Run("types_round_trip", s.types)
	t.Run("new_columns_are_added_as_nullable", s.evolution)
	t.Run("changed_type_is_refused", s.changedType)
	t.Run("value_that_does_not_fit_names_row_and_column", s.valueDoesNotFit)
	t.Run("merge_keys_must_be_present_and_unique", s.badKeys)
	t.Run("hostile_identifiers_stay_identifiers", s.hostileNames)
	t.Run("failure_after_staging_applies_nothing", s.failAfterStage)
	t.Run(crashSubtest, s.crash)
}

type suite struct {
	open Factory
	env  Env
	n    *int
}

// table returns a fresh qualified table name.
func (s *suite) table(base string) string {
	*s.n++
	return fmt.Sprintf("%s.%s_%d", s.env.Schema, base, *s.n)
}

// parquet writes the rows of a DuckDB query to a Parquet file in Env.Dir.
func (s *suite) parquet(t *testing.T, query string) string {
	t.Helper()
	*s.n++
	path := filepath.Join(s.env.Dir, fmt.Sprintf("part-%d.parquet", *s.n))
	return WriteParquet(t, path, query)
}

// WriteParquet writes the rows of a DuckDB query to a Parquet file at path
// and returns the path.
func WriteParquet(t testing.TB, path, query string) string {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(fmt.Sprintf("COPY (%s) TO %s (FORMAT parquet)", query, engine.QuoteString(path))); err != nil {
		t.Fatal(err)
	}
	return path
}

// request is a load of one file, with its schema read from the file.
func (s *suite) request(t *testing.T, table, mode string, keys []string, file string) warehouse.LoadRequest {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cols, err := engine.Describe(context.Background(), db, "SELECT * FROM "+engine.ReadParquet(file))
	if err != nil {
		t.Fatal(err)
	}
	schema := make([]messages.Column, len(cols))
	for i, c := range cols {
		schema[i] = messages.Column{Name: c.Name, Type: c.Type}
	}
	*s.n++
	run := fmt.Sprintf("20261121-120000-%06d", *s.n)
	return warehouse.LoadRequest{LoadID: warehouse.LoadID(run, "p.curated", 0), RunID: run, Dataset: "p.curated",
		Table: table, Keys: keys, Mode: mode, Files: []string{file}, Schema: schema}
}

func load(t *testing.T, w warehouse.Warehouse, req warehouse.LoadRequest) warehouse.Result {
	t.Helper()
	res, err := w.Load(context.Background(), req)
	if err != nil {
		t.Fatalf("load %s: %v", req.LoadID, err)
	}
	return res
}

// scalar runs a query returning one value and prints it.
func scalar(t *testing.T, w warehouse.Warehouse, query string) string {
	t.Helper()
	var out string
	n := 0
	err := w.Query(context.Background(), query, func(_ []string, row []any) error {
		if row != nil {
			n++
			out = fmt.Sprint(row[0])
		}
		return nil
	})
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	if n != 1 {
		t.Fatalf("%s: %d rows", query, n)
	}
	return out
}

// q spells a table the suite created for a query: simple lower-case names
// unquoted, as a user would type them (Snowflake folds those to its
// upper-case form), others quoted.
func q(name string) string {
	parts := strings.Split(name, ".")
	for i, p := range parts {
		if !simple.MatchString(p) {
			parts[i] = engine.QuoteIdent(p)
		}
	}
	return strings.Join(parts, ".")
}

var simple = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

func (s *suite) redelivery(t *testing.T) {
	w := s.open(t, s.env, warehouse.Hooks{})
	table := s.table("items")
	req := s.request(t, table, pipeline.ModeMerge, []string{"id"},
		s.parquet(t, "SELECT i::BIGINT AS id, i * 1.5 AS v, 'n' || i AS name FROM range(1000) t(i)"))
	for i := 0; i < 3; i++ {
		res := load(t, w, req)
		if res.Applied != (i == 0) || res.Rows != 1000 {
			t.Errorf("delivery %d: %+v", i+1, res)
		}
	}
	// A replay through a fresh connection is a no-op too.
	if res := load(t, s.open(t, s.env, warehouse.Hooks{}), req); res.Applied {
		t.Errorf("replay applied again: %+v", res)
	}
	if got := scalar(t, w, "SELECT count(*) FROM "+q(table)); got != "1000" {
		t.Errorf("table holds %s rows, want 1000", got)
	}
	if got := scalar(t, w, "SELECT CAST(sum(v) AS BIGINT) FROM "+q(table)); got != "749250" {
		t.Errorf("sum(v) = %s, want 749250", got)
	}
}

func (s *suite) merge(t *testing.T) {
	w := s.open(t, s.env, warehouse.Hooks{})
	table := s.table("merged")
	load(t, w, s.request(t, table, pipeline.ModeMerge, []string{"id", "region"},
		s.parquet(t, "SELECT i::BIGINT AS id, 'eu' AS region, 1::BIGINT AS v FROM range(100) t(i)")))
	load(t, w, s.request(t, table, pipeline.ModeMerge, []string{"id", "region"},
		s.parquet(t, "SELECT i::BIGINT AS id, 'eu' AS region, 2::BIGINT AS v FROM range(50, 150) t(i) UNION ALL SELECT 0, 'us', 5")))
	if got := scalar(t, w, "SELECT count(*) FROM "+q(table)); got != "151" {
		t.Errorf("rows = %s, want 151", got)
	}
	if got := scalar(t, w, "SELECT sum(v) FROM "+q(table)); got != "255" {
		t.Errorf("sum(v) = %s, want 255 (50 kept, 100 replaced or new, 1 new key)", got)
	}
}

func (s *suite) appendReplace(t *testing.T) {
	w := s.open(t, s.env, warehouse.Hooks{})
	table := s.table("events")
	file := s.parquet(t, "SELECT i::BIGINT AS id FROM range(10) t(i)")
	load(t, w, s.request(t, table, pipeline.ModeAppend, nil, file))
	load(t, w, s.request(t, table, pipeline.ModeAppend, nil, file))
	if got := scalar(t, w, "SELECT count(*) FROM "+q(table)); got != "20" {
		t.Errorf("after two appends: %s rows, want 20", got)
	}
	load(t, w, s.request(t, table, pipeline.ModeReplace, nil, s.parquet(t, "SELECT 7::BIGINT AS id")))
	if got := scalar(t, w, "SELECT count(*) FROM "+q(table)); got != "1" {
		t.Errorf("after replace: %s rows, want 1", got)
	}
}

func (s *suite) types(t *testing.T) {
	w := s.open(t, s.env, warehouse.Hooks{})
	table := s.table("typed")
	load(t, w, s.request(t, table, pipeline.ModeMerge, []string{"id"}, s.parquet(t, `SELECT
		1::INTEGER AS id, true AS flag, 12345678901::BIGINT AS big, 2.5::DOUBLE AS ratio,
		123.45::DECIMAL(10,2) AS amount, 'héllo, "world"' AS text, DATE '2026-11-21' AS day,
		TIMESTAMP '2026-11-21 10:11:12.345678' AS ts, NULL::VARCHAR AS missing`)))
	checks := map[string]string{
		"flag":    "flag = true",
		"big":     "big = 12345678901",
		"ratio":   "ratio = 2.5",
		"amount":  "amount = 123.45",
		"text":    `text = 'héllo, "world"'`,
		"day":     "day = DATE '2026-11-21'",
		"ts":      "ts = TIMESTAMP '2026-11-21 10:11:12.345678'",
		"missing": "missing IS NULL",
	}
	for col, cond := range checks {
		if got := scalar(t, w, fmt.Sprintf("SELECT count(*) FROM %s WHERE %s", q(table), cond)); got != "1" {
			t.Errorf("%s: no row where %s", col, cond)
		}
	}
}

func (s *suite) evolution(t *testing.T) {
	w := s.open(t, s.env, warehouse.Hooks{})
	table := s.table("evolving")
	load(t, w, s.request(t, table, pipeline.ModeMerge, []string{"id"}, s.parquet(t, "SELECT i::BIGINT AS id, 1.0::DOUBLE AS v FROM range(3) t(i)")))
	load(t, w, s.request(t, table, pipeline.ModeMerge, []string{"id"}, s.parquet(t, "SELECT 10::BIGINT AS id, 2.0::DOUBLE AS v, 'new' AS note")))
	// Data that lacks a column leaves it NULL.
	load(t, w, s.request(t, table, pipeline.ModeMerge, []string{"id"}, s.parquet(t, "SELECT 11::BIGINT AS id")))
	if got := scalar(t, w, "SELECT count(*) FROM "+q(table)+" WHERE note IS NULL"); got != "4" {
		t.Errorf("rows without a note: %s, want 4", got)
	}
	if got := scalar(t, w, "SELECT count(*) FROM "+q(table)+" WHERE note = 'new'"); got != "1" {
		t.Errorf("rows with the new note: %s, want 1", got)
	}
}

func (s *suite) changedType(t *testing.T) {
	w := s.open(t, s.env, warehouse.Hooks{})
	table := s.table("changing")
	load(t, w, s.request(t, table, pipeline.ModeAppend, nil, s.parquet(t, "SELECT 1::BIGINT AS id, 'a' AS name")))
	req := s.request(t, table, pipeline.ModeAppend, nil, s.parquet(t, "SELECT 'one' AS id, 'b' AS name"))
	_, err := w.Load(context.Background(), req)
	if !errors.Is(err, warehouse.ErrIncompatible) || !strings.Contains(err.Error(), "column id") {
		t.Fatalf("got %v, want ErrIncompatible naming column id", err)
	}
	if got := scalar(t, w, "SELECT count(*) FROM "+q(table)); got != "1" {
		t.Errorf("table holds %s rows after a refused load, want 1", got)
	}
}

func (s *suite) valueDoesNotFit(t *testing.T) {
	w := s.open(t, s.env, warehouse.Hooks{})
	table := s.table("narrow")
	load(t, w, s.request(t, table, pipeline.ModeAppend, nil, s.parquet(t, "SELECT 1::BIGINT AS id, 5::DECIMAL(4,0) AS small")))
	// BIGINT data into the DECIMAL(4,0) column (a type every warehouse
	// has): values are checked, the fourth does not fit.
	req := s.request(t, table, pipeline.ModeAppend, nil,
		s.parquet(t, "SELECT i::BIGINT AS id, (i * 4000)::BIGINT AS small FROM range(10) t(i)"))
	_, err := w.Load(context.Background(), req)
	var re *warehouse.RowError
	if !errors.As(err, &re) || re.Row != 4 || re.Column != "small" || re.File != 0 || !errors.Is(err, warehouse.ErrIncompatible) {
		t.Fatalf("got %v (%+v), want row 4, column small", err, re)
	}
	if got := scalar(t, w, "SELECT count(*) FROM "+q(table)); got != "1" {
		t.Errorf("table holds %s rows after a refused load, want 1", got)
	}
	// Values that fit load.
	load(t, w, s.request(t, table, pipeline.ModeAppend, nil, s.parquet(t, "SELECT 2::BIGINT AS id, 7::BIGINT AS small")))
	if got := scalar(t, w, "SELECT CAST(sum(small) AS BIGINT) FROM "+q(table)); got != "12" {
		t.Errorf("sum(small) = %s, want 12", got)
	}
}

func (s *suite) badKeys(t *testing.T) {
	w := s.open(t, s.env, warehouse.Hooks{})
	table := s.table("keyed")
	_, err := w.Load(context.Background(), s.request(t, table, pipeline.ModeMerge, []string{"id"},
		s.parquet(t, "SELECT * FROM (VALUES (1::BIGINT, 'a'), (NULL, 'b')) v(id, name)")))
	var re *warehouse.RowError
	if !errors.As(err, &re) || re.Row != 2 || re.Column != "id" {
		t.Errorf("NULL key: got %v, want row 2, column id", err)
	}
	_, err = w.Load(context.Background(), s.request(t, table, pipeline.ModeMerge, []string{"id"},
		s.parquet(t, "SELECT * FROM (VALUES (1::BIGINT, 'a'), (1, 'b')) v(id, name)")))
	if !errors.Is(err, warehouse.ErrIncompatible) || !strings.Contains(err.Error(), "id=1") {
		t.Errorf("repeated key: got %v", err)
	}
}

func (s *suite) hostileNames(t *testing.T) {
	w := s.open(t, s.env, warehouse.Hooks{})
	table := s.env.Schema + `.t"; DROP TABLE x; --`
	load(t, w, s.request(t, table, pipeline.ModeMerge, []string{`k"ey`},
		s.parquet(t, `SELECT 1::BIGINT AS "k""ey", 'v' AS "a b; DELETE FROM x"`)))
	load(t, w, s.request(t, table, pipeline.ModeMerge, []string{`k"ey`},
		s.parquet(t, `SELECT 1::BIGINT AS "k""ey", 'w' AS "a b; DELETE FROM x", 2::BIGINT AS "new'col"`)))
	if got := scalar(t, w, `SELECT "a b; DELETE FROM x" FROM `+q(table)+` WHERE "k""ey" = 1 AND "new'col" = 2`); got != "w" {
		t.Errorf("got %q", got)
	}
}

func (s *suite) failAfterStage(t *testing.T) {
	boom := errors.New("injected failure")
	failing := s.open(t, s.env, warehouse.Hooks{AfterStage: func(string) error { return boom }})
	table := s.table("failing")
	base := s.request(t, table, pipeline.ModeMerge, []string{"id"}, s.parquet(t, "SELECT i::BIGINT AS id FROM range(5) t(i)"))
	load(t, s.open(t, s.env, warehouse.Hooks{}), base)
	req := s.request(t, table, pipeline.ModeMerge, []string{"id"}, s.parquet(t, "SELECT i::BIGINT AS id, 'x' AS extra FROM range(3, 10) t(i)"))
	if _, err := failing.Load(context.Background(), req); !errors.Is(err, boom) {
		t.Fatalf("got %v, want the injected failure", err)
	}
	w := s.open(t, s.env, warehouse.Hooks{})
	if got := scalar(t, w, "SELECT count(*) FROM "+q(table)); got != "5" {
		t.Errorf("after the failed load: %s rows, want 5", got)
	}
	if res := load(t, w, req); !res.Applied || res.Rows != 7 {
		t.Errorf("retry: %+v, want applied with 7 rows", res)
	}
	if got := scalar(t, w, "SELECT count(*) FROM "+q(table)); got != "10" {
		t.Errorf("after the retry: %s rows, want 10", got)
	}
}

// crash kills a child process between staging and merge, then retries the
// load: the table must show it exactly once.
func (s *suite) crash(t *testing.T) {
	w := s.open(t, s.env, warehouse.Hooks{})
	table := s.table("crashing")
	load(t, w, s.request(t, table, pipeline.ModeMerge, []string{"id"}, s.parquet(t, "SELECT i::BIGINT AS id, 0::BIGINT AS v FROM range(100) t(i)")))
	file := s.parquet(t, "SELECT i::BIGINT AS id, 1::BIGINT AS v FROM range(50, 1050) t(i)")
	req := s.request(t, table, pipeline.ModeMerge, []string{"id"}, file)

	top := strings.SplitN(t.Name(), "/", 2)[0]
	cmd := exec.Command(os.Args[0], "-test.run=^"+regexp.QuoteMeta(top)+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"="+strings.Join([]string{s.env.Dir, s.env.Schema, table, file, req.RunID}, "|"))
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != crashExit {
		t.Fatalf("child did not crash after staging (%v):\n%s", err, out)
	}

	w = s.open(t, s.env, warehouse.Hooks{})
	if got := scalar(t, w, "SELECT count(*) FROM "+q(table)); got != "100" {
		t.Errorf("after the crash: %s rows, want the 100 of the first load", got)
	}
	for i := 0; i < 2; i++ {
		res := load(t, w, req)
		if res.Applied != (i == 0) || res.Rows != 1000 {
			t.Errorf("retry %d: %+v", i+1, res)
		}
	}
	if got := scalar(t, w, "SELECT count(*) FROM "+q(table)); got != "1050" {
		t.Errorf("after the retry: %s rows, want 1050", got)
	}
	if got := scalar(t, w, "SELECT sum(v) FROM "+q(table)); got != "1000" {
		t.Errorf("sum(v) = %s, want 1000", got)
	}
}

// crashChild loads and exits inside the AfterStage hook, as a killed
// worker would: no deferred cleanup, no rollback, the connection dropped.
func crashChild(t *testing.T, open Factory, v string) {
	p := strings.Split(v, "|")
	if len(p) != 5 {
		t.Fatalf("%s=%q", childEnv, v)
	}
	env := Env{Dir: p[0], Schema: p[1]}
	s := &suite{env: env, n: new(int)}
	req := s.request(t, p[2], pipeline.ModeMerge, []string{"id"}, p[3])
	req.RunID = p[4]
	req.LoadID = warehouse.LoadID(req.RunID, "p.curated", 0)
	w := open(t, env, warehouse.Hooks{AfterStage: func(string) error {
		os.Exit(crashExit)
		return nil
	}})
	_, err := w.Load(context.Background(), req)
	fmt.Fprintf(os.Stderr, "load returned %v without reaching the hook\n", err)
	os.Exit(noCrashExit)
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
