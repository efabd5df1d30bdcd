//go:build jobs

package cli

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/config"
	"github.com/fusiondata/fusion/services/runtime/ledger"
	"github.com/fusiondata/fusion/services/runtime/platform"
	"github.com/fusiondata/fusion/services/runtime/warehouse/warehousetest"
)

// pgSchema is a Postgres schema of the test's own, dropped afterwards,
// and a DSN whose unqualified tables go there.
func pgSchema(t *testing.T) (conn *pgx.Conn, schema, dsn string) {
	t.Helper()
	ctx := context.Background()
	base := warehousetest.PostgresDSN(t)
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	schema = fmt.Sprintf("jobs_act_%d", rand.Uint32())
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); conn.Close(ctx) })
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return conn, schema, base + sep + "search_path=" + schema
}

func pgRows(t *testing.T, conn *pgx.Conn, sql string) string {
	t.Helper()
	rows, err := conn.Query(context.Background(), sql)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	var out []string
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, strings.Trim(fmt.Sprint(vals), "[]"))
	}
	if rows.Err() != nil {
		t.Fatalf("%s: %v", sql, rows.Err())
	}
	return strings.Join(out, "; ")
}

// fusionWithEnv runs the CLI in process with the environment env, as
// main reads it.
func fusionWithEnv(t *testing.T, env []string, args ...string) (int, string, string) {
	t.Helper()
	cfg, err := config.FromEnv(env)
	var out, errOut bytes.Buffer
	code := Execute(cfg, err, args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// runStep returns a run's step by name.
func runStep(r ledger.Run, name string) (ledger.Step, bool) {
	for _, s := range r.Steps {
		if s.Name == name {
			return s, true
		}
	}
	return ledger.Step{}, false
}

// activitiesHome starts every worker on a new home with the given
// pipelines and connections; dedup as configured unless noDedup, which
// lets one event run its step again (as two tasks without shared marks).
func activitiesHome(t *testing.T, pipelines map[string]string, conns map[string]string, noDedup bool) *platform.Platform {
	t.Helper()
	home := t.TempDir()
	dir := filepath.Join(home, "pipelines")
	os.MkdirAll(dir, 0o755)
	for name, body := range pipelines {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := config.Config{Home: home, LandingPoll: 20 * time.Millisecond, Retries: 1, Concurrency: 2, Connections: conns}
	return startWith(t, cfg, func(p *platform.Platform) {
		if noDedup {
			p.Deps.Dedup = nil
		}
	})
}

// TestJobsTrainingDemo: `fusion demo --pipeline churn_training` builds the
// training set once this run's curated customers are in the warehouse
// (its precondition) and checks the manifest with its shell activity.
func TestJobsTrainingDemo(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	code, out, errOut := fusion(t, "demo", "--pipeline", "churn_training", "--home", home)
	if code != 0 {
		t.Fatalf("demo exited %d\n%s\n%s\n%s", code, out, errOut, readLog(home))
	}
	for _, want := range []string{"pipeline churn_training  succeeded", "ingest                   succeeded  10000    10000",
		"transform                succeeded  10000    9955", "traindata                succeeded  9955     9955",
		"load.curated             succeeded  9955     9955", "activity.check_manifest  succeeded",
		"training set  train 6863  validation 1544  test 1548"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	if got := query(t, home, "SELECT count(*), count(DISTINCT customer_id) FROM churn_training_customers"); fmt.Sprint(got) != "[[9955 9955]]" {
		t.Errorf("churn_training_customers: %v", got)
	}
	splits, _ := filepath.Glob(filepath.Join(home, "lake/training/churn_training/*/*.parquet"))
	if len(splits) != 3 {
		t.Fatalf("splits %v", splits)
	}
	if got := query(t, home, "SELECT count(*) FROM read_parquet('"+filepath.Join(home, "lake/training/churn_training/*/*.parquet")+"')"); fmt.Sprint(got) != "[[9955]]" {
		t.Errorf("the splits hold %v rows", got)
	}
	// The shell activity saw the manifest and printed each split's rows.
	if !regexp.MustCompile(`"msg":"shell activity done".*"activity":"check_manifest".*"output":"train=6863 validation=1544 test=1548"`).MatchString(readLog(home)) {
		t.Errorf("the manifest check did not report the splits:\n%s", readLog(home))
	}
	// The split waited for this run's load (its precondition) and held.
	if !strings.Contains(readLog(home), `"msg":"precondition holds","service":"fusion","worker":"traindata","step":"traindata"`) {
		t.Error("traindata did not wait for its precondition")
	}
}

// TestJobsScoringDemo: `fusion demo --pipeline churn_scoring` scores every
// customer with the registered model, loads the scores, exports them to the
// lake and to the reporting database, and prunes the negligible ones; the
// graph shows the activities where the rules put them.
func TestJobsScoringDemo(t *testing.T) {
	pg, schema, dsn := pgSchema(t)
	home := filepath.Join(t.TempDir(), "home")
	code, out, errOut := fusionWithEnv(t, []string{"FUSION_CONN_REPORTING=" + dsn}, "demo", "--pipeline", "churn_scoring", "--home", home)
	if code != 0 {
		t.Fatalf("demo exited %d\n%s\n%s\n%s", code, out, errOut, readLog(home))
	}
	ref := reference(t)
	kept, sum := 0, 0.0
	for _, s := range ref {
		if s[0] >= 0.08 {
			kept++
		}
		sum += s[0]
	}
	pruned := len(ref) - kept
	for _, want := range []string{"pipeline churn_scoring  succeeded", "inference                  succeeded  9955     9955",
		"load.predictions           succeeded  9955     9955", "activity.export_lake       succeeded",
		"activity.export_reporting  succeeded  9955     9955", fmt.Sprintf("activity.prune_low_scores  succeeded  0        %d", pruned),
		"export_reporting   scores copied to postgres://reporting/churn_scores"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	if got := query(t, home, "SELECT count(*), min(score) >= 0.08 FROM churn_scores"); fmt.Sprint(got) != fmt.Sprintf("[[%d true]]", kept) {
		t.Errorf("churn_scores after the prune: %v, want %d rows", got, kept)
	}
	exports, _ := filepath.Glob(filepath.Join(home, "lake/exports/churn_scores/*/*/churn_lgbm-1.parquet"))
	if len(exports) != 1 {
		t.Fatalf("lake exports %v", exports)
	}
	checkScores := func(what, got string) {
		t.Helper()
		parts := strings.Fields(got)
		if len(parts) != 2 || parts[0] != strconv.Itoa(len(ref)) {
			t.Fatalf("%s: %q, want %d scores", what, got, len(ref))
		}
		if s, _ := strconv.ParseFloat(parts[1], 64); math.Abs(s-sum) > 1e-6 {
			t.Errorf("%s: scores sum to %v, lightgbm's to %v", what, s, sum)
		}
	}
	checkScores("lake export", strings.Join(query(t, home, "SELECT count(*), sum(score) FROM read_parquet('"+exports[0]+"')")[0], " "))
	checkScores("postgres export", pgRows(t, pg, "SELECT count(*), sum(score)::float8 FROM "+schema+".churn_scores"))

	// The graph draws the activities after the steps they follow.
	code, graph, _ := fusion(t, "graph", "--home", home, "--pipeline", "churn_scoring")
	for _, want := range []string{`churn_scoring_step_activity_export_lake["activity.export_lake<br/>ingest → copy to lake:exports/churn_scores/{{date}}/{{run_id}}/"]`,
		`churn_scoring_event_fusion_dataset_loaded_v1 -->|"fusion-churn-scoring-activity-export_lake"| churn_scoring_step_activity_export_lake`,
		`churn_scoring_event_fusion_dataset_loaded_v1 -->|"fusion-churn-scoring-activity-prune_low_scores"| churn_scoring_step_activity_prune_low_scores`,
		`churn_scoring_event_fusion_activity_completed_v1 -->|"fusion-churn-scoring-activity-export_reporting"| churn_scoring_step_activity_export_reporting`} {
		if code != 0 || !strings.Contains(graph, want) {
			t.Errorf("graph lacks %s:\n%s", want, graph)
		}
	}
}

// Without the reporting connection the export to it is skipped, and the
// run still succeeds.
func TestJobsScoringWithoutReportingDatabase(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	code, out, errOut := fusion(t, "demo", "--pipeline", "churn_scoring", "--home", home, "--rows", "500")
	if code != 0 || !strings.Contains(out, `export_reporting   skipped: connection "reporting" is not configured: set FUSION_CONN_REPORTING`) ||
		!strings.Contains(out, "activity.export_reporting  succeeded  0        0") {
		t.Fatalf("demo exited %d\n%s\n%s", code, out, errOut)
	}
}

const guarded = `name: guarded
source: {prefix: landing/guarded/, format: csv, schema: [{name: id, type: BIGINT, required: true}, {name: amount, type: DOUBLE}]}
transform: {sql: "SELECT id, amount * 2 AS doubled FROM input"}
load: [{dataset: curated, table: guarded, keys: [id], mode: merge}]
preconditions:
  - step: transform
    object_exists: flags/guarded/{{date}}/_READY
    timeout: TIMEOUT
    retry_every: 1s
`

// A precondition that never holds fails its step for good with a reason
// naming it, how long and how often it was checked and what was seen: in
// the ledger, in `fusion runs RUN_ID` and in the dead letter.
func TestJobsPreconditionNeverHolds(t *testing.T) {
	p := activitiesHome(t, map[string]string{"guarded.yaml": strings.Replace(guarded, "TIMEOUT", "2s", 1)}, nil, false)
	r := land(t, p, "landing/guarded/a.csv", "id,amount\n1,2\n")
	flag := "flags/guarded/" + r.ID[:4] + "-" + r.ID[4:6] + "-" + r.ID[6:8] + "/_READY"
	want := regexp.MustCompile(`^precondition object_exists ` + regexp.QuoteMeta(flag) + ` did not hold within 2s \(\d checks, every 1s; last: not found\)$`)
	s, ok := runStep(r, "transform")
	if r.Status != ledger.Failed || !ok || s.Status != ledger.Failed || s.Error == nil || !want.MatchString(s.Error.Message) || !s.Error.Permanent || s.Attempt != 1 {
		t.Fatalf("run %+v\nstep %+v %+v", r, s, s.Error)
	}
	if l, _ := runStep(r, "load.curated"); l.Status != ledger.Pending {
		t.Errorf("load.curated ran: %+v", l)
	}
	code, out, _ := fusion(t, "runs", "--home", p.Config.Home, r.ID)
	if code != 0 || !strings.Contains(out, "transform failed: "+s.Error.Message) {
		t.Errorf("runs %s:\n%s", r.ID, out)
	}
	code, out, _ = fusion(t, "dlq", "list", "--home", p.Config.Home, "--run", r.ID)
	if code != 0 || !strings.Contains(out, "transform") || !strings.Contains(out, "precondition object_exists "+flag+" did not hold within 2s") {
		t.Errorf("dlq list:\n%s", out)
	}
}

// A precondition that comes true while its step waits lets the run go on.
func TestJobsPreconditionHoldsMidWait(t *testing.T) {
	p := activitiesHome(t, map[string]string{"guarded.yaml": strings.Replace(guarded, "TIMEOUT", "2m", 1)}, nil, false)
	ctx := context.Background()
	key := "landing/guarded/b.csv"
	if _, err := p.Lake.Put(ctx, key, strings.NewReader("id,amount\n1,2\n2,5\n")); err != nil {
		t.Fatal(err)
	}
	// Wait until transform is waiting: started, and no further.
	var r ledger.Run
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(50 * time.Millisecond) {
		var err error
		r, err = p.Ledger.RunForInput(ctx, key)
		if s, ok := runStep(r, "transform"); err == nil && ok && s.Status == ledger.Started {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("transform never started waiting: %+v %v", r, err)
		}
	}
	flag := "flags/guarded/" + r.ID[:4] + "-" + r.ID[4:6] + "-" + r.ID[6:8] + "/_READY"
	if _, err := p.Lake.Put(ctx, flag, strings.NewReader("")); err != nil {
		t.Fatal(err)
	}
	waitSucceeded(t, p, r.ID)
	if got := query(t, p.Config.Home, "SELECT id, doubled FROM guarded ORDER BY id"); fmt.Sprint(got) != "[[1 4] [2 10]]" {
		t.Errorf("guarded = %v", got)
	}
}

const copies = `name: copies
source: {prefix: landing/copies/, format: csv, schema: [{name: id, type: BIGINT, required: true}, {name: amount, type: DOUBLE}]}
transform: {sql: "SELECT id, amount * 2 AS doubled FROM input"}
load: [{dataset: curated, table: copies, keys: [id], mode: merge}]
activities:
  - {name: to_pg, after: load.curated, copy: {from: "dataset:curated", to: "postgres://reporting/copied"}}
  - {name: accounts, after: activity.to_pg, copy: {from: "postgres://crm/accounts", to: "lake:exports/accounts/{{run_id}}/"}}
  - name: big_accounts
    after: activity.accounts
    copy:
      from: "postgres://crm"
      query: "SELECT id, upper(name) AS name, balance FROM accounts WHERE balance > 100 ORDER BY id"
      to: "lake:exports/accounts/{{run_id}}/big.parquet"
  - name: inspect
    after: load.curated
    shell:
      dataset: curated
      command: 'cp "$FUSION_DATASET_PATH" "OUT/$FUSION_RUN_ID.parquet" && echo "$FUSION_DATASET_URI" > "OUT/$FUSION_RUN_ID.uri"'
`

// Copies from the lake into Postgres land each row once, even when the
// activity runs twice; copies from Postgres (a table, a query) land as
// Parquet with the rows selected; the shell activity gets the dataset's
// local path.
func TestJobsCopiesAndShell(t *testing.T) {
	pg, schema, dsn := pgSchema(t)
	ctx := context.Background()
	createAccounts(t, pg, schema)
	out := t.TempDir()
	p := activitiesHome(t, map[string]string{"copies.yaml": strings.ReplaceAll(copies, "OUT", out)},
		map[string]string{"reporting": dsn, "crm": dsn}, true)
	r := land(t, p, "landing/copies/a.csv", "id,amount\n1,2\n2,5\n3,7.5\n")
	if r.Status != ledger.Succeeded {
		t.Fatalf("run %+v", r)
	}
	for name, rows := range map[string]int64{"activity.to_pg": 3, "activity.accounts": 3, "activity.big_accounts": 2} {
		if s, _ := runStep(r, name); s.Status != ledger.Succeeded || s.RowsOut != rows {
			t.Errorf("%s: %+v, want %d rows", name, s, rows)
		}
	}
	if got := pgRows(t, pg, "SELECT id, doubled FROM "+schema+".copied ORDER BY id"); got != "1 4; 2 10; 3 15" {
		t.Errorf("copied: %s", got)
	}

	// The same activity again — its event delivered anew, with no mark of
	// it having been handled, as a second task would see it: nothing more lands.
	before, _ := runStep(r, "activity.to_pg")
	loaded, err := messages.New(&messages.DatasetLoaded{RunRef: messages.RunRef{RunID: r.ID, Pipeline: "copies"},
		Dataset:   messages.DatasetRef{Name: "copies.curated", Objects: []string{"curated/copies/" + r.ID + "/part-0.parquet"}},
		Warehouse: "duckdb", Table: "copies", LoadID: r.ID + "/copies.curated/0", Rows: 3}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Transport.Bus.Publish(ctx, loaded); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(50 * time.Millisecond) {
		again, err := p.Ledger.Run(ctx, r.ID)
		s, _ := runStep(again, "activity.to_pg")
		if err == nil && s.Status == ledger.Succeeded && s.StartedAt.After(before.StartedAt) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the copy did not run again: %+v", s)
		}
	}
	if got := pgRows(t, pg, "SELECT count(*), sum(doubled) FROM "+schema+".copied"); got != "3 29" {
		t.Errorf("copied after the activity ran twice: %s", got)
	}
	if got := pgRows(t, pg, "SELECT count(*) FROM "+schema+"._fusion_loads WHERE load_id = '"+r.ID+"/copies.activity.to_pg/0'"); got != "1" {
		t.Errorf("load history: %s", got)
	}

	// Postgres to the lake: the table, and the query's rows, as Parquet.
	lakeDir := filepath.Join(p.Config.Home, "lake", "exports", "accounts", r.ID)
	checkAccountExports(t, p.Config.Home, filepath.Join(lakeDir, "accounts.parquet"), filepath.Join(lakeDir, "big.parquet"))

	// The shell activity had the curated dataset's local file and its URI.
	curated := filepath.Join(p.Config.Home, "lake", "curated", "copies", r.ID, "part-0.parquet")
	checkShellCopy(t, p.Config.Home, out, r.ID)
	if uri, _ := os.ReadFile(filepath.Join(out, r.ID+".uri")); strings.TrimSpace(string(uri)) != "file://"+curated {
		t.Errorf("FUSION_DATASET_URI %q, want file://%s", uri, curated)
	}
}

// createAccounts fills schema.accounts, the table the copy activities
// export from Postgres.
func createAccounts(t *testing.T, pg *pgx.Conn, schema string) {
	t.Helper()
	if _, err := pg.Exec(context.Background(), "CREATE TABLE "+schema+`.accounts (id int PRIMARY KEY, name text, balance numeric(10,2), opened date);
		INSERT INTO `+schema+`.accounts VALUES (1, 'ann', 50.5, '2026-01-02'), (2, 'bo', 150, NULL), (3, 'cy', 1000.25, '2026-03-04')`); err != nil {
		t.Fatal(err)
	}
}

// checkAccountExports checks the Parquet files exported from accounts:
// the whole table with its types, and the big accounts query.
func checkAccountExports(t *testing.T, home, accounts, big string) {
	t.Helper()
	if got := query(t, home, "SELECT id, name, balance, opened FROM read_parquet('"+accounts+"') ORDER BY id"); fmt.Sprint(got) != "[[1 ann 50.50 2026-01-02] [2 bo 150.00 ] [3 cy 1000.25 2026-03-04]]" {
		t.Errorf("accounts.parquet: %v", got)
	}
	if got := query(t, home, "SELECT typeof(balance), typeof(opened) FROM read_parquet('"+accounts+"') LIMIT 1"); fmt.Sprint(got) != "[[DECIMAL(10,2) DATE]]" {
		t.Errorf("accounts.parquet types: %v", got)
	}
	if got := query(t, home, "SELECT id, name, balance FROM read_parquet('"+big+"') ORDER BY id"); fmt.Sprint(got) != "[[2 BO 150.00] [3 CY 1000.25]]" {
		t.Errorf("big.parquet: %v", got)
	}
}

// checkShellCopy checks the curated dataset the shell activity copied
// into out.
func checkShellCopy(t *testing.T, home, out, runID string) {
	t.Helper()
	if got := query(t, home, "SELECT count(*), sum(doubled) FROM read_parquet('"+filepath.Join(out, runID+".parquet")+"')"); fmt.Sprint(got) != "[[3 29]]" {
		t.Errorf("the dataset the command copied holds %v", got)
	}
}
