//go:build warehouse

package cli

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/fusiondata/fusion/services/runtime/config"
	"github.com/fusiondata/fusion/services/runtime/platform"
	"github.com/fusiondata/fusion/services/runtime/warehouse/warehousetest"
)

// demoInto runs `fusion demo` with the given warehouse (and pipelines
// directory, "" for the home's) and returns a query function on that
// warehouse.
func demoInto(t *testing.T, warehouseURL, pipelinesDir string) func(sql string) [][]string {
	t.Helper()
	home := filepath.Join(t.TempDir(), "home")
	cfg, err := config.FromEnv(nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Warehouse, cfg.Pipelines = warehouseURL, pipelinesDir
	var out, errOut bytes.Buffer
	if code := Execute(cfg, nil, []string{"demo", "--home", home}, &out, &errOut); code != 0 {
		t.Fatalf("demo exited %d\n%s\n%s\n%s", code, out.String(), errOut.String(), readLog(home))
	}
	wh, err := platform.OpenWarehouse(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { wh.Close() })
	return func(sql string) [][]string {
		t.Helper()
		return queryWarehouse(t, wh, sql)
	}
}

// assertSampleLoaded checks the warehouse holds what the embedded demo
// loads into DuckDB: every curated customer once, known values, scores
// matching lightgbm's own.
func assertSampleLoaded(t *testing.T, query func(string) [][]string) {
	t.Helper()
	ref := reference(t)
	if got := query("SELECT count(*), count(DISTINCT customer_id) FROM churn_customers"); got[0][0] != strconv.Itoa(len(ref)) || got[0][1] != got[0][0] {
		t.Errorf("churn_customers: %v rows, want %d", got, len(ref))
	}
	got := query("SELECT country, plan, plan_tier, net_monthly_fee, tenure_months, churned FROM churn_customers WHERE customer_id = 100000")
	if len(got) != 1 || strings.Join(got[0], ",") != "ES,basic,0,8.49,57,0" {
		t.Errorf("customer 100000: %v", got)
	}
	preds := query("SELECT customer_id, score FROM churn_predictions")
	if len(preds) != len(ref) {
		t.Fatalf("%d predictions for %d customers", len(preds), len(ref))
	}
	worst := 0.0
	for _, p := range preds {
		score, _ := strconv.ParseFloat(p[1], 64)
		worst = math.Max(worst, math.Abs(score-ref[p[0]][0]))
	}
	if worst > 1e-6 {
		t.Errorf("predictions differ from lightgbm's by up to %g", worst)
	}
}

// The sample pipeline runs unchanged with Postgres as the warehouse.
func TestDemoLoadsIntoPostgres(t *testing.T) {
	dsn := warehousetest.PostgresDSN(t)
	query := demoInto(t, dsn, "")
	assertSampleLoaded(t, query)
	if got := query("SELECT count(*) FROM _fusion_loads WHERE table_name IN ('churn_customers', 'churn_predictions')"); got[0][0] != "2" {
		t.Errorf("load history: %v", got)
	}
}

// The sample pipeline with its transform pushed down into Snowflake (the
// warehouse's own, fakesnow here) and its loads into Snowflake.
func TestDemoTransformsAndLoadsInSnowflake(t *testing.T) {
	dsn := warehousetest.SnowflakeDSN(t)
	churn, err := os.ReadFile("../../../deploy/pipelines/churn.yaml")
	if err != nil {
		t.Fatal(err)
	}
	pushed := strings.Replace(string(churn), "\ntransform:\n", "\ntransform:\n  engine: snowflake\n", 1)
	if pushed == string(churn) {
		t.Fatal("churn.yaml has no transform section")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "churn.yaml"), []byte(pushed), 0o644); err != nil {
		t.Fatal(err)
	}
	query := demoInto(t, "snowflake://"+dsn, dir)
	assertSampleLoaded(t, query)
}
