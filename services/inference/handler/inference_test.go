package handler

import (
	"context"
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/worker"
	"github.com/fusiondata/fusion/services/runtime/worker/workertest"
)

const def = `name: p
transform: {sql: SELECT * FROM input}
inference: {model: churn_lgbm, version: "1", keys: [customer_id]}
`

// register copies a committed model version into the stack's lake.
func register(t *testing.T, s *workertest.Stack, name string) {
	t.Helper()
	dir := filepath.Join("..", "..", "..", "deploy", "models", name, "1")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Lake.Put(context.Background(), "models/"+name+"/1/"+e.Name(), f); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
}

func transformed(ref messages.DatasetRef) *messages.DatasetTransformed {
	return &messages.DatasetTransformed{RunRef: messages.RunRef{RunID: workertest.RunID, Pipeline: "p"}, Dataset: ref}
}

// TestScoresMatchLightGBM scores the fixture rows (which the reference
// library scored) through the whole handler: DuckDB, Arrow, the model.
func TestScoresMatchLightGBM(t *testing.T) {
	s := workertest.New(t, map[string]string{"p.yaml": def})
	register(t, s, "churn_lgbm")
	fixture, _ := filepath.Abs("../model/testdata/churn_features.csv")
	ref := s.Parquet(t, "curated/p/r/part-0.parquet", "SELECT * FROM read_csv('"+fixture+"', header = true)")
	w, _ := New(s.Deps)
	out, err := s.Call(t, w, "p", transformed(ref))
	if err != nil {
		t.Fatal(err)
	}
	ready := out.Events[0].(*messages.PredictionsReady)
	if ready.Model.Name != "churn_lgbm" || ready.Model.Format != "lightgbm" || ready.Dataset.Rows != ref.Rows || ready.Dataset.Name != "p.predictions" {
		t.Fatalf("%+v", ready)
	}
	got := map[string]float64{}
	for _, r := range s.Query(t, "SELECT customer_id, score, model, model_version, run_id FROM read_parquet('"+s.Path(t, ready.Dataset.Objects[0])+"')") {
		if r[2] != "churn_lgbm" || r[3] != "1" || r[4] != workertest.RunID {
			t.Fatalf("row %v", r)
		}
		got[r[0]], _ = strconv.ParseFloat(r[1], 64)
	}
	f, _ := os.Open(fixture)
	defer f.Close()
	recs, _ := csv.NewReader(f).ReadAll()
	col := -1
	for i, h := range recs[0] {
		if h == "churn_lgbm" {
			col = i
		}
	}
	for _, r := range recs[1:] {
		want, _ := strconv.ParseFloat(r[col], 64)
		if d := math.Abs(got[r[0]] - want); d > 1e-6 {
			t.Fatalf("customer %s: fusion %v, lightgbm %v", r[0], got[r[0]], want)
		}
	}
	if len(got) != len(recs)-1 {
		t.Errorf("%d scores for %d rows", len(got), len(recs)-1)
	}
}

// TestScoresEveryRowOfALargeDataset crosses several scoring slices.
func TestScoresEveryRowOfALargeDataset(t *testing.T) {
	s := workertest.New(t, map[string]string{"p.yaml": strings.Replace(def, "churn_lgbm", "churn_xgb", 1)})
	register(t, s, "churn_xgb")
	ref := s.Parquet(t, "curated/p/r/part-0.parquet", `SELECT 'c' || i AS customer_id, i % 3 AS plan_tier, 10.0 + i % 40 AS net_monthly_fee,
		i % 72 AS tenure_months, i % 50 AS sessions_30d, CASE WHEN i % 97 = 0 THEN NULL ELSE (i % 60)::DOUBLE END AS avg_session_minutes,
		(i % 3000)::DOUBLE AS minutes_30d, i % 5 AS support_tickets_90d, i % 4 AS payment_failures_90d, i % 90 AS last_login_days_ago,
		(i % 5) * 5.0 AS discount_pct FROM range(300000) t(i)`)
	w, _ := New(s.Deps)
	out, err := s.Call(t, w, "p", transformed(ref))
	if err != nil {
		t.Fatal(err)
	}
	ready := out.Events[0].(*messages.PredictionsReady)
	got := s.Query(t, "SELECT count(*), count(DISTINCT customer_id), min(score) > 0 AND max(score) < 1, count(score) FROM read_parquet('"+s.Path(t, ready.Dataset.Objects[0])+"')")
	if strings.Join(got[0], ",") != "300000,300000,true,300000" {
		t.Errorf("predictions %v", got)
	}
}

func TestModelProblemsArePermanent(t *testing.T) {
	s := workertest.New(t, map[string]string{"p.yaml": def})
	ref := s.Parquet(t, "curated/p/r/part-0.parquet", "SELECT 1 AS customer_id")
	w, _ := New(s.Deps)
	_, err := s.Call(t, w, "p", transformed(ref))
	if !worker.IsPermanent(err) || !strings.Contains(err.Error(), "model churn_lgbm version 1 is not registered") {
		t.Errorf("unregistered model: %v", err)
	}
	register(t, s, "churn_lgbm")
	s.Lake.Put(context.Background(), "models/churn_lgbm/1/model.txt", strings.NewReader("customer_id,score\n1,0.5\n"))
	_, err = s.Call(t, w, "p", transformed(ref))
	if !worker.IsPermanent(err) || !strings.Contains(err.Error(), "not a LightGBM text model") {
		t.Errorf("a CSV as the model: %v", err)
	}
	s.Lake.Put(context.Background(), "models/churn_lgbm/1/model.txt", strings.NewReader("\x00\x01garbage\xff"))
	_, err = s.Call(t, w, "p", transformed(ref))
	if !worker.IsPermanent(err) || !strings.Contains(err.Error(), "model churn_lgbm@1 (model.txt): not a LightGBM text model") {
		t.Errorf("garbage bytes as the model: %v", err)
	}
	register(t, s, "churn_lgbm")
	_, err = s.Call(t, w, "p", transformed(ref))
	if !worker.IsPermanent(err) || !strings.Contains(err.Error(), `needs feature "plan_tier"`) {
		t.Errorf("missing features: %v", err)
	}
}
