package messages

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files from the samples")

var at = time.Date(2026, 11, 21, 15, 16, 0, 0, time.UTC)

const run = "20261121-151600-3fa9c2"

func curated() DatasetRef {
	return DatasetRef{
		Name: "churn.curated", Zone: "curated", Format: "parquet",
		Objects: []string{"curated/churn/" + run + "/part-0.parquet"},
		Schema:  []Column{{Name: "customer_id", Type: "BIGINT"}, {Name: "tenure_months", Type: "INTEGER"}},
		Rows:    9987, Bytes: 412345,
	}
}

// samples holds one filled-in detail per fusion contract.
func samples() map[string]Detail {
	ref := RunRef{RunID: run, Pipeline: "churn"}
	tc := TraceContext{Traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}
	raw := DatasetRef{Name: "churn.raw", Zone: "raw", Format: "parquet", Objects: []string{"raw/churn/" + run + "/customers.parquet"}, Schema: curated().Schema, Rows: 10000, Bytes: 501234}
	split := func(n string, rows int64) DatasetRef {
		return DatasetRef{Name: "churn.training." + n, Zone: "training", Format: "parquet", Objects: []string{"training/churn/" + run + "/" + n + ".parquet"}, Schema: curated().Schema, Rows: rows, Bytes: rows * 40}
	}
	step := StepEvent{RunRef: ref, TraceContext: tc, Step: "transform", Worker: "transform", Input: "churn.raw", Attempt: 1, StartedAt: at}
	done := step
	done.DurationMS, done.RowsIn, done.RowsOut, done.Bytes = 95, 10000, 9987, 412345
	failed := step
	failed.Step, failed.Worker, failed.Input = "ingest", "ingest", "landing/churn/customers.csv"
	failed.Error = &StepError{Message: "customers.csv:17: row has 5 fields, the header has 6", File: "landing/churn/customers.csv", Line: 17, Permanent: true, Quarantine: "quarantine/churn/" + run + "/customers.csv"}
	return map[string]Detail{
		TypeDatasetIngested: &DatasetIngested{RunRef: ref, TraceContext: tc,
			Source:  ObjectRef{Bucket: "fusion-lake", Key: "landing/churn/customers.csv", Size: 903412, ETag: "5f2b1c"},
			Raw:     ObjectRef{Bucket: "fusion-lake", Key: "raw/churn/" + run + "/customers.csv", Size: 903412, ETag: "5f2b1c"},
			Dataset: raw},
		TypeDatasetTransformed: &DatasetTransformed{RunRef: ref, TraceContext: tc, Input: raw, Dataset: curated()},
		TypeTrainingDataBuilt: &TrainingDataBuilt{RunRef: ref, TraceContext: tc, Input: curated(),
			Train: split("train", 6990), Validation: split("validation", 1498), Test: split("test", 1499),
			Manifest: "training/churn/" + run + "/manifest.json"},
		TypePredictionsReady: &PredictionsReady{RunRef: ref, TraceContext: tc, Model: ModelRef{Name: "churn_lgbm", Version: "1", Format: "lightgbm"},
			Input: curated(), Dataset: DatasetRef{Name: "churn.predictions", Zone: "predictions", Format: "parquet", Objects: []string{"predictions/churn/" + run + "/churn_lgbm-1.parquet"}, Schema: []Column{{Name: "customer_id", Type: "BIGINT"}, {Name: "score", Type: "DOUBLE"}}, Rows: 9987, Bytes: 120000}},
		TypeDatasetLoaded: &DatasetLoaded{RunRef: ref, TraceContext: tc, Dataset: curated(), Warehouse: "duckdb", Table: "churn_customers", LoadID: run + "/churn.curated/0", Rows: 9987, Applied: true},
		TypeIngestRequested: &IngestRequested{TraceContext: tc, Pipeline: "orders", RequestID: "5b0e8f5e-4f7c-4a51-9a0e-2f4f3c1d2b6a",
			Reason: "nightly", RequestedBy: "fusion ingest"},
		TypeStepStarted:   &StepStarted{step},
		TypeStepSucceeded: &StepSucceeded{done},
		TypeStepFailed:    &StepFailed{failed},
		TypeRunLate: &RunLate{RunRef: ref, Input: "landing/churn/customers.csv", TraceID: "4bf92f3577b34da6a3ce929d0e0e4736",
			StartedAt: at, DeadlineMS: 1_800_000, DueAt: at.Add(30 * time.Minute), DetectedAt: at.Add(30*time.Minute + 12*time.Second),
			Done: []string{"ingest", "transform", "traindata", "inference", "load.curated"}, Pending: []string{"load.predictions"}},
		TypeStreamRecords: &StreamRecords{TraceContext: tc, Pipeline: "churn_stream", RequestID: "http-5b0e8f5e4f7c-0", Records: []json.RawMessage{
			json.RawMessage(`{"customer_id":100000,"plan":"basic","monthly_fee":8.49}`), json.RawMessage(`{"customer_id":100001,"plan":"premium","monthly_fee":39.99,"tags":["a","b"]}`)}},
		TypeActivityCompleted: &ActivityCompleted{RunRef: ref, TraceContext: tc, Activity: "export_scores", Kind: ActivityCopy,
			Target: "lake:exports/churn/", Objects: []string{"exports/churn/" + run + "/churn_lgbm-1.parquet"}, Rows: 9987},
	}
}

