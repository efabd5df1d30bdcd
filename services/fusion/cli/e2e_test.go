package cli

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/config"
	"github.com/fusiondata/fusion/services/runtime/ledger"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
	"github.com/fusiondata/fusion/services/runtime/platform"
	"github.com/fusiondata/fusion/services/runtime/warehouse"
	"github.com/fusiondata/fusion/services/runtime/warehouse/duckwh"
)

// fusion runs the CLI in process and returns its exit code and output.
func fusion(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	cfg, err := config.FromEnv(nil)
	var out, errOut bytes.Buffer
	code := Execute(cfg, err, args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// query runs SQL on a home's warehouse and returns the rows as strings.
func query(t *testing.T, home, sql string) [][]string {
	t.Helper()
	return queryWarehouse(t, duckwh.New(filepath.Join(home, platform.WarehouseFile), duckwh.Options{}), sql)
}

// queryWarehouse runs SQL on a warehouse and returns the rows as strings.
func queryWarehouse(t *testing.T, wh warehouse.Warehouse, sql string) [][]string {
	t.Helper()
	var rows [][]string
	err := wh.Query(context.Background(), sql, func(_ []string, row []any) error {
		if row != nil {
			r := make([]string, len(row))
			for i, v := range row {
				r[i] = formatValue(v)
			}
			rows = append(rows, r)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return rows
}

// reference reads the predictions lightgbm and xgboost made for every
// curated customer of the default sample.
func reference(t *testing.T) map[string][2]float64 {
	t.Helper()
	f, err := os.Open("../../inference/model/testdata/churn_reference_predictions.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][2]float64{}
	for _, r := range recs[1:] {
		l, _ := strconv.ParseFloat(r[1], 64)
		x, _ := strconv.ParseFloat(r[2], 64)
		out[r[0]] = [2]float64{l, x}
	}
	return out
}

func TestDemoEndToEnd(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	code, out, errOut := fusion(t, "demo", "--home", home)
	if code != 0 {
		t.Fatalf("demo exited %d\n%s\n%s\n%s", code, out, errOut, readLog(home))
	}
	for _, want := range []string{"pipeline churn  succeeded", "ingest            succeeded  10000    10000", "transform         succeeded  10000    9955",
		"traindata", "inference", "load.curated", "load.predictions"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}

	// Curated rows: the sample's 10000 customers minus the 45 test accounts.
	ref := reference(t)
	if got := query(t, home, "SELECT count(*), count(DISTINCT customer_id) FROM churn_customers"); got[0][0] != strconv.Itoa(len(ref)) || got[0][1] != got[0][0] {
		t.Errorf("churn_customers: %v rows, want %d", got, len(ref))
	}
	// Known values: the first customer, transformed by the pipeline's SQL.
	got := query(t, home, "SELECT signup_date, country, plan, plan_tier, net_monthly_fee, tenure_months, discount_pct, churned FROM churn_customers WHERE customer_id = 100000")
	if strings.Join(got[0], ",") != "2022-01-30,ES,basic,0,8.49,57,0,0" {
		t.Errorf("customer 100000: %v", got)
	}
	if got := query(t, home, "SELECT count(*) FROM churn_customers WHERE monthly_fee <= 0"); got[0][0] != "0" {
		t.Errorf("test accounts were loaded: %v", got)
	}

	// Prediction parity with lightgbm's own predictions, for every customer.
	preds := query(t, home, "SELECT customer_id, score, model, model_version FROM churn_predictions")
	if len(preds) != len(ref) {
		t.Fatalf("%d predictions for %d customers", len(preds), len(ref))
	}
	worst := 0.0
	for _, p := range preds {
		score, _ := strconv.ParseFloat(p[1], 64)
		want, ok := ref[p[0]]
		if !ok || p[2] != "churn_lgbm" || p[3] != "1" {
			t.Fatalf("unexpected prediction %v", p)
		}
		worst = math.Max(worst, math.Abs(score-want[0]))
	}
	if worst > 1e-6 {
		t.Errorf("predictions differ from lightgbm's by up to %g", worst)
	}

	// Each load applied exactly once.
	if got := query(t, home, "SELECT count(*), sum(rows) FROM _fusion_loads"); strings.Join(got[0], ",") != fmt.Sprintf("2,%d", 2*len(ref)) {
		t.Errorf("load history %v", got)
	}

	// The lake: the landed bytes unchanged in raw, the zones filled.
	raw, _ := filepath.Glob(filepath.Join(home, "lake/raw/churn/*/*.csv"))
	if len(raw) != 1 {
		t.Fatalf("raw copies: %v", raw)
	}
	var sample bytes.Buffer
	if code, _, _ := fusion(t, "sample", "-o", filepath.Join(t.TempDir(), "s.csv")); code != 0 {
		t.Fatal("sample failed")
	}
	code, sampleOut, _ := fusion(t, "sample")
	sample.WriteString(sampleOut)
	if b, _ := os.ReadFile(raw[0]); code != 0 || !bytes.Equal(b, sample.Bytes()) {
		t.Error("the raw copy differs from the landed sample")
	}
	landing, _ := filepath.Glob(filepath.Join(home, "lake/landing/churn/*"))
	if len(landing) != 0 {
		t.Errorf("landing not emptied: %v", landing)
	}
	var manifest struct {
		Splits map[string]struct {
			Rows        int64            `json:"rows"`
			LabelCounts map[string]int64 `json:"label_counts"`
		} `json:"splits"`
	}
	m, _ := filepath.Glob(filepath.Join(home, "lake/training/churn/*/manifest.json"))
	b, _ := os.ReadFile(m[0])
	if err := json.Unmarshal(b, &manifest); err != nil {
		t.Fatal(err)
	}
	// The same md5 key-hash rule in Python gave 6863/1544/1548 (scripts/models/train.py).
	if manifest.Splits["train"].Rows != 6863 || manifest.Splits["validation"].Rows != 1544 || manifest.Splits["test"].Rows != 1548 {
		t.Errorf("splits %+v", manifest.Splits)
	}

	// runs lists the run; runs RUN_ID shows its steps.
	code, list, _ := fusion(t, "runs", "--home", home)
	lines := strings.Split(strings.TrimSpace(list), "\n")
	if code != 0 || len(lines) != 2 || !strings.HasPrefix(lines[0], "RUN_ID") || !strings.Contains(lines[1], "succeeded") {
		t.Fatalf("runs:\n%s", list)
	}
	runID := strings.Fields(lines[1])[0]
	code, detail, _ := fusion(t, "runs", "--home", home, runID)
	if code != 0 || !strings.Contains(detail, "load.predictions  succeeded") {
		t.Errorf("runs %s:\n%s", runID, detail)
	}

	// query prints CSV with a header.
	code, csvOut, _ := fusion(t, "query", "--home", home, "SELECT plan, count(*) AS n FROM churn_customers GROUP BY plan ORDER BY plan")
	if code != 0 || !strings.HasPrefix(csvOut, "plan,n\nbasic,") || strings.Count(csvOut, "\n") != 4 {
		t.Errorf("query:\n%s", csvOut)
	}
}

// startChild re-runs the current test in a new process with env, its
// output in log: a test serves as its own child (running `fusion run`) and
// can kill it at will.
func startChild(t *testing.T, env []string, log string) *exec.Cmd {
	t.Helper()
	f, err := os.Create(log)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.count=1")
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd
}

func readLog(home string) string {
	b, _ := os.ReadFile(filepath.Join(home, "fusion.log"))
	return string(b)
}

// embedded starts every worker on a new home with the given pipelines.
func embedded(t *testing.T, pipelines map[string]string) *platform.Platform {
	t.Helper()
	return embeddedPolling(t, pipelines, 20*time.Millisecond)
}

func embeddedPolling(t *testing.T, pipelines map[string]string, poll time.Duration) *platform.Platform {
	t.Helper()
	home := t.TempDir()
	dir := filepath.Join(home, "pipelines")
	os.MkdirAll(dir, 0o755)
	for name, body := range pipelines {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return start(t, config.Config{Home: home, LandingPoll: poll, Retries: 1, Concurrency: 2})
}

// start opens a platform and runs every worker and the ledger until the
// test ends; the logs are shown when it fails.
func start(t *testing.T, cfg config.Config) *platform.Platform {
	t.Helper()
	return startWith(t, cfg, nil)
}

// startWith is start with a hook that may wrap the platform's transport or
// dependencies (to inject faults) before the workers start.
func startWith(t *testing.T, cfg config.Config, wrap func(*platform.Platform)) *platform.Platform {
	t.Helper()
	var logs bytes.Buffer
	p, err := platform.Open(cfg, (&app{cfg: cfg}).logger(&logs))
	if err != nil {
		t.Fatal(err)
	}
	if wrap != nil {
		wrap(p)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, platform.RunOptions{Workers: pipeline.Workers, Ledger: true}) }()
	t.Cleanup(func() {
		cancel()
		<-done
		p.Close()
		if t.Failed() {
			t.Log(logs.String())
		}
	})
	return p
}

// waitSucceeded waits until a run has succeeded (a redriven run, say).
func waitSucceeded(t *testing.T, p *platform.Platform, runID string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	for {
		run, err := p.Ledger.Run(ctx, runID)
		if err == nil && run.Status == ledger.Succeeded {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("run %s did not succeed: %+v %v", runID, run, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// land puts a file in the lake and waits for the run it starts.
func land(t *testing.T, p *platform.Platform, key, content string) ledger.Run {
	t.Helper()
	if _, err := p.Lake.Put(context.Background(), key, strings.NewReader(content)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r, err := waitForRun(ctx, p.Ledger, key, &bytes.Buffer{})
	if err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	return r
}

func churnPipeline(t *testing.T, model string) string {
	b, err := os.ReadFile("../../../deploy/pipelines/churn.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return strings.Replace(string(b), "model: churn_lgbm", "model: "+model, 1)
}

// TestXGBoostPipeline scores the sample with the committed XGBoost JSON
// model and checks parity with xgboost's own predictions.
func TestXGBoostPipeline(t *testing.T) {
	p := embedded(t, map[string]string{"churn.yaml": churnPipeline(t, "churn_xgb")})
	var buf bytes.Buffer
	_, csvOut, _ := fusion(t, "sample")
	buf.WriteString(csvOut)
	r := land(t, p, "landing/churn/customers.csv", buf.String())
	if r.Status != ledger.Succeeded {
		t.Fatalf("run %+v", r)
	}
	ref := reference(t)
	preds := query(t, p.Config.Home, "SELECT customer_id, score, model FROM churn_predictions")
	if len(preds) != len(ref) {
		t.Fatalf("%d predictions", len(preds))
	}
	for _, row := range preds {
		score, _ := strconv.ParseFloat(row[1], 64)
		if d := math.Abs(score - ref[row[0]][1]); d > 1e-6 || row[2] != "churn_xgb" {
			t.Fatalf("customer %s: fusion %v, xgboost %v", row[0], score, ref[row[0]][1])
		}
	}
}

const smallPipeline = `name: small
source: {prefix: landing/small/, format: csv, schema: [{name: id, type: BIGINT, required: true}, {name: amount, type: DOUBLE}]}
transform: {sql: "SELECT id, amount * 2 AS doubled FROM input"}
load: [{dataset: curated, table: small, keys: [id], mode: merge}]
`

// TestBadInputIsQuarantinedAndOthersGoOn lands a ragged CSV, an empty
// file, a file no pipeline claims and a file for a broken pipeline. Each
// fails with an error that names the file and line or field, moves to
// quarantine, and good files keep flowing.
func TestBadInputIsQuarantinedAndOthersGoOn(t *testing.T) {
	p := embedded(t, map[string]string{
		"small.yaml":  smallPipeline,
		"broken.yaml": "name: broken\nsource: {prefix: landing/broken/, format: xml}\ntransform: {sql: SELECT 1}\ncolour: blue\n",
	})
	cases := []struct {
		key, content string
		want         []string // in the step error
		folder       string   // quarantine/<folder>/
	}{
		{"landing/small/ragged.csv", "id,amount\n1,2.5\n2\n3,4\n", []string{"landing/small/ragged.csv:3", "row has 1 fields, the header has 2"}, "small"},
		{"landing/small/empty.csv", "", []string{"landing/small/empty.csv", "the file is empty"}, "small"},
		{"landing/small/badtype.csv", "id,amount\n1,2.5\n2,lots\n", []string{"landing/small/badtype.csv:3", "amount", `"lots" is not a valid DOUBLE`}, "small"},
		{"landing/nobody/orphan.csv", "a\n1\n", []string{"landing/nobody/orphan.csv", "no pipeline watches"}, "_unknown"},
		{"landing/broken/data.csv", "a\n1\n", []string{"broken.yaml:4", `unknown field "colour"`}, "_unknown"},
	}
	for _, c := range cases {
		r := land(t, p, c.key, c.content)
		if r.Status != ledger.Failed || len(r.Steps) == 0 || r.Steps[0].Error == nil {
			t.Errorf("%s: run %+v", c.key, r)
			continue
		}
		se := r.Steps[0].Error
		for _, w := range c.want {
			if !strings.Contains(se.Message, w) {
				t.Errorf("%s: error %q lacks %q", c.key, se.Message, w)
			}
		}
		if !se.Permanent || r.Steps[0].Attempt != 1 {
			t.Errorf("%s: bad input was retried (%+v)", c.key, r.Steps[0])
		}
		wantQ := fmt.Sprintf("quarantine/%s/%s/%s", c.folder, r.ID, filepath.Base(c.key))
		if se.Quarantine != wantQ {
			t.Errorf("%s: quarantined at %q, want %q", c.key, se.Quarantine, wantQ)
		}
		body, err := os.ReadFile(filepath.Join(p.LocalLake().Root(), wantQ))
		if err != nil || string(body) != c.content {
			t.Errorf("%s: quarantined bytes %q (%v)", c.key, body, err)
		}
		if _, err := os.Stat(filepath.Join(p.LocalLake().Root(), wantQ+".error.json")); err != nil {
			t.Errorf("%s: no error record: %v", c.key, err)
		}
		if _, err := os.Stat(filepath.Join(p.LocalLake().Root(), c.key)); !os.IsNotExist(err) {
			t.Errorf("%s: still in landing", c.key)
		}
	}
	// The worker kept serving: a good file after the bad ones loads.
	r := land(t, p, "landing/small/good.csv", "id,amount\n1,2.5\n2,\n3,4\n")
	if r.Status != ledger.Succeeded {
		t.Fatalf("good file after bad ones: %+v", r)
	}
	if got := query(t, p.Config.Home, "SELECT id, doubled FROM small ORDER BY id"); fmt.Sprint(got) != "[[1 5] [2 ] [3 8]]" {
		t.Errorf("small = %v", got)
	}
}

// TestConcurrentRuns lands six files at once: six runs, every row once.
func TestConcurrentRuns(t *testing.T) {
	p := embedded(t, map[string]string{"small.yaml": smallPipeline})
	ctx := context.Background()
	for i := 0; i < 6; i++ {
		body := fmt.Sprintf("id,amount\n%d,1\n%d,2\n", 2*i, 2*i+1)
		if _, err := p.Lake.Put(ctx, fmt.Sprintf("landing/small/part-%d.csv", i), strings.NewReader(body)); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 6; i++ {
		wctx, cancel := context.WithTimeout(ctx, time.Minute)
		r, err := waitForRun(wctx, p.Ledger, fmt.Sprintf("landing/small/part-%d.csv", i), &bytes.Buffer{})
		cancel()
		if err != nil || r.Status != ledger.Succeeded {
			t.Fatalf("part %d: %+v %v", i, r, err)
		}
	}
	if got := query(t, p.Config.Home, "SELECT count(*), count(DISTINCT id), sum(doubled) FROM small"); fmt.Sprint(got) != "[[12 12 36]]" {
		t.Errorf("small = %v", got)
	}
}

// TestEventDeliveredThreeTimesIsAppliedOnce delivers one "Object Created"
// event three times at once: one run, each row loaded once.
func TestEventDeliveredThreeTimesIsAppliedOnce(t *testing.T) {
	// append mode: only the load history stands between a duplicate and a duplicated row.
	appendOnly := strings.Replace(smallPipeline, "keys: [id], mode: merge", "mode: append", 1)
	p := embeddedPolling(t, map[string]string{"small.yaml": appendOnly}, time.Hour) // the watcher stays out of it
	ctx := context.Background()
	obj, err := p.Lake.Put(ctx, "landing/small/once.csv", strings.NewReader("id,amount\n1,1\n2,2\n3,3\n"))
	if err != nil {
		t.Fatal(err)
	}
	env, err := messages.NewObjectCreated(p.Lake.Bucket(), messages.CreatedObject{Key: obj.Key, Size: obj.Size, ETag: obj.ETag, Sequencer: "0001"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Transport.Bus.Publish(ctx, env, env, env); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	r, err := waitForRun(wctx, p.Ledger, obj.Key, &bytes.Buffer{})
	if err != nil || r.Status != ledger.Succeeded {
		t.Fatalf("%+v %v", r, err)
	}
	// Let the duplicates finish too.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && p.Broker().Depth("loader") > 0 {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	runs, _ := p.Ledger.Runs(ctx, 10)
	if len(runs) != 1 {
		t.Errorf("%d runs, want 1", len(runs))
	}
	if got := query(t, p.Config.Home, "SELECT count(*), count(DISTINCT id) FROM small"); fmt.Sprint(got) != "[[3 3]]" {
		t.Errorf("small = %v", got)
	}
	if got := query(t, p.Config.Home, "SELECT count(*) FROM _fusion_loads"); fmt.Sprint(got) != "[[1]]" {
		t.Errorf("loads = %v", got)
	}
}
