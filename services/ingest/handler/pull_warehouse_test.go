//go:build warehouse

package handler

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/catalog"
	"github.com/fusiondata/fusion/services/runtime/warehouse/warehousetest"
	"github.com/fusiondata/fusion/services/runtime/worker"
	"github.com/fusiondata/fusion/services/runtime/worker/workertest"
)

// pgFixture is a source database schema of the test's own, dropped afterwards.
type pgFixture struct {
	t      *testing.T
	conn   *pgx.Conn
	schema string
}

func newPGFixture(t *testing.T) *pgFixture {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, warehousetest.PostgresDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	f := &pgFixture{t: t, conn: conn, schema: fmt.Sprintf("src_%d", rand.Uint32())}
	f.exec(`CREATE SCHEMA ` + f.schema)
	t.Cleanup(func() {
		conn.Exec(ctx, `DROP SCHEMA `+f.schema+` CASCADE`)
		conn.Close(ctx)
	})
	return f
}

func (f *pgFixture) exec(sql string, args ...any) {
	f.t.Helper()
	if _, err := f.conn.Exec(context.Background(), sql, args...); err != nil {
		f.t.Fatalf("%s: %v", sql, err)
	}
}

// newPGStack is an ingest stack whose "crm" connection is the test database.
func newPGStack(t *testing.T, pipelines map[string]string) *ingestStack {
	t.Helper()
	s := workertest.New(t, pipelines)
	s.Deps.Connections = map[string]string{"crm": warehousetest.PostgresDSN(t), "warehouse": "snowflake://x:y@acct/db/schema"}
	w, err := New(s.Deps)
	if err != nil {
		t.Fatal(err)
	}
	return &ingestStack{Stack: s, w: w, at: time.Date(2026, 11, 21, 15, 16, 0, 0, time.UTC)}
}

func (s *ingestStack) bookmark(t *testing.T, p, source string) string {
	t.Helper()
	b, err := s.Store.Bookmark(context.Background(), p, source)
	if err != nil {
		t.Fatal(err)
	}
	if b == nil {
		return "<none>"
	}
	return *b
}

func pgPipeline(name, table, extra string) string {
	return fmt.Sprintf("name: %s\nsource:\n  postgres:\n    connection: crm\n    table: %s\n%stransform: {sql: SELECT * FROM input}\n", name, table, extra)
}

func TestPullFullTable(t *testing.T) {
	f := newPGFixture(t)
	f.exec(`CREATE TABLE ` + f.schema + `.customers (id int PRIMARY KEY, name text, score numeric(6,2))`)
	f.exec(`INSERT INTO ` + f.schema + `.customers SELECT i, 'c' || i, i / 4.0 FROM generate_series(1, 1000) i`)
	s := newPGStack(t, map[string]string{"customers.yaml": pgPipeline("customers", f.schema+".customers", "")})

	ev, run, err := s.request(t, "customers", "r1")
	if err != nil {
		t.Fatal(err)
	}
	if ev.Dataset.Rows != 1000 || ev.Dataset.Name != "customers.raw" || ev.Dataset.Zone != "raw" || ev.RunID != run.RunID {
		t.Errorf("dataset %+v", ev.Dataset)
	}
	if got := fmt.Sprint(ev.Dataset.Schema); got != "[{id INTEGER} {name VARCHAR} {score DECIMAL(6,2)}]" {
		t.Errorf("schema %s", got)
	}
	if ev.Source.Key != "postgres:crm/"+f.schema+".customers" || ev.Raw.Key != ev.Dataset.Objects[0] || !strings.HasPrefix(ev.Raw.Key, "raw/customers/"+run.RunID+"/") {
		t.Errorf("source %+v raw %+v", ev.Source, ev.Raw)
	}
	if got := s.Query(t, fmt.Sprintf("SELECT count(*), sum(id), sum(score)::VARCHAR, max(name) FROM read_parquet('%s')", s.Path(t, ev.Raw.Key))); strings.Join(got[0], ",") != "1000,500500,125125.00,c999" {
		t.Errorf("raw copy %v", got)
	}
	d, err := s.Store.Get(context.Background(), "customers.raw", run.RunID)
	if err != nil || d.Rows != 1000 || d.Producer != "ingest" {
		t.Errorf("catalog %+v %v", d, err)
	}
	// Without a bookmark every run copies the whole table.
	f.exec(`INSERT INTO ` + f.schema + `.customers VALUES (1001, 'late', 1)`)
	ev2, _, err := s.request(t, "customers", "r2")
	if err != nil || ev2.Dataset.Rows != 1001 {
		t.Errorf("second full copy: %v rows, %v", ev2.Dataset.Rows, err)
	}
}

