package handler

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/fusion/sample"
	"github.com/fusiondata/fusion/services/runtime/engine"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
	"github.com/fusiondata/fusion/services/runtime/worker"
	"github.com/fusiondata/fusion/services/runtime/worker/workertest"
)

// streamStack serves the churn_stream sample pipeline, a pipeline without
// inference, and the committed churn model; it returns the stack, the
// inference worker and its HTTP routes.
func streamStack(t *testing.T) (*workertest.Stack, *worker.Worker, http.Handler) {
	t.Helper()
	def, err := os.ReadFile("../../../deploy/pipelines/churn_stream.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := workertest.New(t, map[string]string{"churn_stream.yaml": string(def),
		"plain.yaml": "name: plain\nsource: {format: jsonl, schema: [{name: id, type: BIGINT}]}\ntransform: {sql: SELECT * FROM input}\n"})
	register(t, s, "churn_lgbm")
	w, err := New(s.Deps)
	if err != nil {
		t.Fatal(err)
	}
	host := &worker.Host{}
	if err := w.Attach(host); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	for _, r := range host.Routes() {
		mux.Handle(r.Pattern, r.Handler)
	}
	return s, w, mux
}

// batchScores runs the batch path over records: the typed read of JSON
// lines ingest does, the transform into the curated dataset, and the
// inference handler; it returns each customer's score.
func batchScores(t *testing.T, s *workertest.Stack, w *worker.Worker, p *pipeline.Pipeline, records []json.RawMessage) map[int64]float64 {
	t.Helper()
	file := filepath.Join(t.TempDir(), "records.jsonl")
	var body []string
	for _, r := range records {
		body = append(body, string(r))
	}
	if err := os.WriteFile(file, []byte(strings.Join(body, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var cols []string
	for _, c := range p.Source.Schema {
		cols = append(cols, engine.QuoteString(c.Name)+": "+engine.QuoteString(c.Type))
	}
	read := "SELECT * FROM read_json(" + engine.QuoteString(file) + ", format = 'newline_delimited', records = true, columns = {" + strings.Join(cols, ", ") + "})"
	curated := s.Parquet(t, "curated/churn_stream/r/part-0.parquet", "WITH input AS ("+read+") "+p.Transform.SQL)
	out, err := s.Call(t, w, "churn_stream", &messages.DatasetTransformed{RunRef: messages.RunRef{RunID: workertest.RunID, Pipeline: "churn_stream"}, Dataset: curated})
	if err != nil {
		t.Fatal(err)
	}
	ready := out.Events[0].(*messages.PredictionsReady)
	conn, err := s.Deps.Engine.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rows, err := conn.QueryContext(context.Background(), "SELECT customer_id, score FROM "+engine.ReadParquet(s.Path(t, ready.Dataset.Objects[0])))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	scores := map[int64]float64{}
	for rows.Next() {
		var id int64
		var score float64
		if err := rows.Scan(&id, &score); err != nil {
			t.Fatal(err)
		}
		scores[id] = score
	}
	return scores
}

// A record scored in real time gets exactly the score the batch path gives
// it: the same typed read, the same transform SQL, the same model.
func TestRealtimeScoresEqualBatchScores(t *testing.T) {
	s, w, _ := streamStack(t)
	p, _ := s.Deps.Pipelines.Get("churn_stream")
	records, err := sample.ChurnRecords(1500, sample.DefaultSeed)
	if err != nil {
		t.Fatal(err)
	}
	batch := batchScores(t, s, w, p, records)
	if len(batch) < 1450 {
		t.Fatalf("%d batch scores", len(batch))
	}
	rt := newRealtimeForTest(t, s, w)
	worst, filtered, nulls := 0.0, 0, 0
	for _, rec := range records {
		var fields map[string]any
		json.Unmarshal(rec, &fields)
		id := int64(fields["customer_id"].(float64))
		got, err := rt.score(context.Background(), "churn_stream", rec)
		want, inBatch := batch[id]
		if !inBatch {
			// A test account: the transform filters it out in both paths.
			var p *problem
			if !errors.As(err, &p) || p.code != http.StatusUnprocessableEntity {
				t.Fatalf("customer %d, not in the batch: %v", id, err)
			}
			filtered++
			continue
		}
		if err != nil {
			t.Fatalf("customer %d: %v", id, err)
		}
		if fields["avg_session_minutes"] == nil || fields["discount_pct"] == nil {
			nulls++
		}
		worst = math.Max(worst, math.Abs(got.Score-want))
		if got.Keys["customer_id"] != id || got.Model != "churn_lgbm" || got.Version != "1" {
			t.Fatalf("score %+v", got)
		}
	}
	if worst > 1e-9 {
		t.Errorf("real-time scores differ from the batch scores by up to %g", worst)
	}
	if filtered == 0 || nulls == 0 {
		t.Errorf("the sample lacked filtered records (%d) or missing values (%d)", filtered, nulls)
	}
	if l := rt.latency.report("churn_stream"); l.Count != 0 {
		t.Errorf("scorings outside HTTP were timed: %+v", l)
	}
}

func newRealtimeForTest(t *testing.T, s *workertest.Stack, w *worker.Worker) *realtime {
	t.Helper()
	l, err := newLatencies(nil)
	if err != nil {
		t.Fatal(err)
	}
	h := &scorer{deps: s.Deps, models: map[string]loaded{}}
	return &realtime{scorer: h, deps: s.Deps, latency: l, pools: map[string]*scorePool{}}
}

func request(t *testing.T, h http.Handler, method, path, body string) (int, map[string]any) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, strings.NewReader(body)))
	b, _ := io.ReadAll(rec.Body)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s %s: %q", method, path, b)
	}
	return rec.Code, out
}