func goldenPath(detailType string) string {
	return filepath.Join("testdata", strings.ReplaceAll(detailType, " ", "-")+".json")
}

func TestEveryContractHasASample(t *testing.T) {
	s := samples()
	for _, c := range Contracts() {
		if c.lenient {
			continue // AWS-owned contracts use AWS's documented samples
		}
		if _, ok := s[c.DetailType]; !ok {
			t.Errorf("contract %s has no sample and no golden file", c.DetailType)
		}
	}
}

func TestGoldenRoundTrip(t *testing.T) {
	for detailType, d := range samples() {
		t.Run(detailType, func(t *testing.T) {
			env, err := New(d, at)
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.MarshalIndent(env, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			path := goldenPath(detailType)
			if *update {
				if err := os.WriteFile(path, append(got, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			golden, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./messages -update to create it)", err)
			}
			assertJSONEqual(t, golden, got)

			// golden -> typed -> golden must be lossless.
			parsed, err := Parse(golden)
			if err != nil {
				t.Fatal(err)
			}
			decoded, err := Decode(parsed)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(decoded, d) {
				t.Errorf("decoded detail differs from the sample:\n got %+v\nwant %+v", decoded, d)
			}
			again, err := New(decoded, parsed.Time)
			if err != nil {
				t.Fatal(err)
			}
			if again.ID != parsed.ID {
				t.Errorf("event id is not deterministic: %s vs %s", again.ID, parsed.ID)
			}
			body, _ := again.Marshal()
			assertJSONEqual(t, golden, body)
		})
	}
}

func TestObjectCreatedFromAWSSample(t *testing.T) {
	body, err := os.ReadFile(filepath.Join("testdata", "aws.s3-object-created.json"))
	if err != nil {
		t.Fatal(err)
	}
	env, err := Parse(body)
	if err != nil {
		t.Fatal(err)
	}
	d, err := Decode(env)
	if err != nil {
		t.Fatal(err)
	}
	oc := d.(*ObjectCreated)
	if oc.Bucket.Name != "example-bucket" || oc.Object.Key != "landing/churn/customers.csv" || oc.Object.Size != 5 || oc.Object.Sequencer != "00617F08299329D189" {
		t.Errorf("decoded %+v", oc)
	}
	id := oc.RunID(env.Time)
	if !ValidRunID(id) || !strings.HasPrefix(id, "20211112-000000-") {
		t.Errorf("run id %q", id)
	}
	if oc.RunID(env.Time) != id {
		t.Error("run id is not deterministic")
	}
}

func TestDecodeRejects(t *testing.T) {
	good, _ := New(samples()[TypeDatasetTransformed], at)
	cases := map[string]struct {
		body string
		want error
	}{
		"not json":        {"this is not json", ErrMalformed},
		"no detail-type":  {`{"id":"x","source":"s","detail":{}}`, ErrMalformed},
		"detail not obj":  {`{"id":"x","source":"s","detail-type":"t","detail":"str"}`, ErrMalformed},
		"unknown type":    {strings.Replace(string(mustJSON(good)), TypeDatasetTransformed, "fusion.dataset.exploded.v1", 1), ErrUnknownType},
		"unknown version": {strings.Replace(string(mustJSON(good)), TypeDatasetTransformed, "fusion.dataset.transformed.v9", 1), ErrUnknownType},
		"unknown field":   {strings.Replace(string(mustJSON(good)), `"run_id"`, `"colour":1,"run_id"`, 1), ErrMalformed},
		"bad run id":      {strings.Replace(string(mustJSON(good)), run, "../../etc", 1), ErrMalformed},
		"key traversal":   {strings.Replace(string(mustJSON(good)), "curated/churn/", "curated/../../churn/", 1), ErrMalformed},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			env, err := Parse([]byte(c.body))
			if err == nil {
				_, err = Decode(env)
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
}

func TestValidKey(t *testing.T) {
	for _, k := range []string{"../x", "a/../b", "/etc/passwd", "a\\b", "a/./b", "", "a\x01"} {
		if ValidKey(k) == nil {
			t.Errorf("%q accepted", k)
		}
	}
	for _, k := range []string{"landing/churn/x.csv", "a/b..c/d", "raw/p/r/file name.csv"} {
		if err := ValidKey(k); err != nil {
			t.Errorf("%q rejected: %v", k, err)
		}
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func assertJSONEqual(t *testing.T, want, got []byte) {
	t.Helper()
	var a, b any
	if err := json.Unmarshal(want, &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(got, &b); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		var w, g bytes.Buffer
		json.Indent(&w, want, "", " ")
		json.Indent(&g, got, "", " ")
		t.Errorf("JSON differs\nwant %s\n got %s", w.String(), g.String())
	}
}