// TestPullIncrementally: three runs pick up each inserted or updated row
// once; a redelivered request reads the same range and moves the bookmark
// once.
func TestPullIncrementally(t *testing.T) {
	f := newPGFixture(t)
	tbl := f.schema + ".orders"
	f.exec(`CREATE TABLE ` + tbl + ` (id int PRIMARY KEY, amount numeric(10,2), updated_at timestamptz NOT NULL)`)
	f.exec(`INSERT INTO ` + tbl + ` SELECT i, i, '2026-01-01 00:00:00+00'::timestamptz + i * interval '1 minute' FROM generate_series(1, 100) i`)
	f.exec(`INSERT INTO ` + tbl + ` VALUES (0, 0, '2026-01-01 00:00:00.000001+00')`) // microseconds survive the bookmark
	s := newPGStack(t, map[string]string{"orders.yaml": pgPipeline("orders", tbl, "    bookmark: updated_at\n")})
	source := "postgres:crm/" + tbl + "#updated_at"
	seen := map[string]int{} // id@updated_at -> times copied

	pull := func(request string, wantRows int64) *messages.DatasetIngested {
		t.Helper()
		ev, _, err := s.request(t, "orders", request)
		if err != nil {
			t.Fatalf("%s: %v", request, err)
		}
		if ev.Dataset.Rows != wantRows {
			t.Errorf("%s copied %d rows, want %d", request, ev.Dataset.Rows, wantRows)
		}
		return ev
	}
	count := func(ev *messages.DatasetIngested) {
		for _, r := range s.rows(t, ev, "id, updated_at::VARCHAR") {
			seen[r]++
		}
	}

	ev1 := pull("run1", 101)
	count(ev1)
	if b := s.bookmark(t, "orders", source); b != "2026-01-01 01:40:00+00" {
		t.Errorf("bookmark after run1: %s", b)
	}
	// A redelivery of run1 after the table changed: the recorded copy, the same rows.
	f.exec(`UPDATE ` + tbl + ` SET amount = -1 WHERE id = 1`)
	again := pull("run1", 101)
	if again.Raw != ev1.Raw || fmt.Sprint(s.rows(t, again, "id, amount::VARCHAR")) != fmt.Sprint(s.rows(t, ev1, "id, amount::VARCHAR")) {
		t.Error("a redelivered request changed the raw copy")
	}
	f.exec(`UPDATE ` + tbl + ` SET amount = 1 WHERE id = 1`)

	// Run 2: two new rows and one updated row.
	f.exec(`INSERT INTO ` + tbl + ` VALUES (101, 101, '2026-01-02 00:00:00+00'), (102, 102, '2026-01-02 00:00:01+00')`)
	f.exec(`UPDATE ` + tbl + ` SET amount = 50.5, updated_at = '2026-01-02 00:00:02+00' WHERE id = 50`)
	ev2 := pull("run2", 3)
	count(ev2)
	if got := s.rows(t, ev2, "id, amount::VARCHAR"); fmt.Sprint(got) != "[101|101.00 102|102.00 50|50.50]" {
		t.Errorf("run2 rows %v", got)
	}
	if b := s.bookmark(t, "orders", source); b != "2026-01-02 00:00:02+00" {
		t.Errorf("bookmark after run2: %s", b)
	}

	// Run 3 finds nothing new: it completes with 0 rows and an empty, typed copy.
	ev3 := pull("run3", 0)
	if got := s.Query(t, fmt.Sprintf("SELECT count(*) FROM read_parquet('%s')", s.Path(t, ev3.Raw.Key))); got[0][0] != "0" || len(ev3.Dataset.Schema) != 3 {
		t.Errorf("empty run: %v, schema %v", got, ev3.Dataset.Schema)
	}
	if b := s.bookmark(t, "orders", source); b != "2026-01-02 00:00:02+00" {
		t.Errorf("an empty run moved the bookmark to %s", b)
	}

	// Run 4 crashes after fixing its range; rows arrive; its redelivery
	// reads the range fixed first, and run 5 gets the rest.
	f.exec(`INSERT INTO ` + tbl + ` VALUES (103, 103, '2026-01-03 00:00:00+00')`)
	rq := &messages.IngestRequested{Pipeline: "orders", RequestID: "run4"}
	env, _ := messages.New(rq, time.Date(2026, 11, 21, 15, 16, 0, 0, time.UTC))
	high := "2026-01-03 00:00:00+00"
	if _, err := s.Store.StartPull(context.Background(), catalog.Pull{RunID: rq.StartRun(env).RunID, Pipeline: "orders", Source: source, High: &high, StartedAt: time.Now().Add(-time.Hour)}, time.Minute); err != nil {
		t.Fatal(err)
	}
	f.exec(`INSERT INTO ` + tbl + ` VALUES (104, 104, '2026-01-04 00:00:00+00')`)
	ev4 := pull("run4", 1)
	count(ev4)
	ev5 := pull("run5", 1)
	count(ev5)
	if got := s.rows(t, ev5, "id"); fmt.Sprint(got) != "[104]" {
		t.Errorf("run5 rows %v", got)
	}

	// Every version of every row was copied exactly once.
	for k, n := range seen {
		if n != 1 {
			t.Errorf("%s copied %d times", k, n)
		}
	}
	if len(seen) != 101+3+1+1 {
		t.Errorf("%d row versions copied", len(seen))
	}
}