func TestScoreEndpoint(t *testing.T) {
	_, _, mux := streamStack(t)
	record := `{"customer_id":100000,"signup_date":"2022-01-30","country":"es","plan":"basic","monthly_fee":8.49,"tenure_months":57,"sessions_30d":13,` +
		`"avg_session_minutes":15.9,"support_tickets_90d":0,"payment_failures_90d":0,"last_login_days_ago":2,"discount_pct":null,"churned":false}`
	// Four clients at once share the pool's prepared connections.
	scores := make(chan float64, 20)
	var wg sync.WaitGroup
	for c := 0; c < 4; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 5; i++ {
				code, out := request(t, mux, "POST", "/v1/score/churn_stream", record)
				if code != http.StatusOK || out["model"] != "churn_lgbm" || out["version"] != "1" || out["latency_ms"].(float64) <= 0 {
					t.Errorf("score: %d %v", code, out)
					return
				}
				if keys := out["keys"].(map[string]any); keys["customer_id"] != 100000.0 {
					t.Errorf("keys %v", keys)
				}
				scores <- out["score"].(float64)
			}
		}()
	}
	wg.Wait()
	close(scores)
	first := -1.0
	for s := range scores {
		if s <= 0 || s >= 1 || (first >= 0 && s != first) {
			t.Fatalf("scores of one record: %v and %v", first, s)
		}
		first = s
	}
	code, out := request(t, mux, "GET", "/v1/score/churn_stream/latency", "")
	if code != http.StatusOK || out["count"] != 20.0 || out["p50_ms"].(float64) <= 0 || out["p99_ms"].(float64) < out["p50_ms"].(float64) {
		t.Errorf("latency: %d %v", code, out)
	}
	for name, c := range map[string]struct {
		path, body string
		code       int
		want       string
	}{
		"bad value":        {"/v1/score/churn_stream", strings.Replace(record, `"monthly_fee":8.49`, `"monthly_fee":"lots"`, 1), 400, `record: monthly_fee: "lots" is not a valid DOUBLE`},
		"missing required": {"/v1/score/churn_stream", strings.Replace(record, `"plan":"basic",`, ``, 1), 400, "record: plan: is required"},
		"not an object":    {"/v1/score/churn_stream", `[1,2]`, 400, "the body must be one JSON object"},
		"filtered out":     {"/v1/score/churn_stream", strings.Replace(record, `"monthly_fee":8.49`, `"monthly_fee":0`, 1), 422, "transform.sql keeps no row of this record"},
		"unknown pipeline": {"/v1/score/nobody", record, 404, `no pipeline named "nobody"`},
		"no inference":     {"/v1/score/plain", `{"id":1}`, 409, "pipeline plain has no inference section"},
	} {
		code, out := request(t, mux, "POST", c.path, c.body)
		if msg, _ := out["error"].(string); code != c.code || !strings.Contains(msg, c.want) {
			t.Errorf("%s: %d %v, want %d %q", name, code, out, c.code, c.want)
		}
	}
}