// TestPullOneAtATime: while a run of the pipeline holds its pull, another
// waits (a retryable error naming that run).
func TestPullOneAtATime(t *testing.T) {
	f := newPGFixture(t)
	f.exec(`CREATE TABLE ` + f.schema + `.t (id bigint)`)
	s := newPGStack(t, map[string]string{"p.yaml": pgPipeline("p", f.schema+".t", "    bookmark: id\n")})
	if _, err := s.Store.StartPull(context.Background(), catalog.Pull{RunID: "20261121-000000-aaaaaa", Pipeline: "p", Source: "x", StartedAt: time.Now()}, time.Minute); err != nil {
		t.Fatal(err)
	}
	_, _, err := s.request(t, "p", "r1")
	if err == nil || worker.IsPermanent(err) || !errors.Is(err, catalog.ErrPullBusy) || !strings.Contains(err.Error(), "20261121-000000-aaaaaa") {
		t.Fatalf("got %v", err)
	}
}

// TestPullTypes: every supported Postgres type lands as its DuckDB type
// with its value intact, NULLs stay NULL and empty strings stay empty.
func TestPullTypes(t *testing.T) {
	f := newPGFixture(t)
	f.exec(`CREATE TYPE ` + f.schema + `.mood AS ENUM ('sad', 'happy')`)
	f.exec(`CREATE DOMAIN ` + f.schema + `.cents AS bigint`)
	f.exec(`CREATE TABLE ` + f.schema + `.types (
		i2 int2, i4 int4, i8 int8, n numeric(12,3), nfree numeric, f4 float4, f8 float8, b bool,
		t text, vc varchar(10), ch char(3), d date, ts timestamp, tstz timestamptz, u uuid, j json, jb jsonb,
		m ` + f.schema + `.mood, c ` + f.schema + `.cents)`)
	f.exec(`INSERT INTO ` + f.schema + `.types VALUES
		(-32768, 2147483647, -9223372036854775808, -123456789.125, 1.5, 1.5, 0.1, true,
		 e'multi\nline, "quoted"', '', 'ab', '2024-02-29', '2024-02-29 13:14:15.123456', '2024-02-29 13:14:15.5+02',
		 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"a": [1, 2]}', '{"b": null}', 'happy', 42),
		(NULL, NULL, NULL, NULL, NULL, 'NaN', '-Infinity', NULL, NULL, NULL, NULL, NULL, 'infinity', NULL, NULL, NULL, NULL, NULL, NULL)`)
	s := newPGStack(t, map[string]string{"types.yaml": pgPipeline("types", f.schema+".types", "")})
	ev, _, err := s.request(t, "types", "r1")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"i2": "SMALLINT", "i4": "INTEGER", "i8": "BIGINT", "n": "DECIMAL(12,3)", "nfree": "DOUBLE", "f4": "FLOAT", "f8": "DOUBLE",
		"b": "BOOLEAN", "t": "VARCHAR", "vc": "VARCHAR", "ch": "VARCHAR", "d": "DATE", "ts": "TIMESTAMP", "tstz": "TIMESTAMP WITH TIME ZONE", "u": "VARCHAR",
		"j": "VARCHAR", "jb": "VARCHAR", "m": "VARCHAR", "c": "BIGINT"}
	for _, c := range ev.Dataset.Schema {
		if want[c.Name] != c.Type {
			t.Errorf("%s is %s, want %s", c.Name, c.Type, want[c.Name])
		}
	}
	// The Parquet file holds the same types.
	for _, c := range s.Query(t, fmt.Sprintf("SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('%s'))", s.Path(t, ev.Raw.Key))) {
		if want[c[0]] != c[1] {
			t.Errorf("parquet column %s is %s, want %s", c[0], c[1], want[c[0]])
		}
	}
	got := s.Query(t, fmt.Sprintf(`SELECT i2, i4, i8, n::VARCHAR, nfree, f4, f8, b, t, vc, ch, d::VARCHAR, ts::VARCHAR,
		tstz::VARCHAR, u, j, jb, m, c, t IS NULL, vc = ''
		FROM read_parquet('%s') ORDER BY i2 NULLS LAST`, s.Path(t, ev.Raw.Key)))
	first := []string{"-32768", "2147483647", "-9223372036854775808", "-123456789.125", "1.5", "1.5", "0.1", "true",
		"multi\nline, \"quoted\"", "", "ab ", "2024-02-29", "2024-02-29 13:14:15.123456", "2024-02-29 11:14:15.5+00",
		"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", `{"a": [1, 2]}`, `{"b": null}`, "happy", "42", "false", "true"}
	if len(got) != 2 || strings.Join(got[0], "|") != strings.Join(first, "|") {
		t.Errorf("row 1:\n got %q\nwant %q", got, first)
	}
	if second := strings.Join(got[1], "|"); second != "|||||NaN|-Inf||||||infinity|||||||true|" {
		t.Errorf("row 2 (NULLs, special floats, infinite timestamp): %q", second)
	}
}

// TestPullQuotedNames: schema, table and column names with spaces,
// capitals and quotes, a bookmark among them, and a column selection.
func TestPullQuotedNames(t *testing.T) {
	f := newPGFixture(t)
	schema := `My "Schema" ` + f.schema
	q := func(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
	f.exec(`CREATE SCHEMA ` + q(schema))
	t.Cleanup(func() { f.conn.Exec(context.Background(), `DROP SCHEMA `+q(schema)+` CASCADE`) })
	tbl := q(schema) + `.` + q(`Order "Lines"`)
	f.exec(`CREATE TABLE ` + tbl + ` ("Line Id" int, "Order Total" numeric(8,2), "Updated At" bigint, "x; DROP TABLE y" text)`)
	f.exec(`INSERT INTO ` + tbl + ` VALUES (1, 9.99, 10, 'a'), (2, 19.99, 20, 'b')`)
	yamlName := func(s string) string { return `'` + strings.ReplaceAll(q(s), `'`, `''`) + `'` }
	def := pgPipeline("lines", `'`+strings.ReplaceAll(tbl, `'`, `''`)+`'`,
		"    bookmark: "+yamlName("Updated At")+"\n    columns: ["+yamlName("Line Id")+", "+yamlName("Order Total")+", "+yamlName("x; DROP TABLE y")+"]\n")
	s := newPGStack(t, map[string]string{"lines.yaml": def})
	ev, _, err := s.request(t, "lines", "r1")
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(ev.Dataset.Schema); got != "[{Line Id INTEGER} {Order Total DECIMAL(8,2)} {x; DROP TABLE y VARCHAR}]" {
		t.Errorf("schema %s", got)
	}
	if got := s.rows(t, ev, `"Line Id", "Order Total"::VARCHAR, "x; DROP TABLE y"`); fmt.Sprint(got) != "[1|9.99|a 2|19.99|b]" {
		t.Errorf("rows %v", got)
	}
	if !strings.HasSuffix(ev.Raw.Key, "/Order_Lines_.parquet") {
		t.Errorf("raw key %s", ev.Raw.Key)
	}
	f.exec(`INSERT INTO ` + tbl + ` VALUES (3, 1, 30, 'c')`)
	if ev, _, err := s.request(t, "lines", "r2"); err != nil || ev.Dataset.Rows != 1 {
		t.Errorf("incremental: %v", err)
	}
}

// TestPullDeclaredSchema: source.schema selects columns, casts them, and
// requires values.
func TestPullDeclaredSchema(t *testing.T) {
	f := newPGFixture(t)
	f.exec(`CREATE TABLE ` + f.schema + `.t (id int, span interval, amount numeric, note text)`)
	f.exec(`INSERT INTO ` + f.schema + `.t VALUES (1, '1 day', 2.5, 'x'), (2, '2 hours', 3, NULL)`)
	schema := "  schema:\n    - {name: id, type: BIGINT, required: true}\n    - {name: span, type: VARCHAR}\n    - {name: amount, type: 'DECIMAL(10,2)'}\n"
	s := newPGStack(t, map[string]string{
		"ok.yaml":  strings.Replace(pgPipeline("ok", f.schema+".t", ""), "transform:", schema+"transform:", 1),
		"req.yaml": strings.Replace(pgPipeline("req", f.schema+".t", ""), "transform:", "  schema: [{name: note, type: VARCHAR, required: true}]\ntransform:", 1),
	})
	ev, _, err := s.request(t, "ok", "r1")
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(ev.Dataset.Schema); got != "[{id BIGINT} {span VARCHAR} {amount DECIMAL(10,2)}]" {
		t.Errorf("schema %s", got)
	}
	if got := s.rows(t, ev, "id, span, amount::VARCHAR"); fmt.Sprint(got) != "[1|1 day|2.50 2|02:00:00|3.00]" {
		t.Errorf("rows %v", got)
	}
	_, _, err = s.request(t, "req", "r1")
	if !worker.IsPermanent(err) || !strings.Contains(err.Error(), `column "note": 1 rows have no value, and source.schema requires one`) {
		t.Errorf("required: %v", err)
	}
}

// TestPullErrors: configuration the source does not match fails for good
// with a message naming the pipeline, the table and the column; a server
// that does not answer is retried.
func TestPullErrors(t *testing.T) {
	f := newPGFixture(t)
	tbl := f.schema + ".t"
	f.exec(`CREATE TABLE ` + tbl + ` (id int, name text, span interval, at timestamp)`)
	cases := []struct {
		name, def string
		conns     map[string]string
		permanent bool
		want      []string
	}{
		{"missing connection", strings.Replace(pgPipeline("p", tbl, ""), "connection: crm", "connection: billing", 1), nil, true,
			[]string{"pipeline p: postgres table " + tbl + " (connection billing)", "FUSION_CONN_BILLING"}},
		{"not a postgres url", strings.Replace(pgPipeline("p", tbl, ""), "connection: crm", "connection: warehouse", 1), nil, true,
			[]string{"connection warehouse is a snowflake URL, not postgres://"}},
		{"missing table", pgPipeline("p", f.schema+".nope", ""), nil, true,
			[]string{"pipeline p: postgres table " + f.schema + ".nope (connection crm)", "no such table"}},
		{"missing column", pgPipeline("p", tbl, "    columns: [id, nope]\n"), nil, true,
			[]string{"source.postgres.columns[1]: no such column: \"nope\" (the table has id, name, span, at)"}},
		{"missing bookmark", pgPipeline("p", tbl, "    columns: [id]\n    bookmark: changed\n"), nil, true,
			[]string{"source.postgres.bookmark: no such column: \"changed\""}},
		{"bookmark type", pgPipeline("p", tbl, "    columns: [id]\n    bookmark: name\n"), nil, true,
			[]string{"source.postgres.bookmark:", `column "name" is text; a bookmark must be an integer, numeric, date or timestamp column`}},
		{"unsupported type", pgPipeline("p", tbl, ""), nil, true,
			[]string{"pipeline p: postgres table " + tbl, `column "span" is interval`, "declare the column VARCHAR in source.schema"}},
		{"schema column", strings.Replace(pgPipeline("p", tbl, ""), "transform:", "  schema: [{name: ID, type: BIGINT}]\ntransform:", 1), nil, true,
			[]string{"source.schema[0].name: no such column: \"ID\""}},
		{"server down", pgPipeline("p", tbl, "    columns: [id]\n"), map[string]string{"crm": "postgres://fusion@127.0.0.1:1/fusion?sslmode=disable&connect_timeout=2"}, false,
			[]string{"pipeline p: postgres table " + tbl + " (connection crm)", "connect to 127.0.0.1:1/fusion"}},
		{"no database", pgPipeline("p", tbl, "    columns: [id]\n"), map[string]string{"crm": strings.Replace(warehousetest.PostgresDSN(t), "/fusion?", "/nope_db?", 1)}, true,
			[]string{"nope_db"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newPGStack(t, map[string]string{"p.yaml": c.def})
			for k, v := range c.conns {
				s.Deps.Connections[k] = v
			}
			_, _, err := s.request(t, "p", "r1")
			if err == nil {
				t.Fatal("succeeded")
			}
			if worker.IsPermanent(err) != c.permanent {
				t.Errorf("permanent = %v: %v", !c.permanent, err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			// A pull that failed for good holds nothing: the next request runs.
			if c.permanent {
				if _, err := s.Store.StartPull(context.Background(), catalog.Pull{RunID: "20261121-000000-bbbbbb", Pipeline: "p", Source: "x", StartedAt: time.Now()}, time.Minute); err != nil {
					t.Errorf("pipeline still held: %v", err)
				}
			}
		})
	}
}
