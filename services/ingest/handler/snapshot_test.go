package handler

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/lake"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
	"github.com/fusiondata/fusion/services/runtime/worker"
	"github.com/fusiondata/fusion/services/runtime/worker/workertest"
)

const salesSnapshot = `name: sales
source:
  prefix: incoming/sales/
  schema:
    - {name: day, type: DATE, required: true}
    - {name: store, type: VARCHAR, required: true}
    - {name: amount, type: DOUBLE}
transform: {sql: SELECT * FROM input}
`

// ingestStack is an embedded stack with the ingest worker on it.
type ingestStack struct {
	*workertest.Stack
	w  *worker.Worker
	at time.Time // when requests are sent
}

func newIngestStack(t *testing.T, pipelines map[string]string) *ingestStack {
	t.Helper()
	s := workertest.New(t, pipelines)
	w, err := New(s.Deps)
	if err != nil {
		t.Fatal(err)
	}
	return &ingestStack{Stack: s, w: w, at: time.Date(2026, 11, 21, 2, 0, 0, 0, time.UTC)}
}

func (s *ingestStack) put(t *testing.T, key, body string) {
	t.Helper()
	if _, err := s.Lake.Put(context.Background(), key, strings.NewReader(body)); err != nil {
		t.Fatal(err)
	}
}

// request handles an ingest request as the runtime does: the run derives
// from the request, so the same request twice is the same run.
func (s *ingestStack) request(t *testing.T, pipelineName, requestID string) (*messages.DatasetIngested, messages.RunRef, error) {
	t.Helper()
	rq := &messages.IngestRequested{Pipeline: pipelineName, RequestID: requestID}
	env, err := messages.New(rq, s.at)
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Deps.Pipelines.Get(pipelineName)
	if err != nil {
		t.Fatal(err)
	}
	step, ok := p.StepFor(pipeline.WorkerIngest, messages.TypeIngestRequested)
	if !ok {
		t.Fatalf("%s does not start on requests", pipelineName)
	}
	run := rq.StartRun(env)
	out, err := s.w.Handlers[messages.TypeIngestRequested](context.Background(),
		&worker.Input{Event: env, Detail: rq, Run: run, Pipeline: p, Step: step, Attempt: 1})
	if err != nil {
		return nil, run, err
	}
	ev := out.Events[0].(*messages.DatasetIngested)
	if err := ev.Validate(); err != nil {
		t.Fatalf("invalid event: %v", err)
	}
	if out.RowsOut != ev.Dataset.Rows {
		t.Errorf("output counts %d rows, the dataset %d", out.RowsOut, ev.Dataset.Rows)
	}
	return ev, run, nil
}

// rows reads an ingested dataset back as sorted "a|b|c" lines.
func (s *ingestStack) rows(t *testing.T, ev *messages.DatasetIngested, cols string) []string {
	t.Helper()
	var out []string
	for _, r := range s.Query(t, fmt.Sprintf("SELECT %s FROM read_parquet('%s')", cols, s.Path(t, ev.Dataset.Objects[0]))) {
		out = append(out, strings.Join(r, "|"))
	}
	sort.Strings(out)
	return out
}

func TestSnapshotReadsEveryObjectAsOneDataset(t *testing.T) {
	s := newIngestStack(t, map[string]string{"sales.yaml": salesSnapshot})
	a := "day,store,amount\n2026-11-20,paris,10.5\n2026-11-20,lyon,3\n"
	b := "day,store,amount\n2026-11-21,paris,1\n"
	s.put(t, "incoming/sales/a.csv", a)
	s.put(t, "incoming/sales/2026/b.csv", b)
	s.put(t, "incoming/sales/_SUCCESS", "")                        // a marker
	s.put(t, "incoming/sales/old.parquet", "not read")             // a typed copy
	s.put(t, "incoming/salesman/x.csv", "day,store,amount\nbad\n") // beside the prefix

	ev, run, err := s.request(t, "sales", "schedule:2026-11-21T02:00:00Z")
	if err != nil {
		t.Fatal(err)
	}
	got := s.rows(t, ev, "day, store, amount")
	want := []string{"2026-11-20|lyon|3", "2026-11-20|paris|10.5", "2026-11-21|paris|1"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("rows %v, want %v", got, want)
	}
	if ev.Dataset.Rows != 3 || ev.Dataset.Name != "sales.raw" || ev.Dataset.Schema[0].Type != "DATE" {
		t.Errorf("dataset %+v", ev.Dataset)
	}
	runDir := "raw/sales/" + run.RunID + "/"
	if ev.Source.Key != "incoming/sales/" || ev.Raw.Key != runDir || ev.Raw.Size != int64(len(a)+len(b)) {
		t.Errorf("source %+v raw %+v", ev.Source, ev.Raw)
	}
	if ev.Dataset.Objects[0] != runDir+"snapshot.parquet" {
		t.Errorf("objects %v", ev.Dataset.Objects)
	}
	// The bytes are kept in raw, under their path below the prefix; the
	// sources stay (a snapshot reads, it does not consume).
	for key, body := range map[string]string{runDir + "a.csv": a, runDir + "2026/b.csv": b, "incoming/sales/a.csv": a} {
		data, err := os.ReadFile(s.Path(t, key))
		if err != nil || string(data) != body {
			t.Errorf("%s: %q, %v", key, data, err)
		}
	}
	if _, err := s.Deps.Catalog.Get(context.Background(), "sales.raw", run.RunID); err != nil {
		t.Errorf("not in the catalog: %v", err)
	}
}

// A redelivery reads the list and the copies its first delivery fixed:
// objects landed or changed since do not change the run's dataset.
func TestSnapshotRedeliveryReadsTheSameObjects(t *testing.T) {
	s := newIngestStack(t, map[string]string{"sales.yaml": salesSnapshot})
	s.put(t, "incoming/sales/a.csv", "day,store,amount\n2026-11-20,paris,10\n")
	first, run, err := s.request(t, "sales", "schedule:2026-11-21T02:00:00Z")
	if err != nil {
		t.Fatal(err)
	}
	s.put(t, "incoming/sales/a.csv", "day,store,amount\n2026-11-20,paris,99\n")
	s.put(t, "incoming/sales/b.csv", "day,store,amount\n2026-11-21,lyon,1\n")
	again, run2, err := s.request(t, "sales", "schedule:2026-11-21T02:00:00Z")
	if err != nil {
		t.Fatal(err)
	}
	if run2 != run || again.Dataset.Objects[0] != first.Dataset.Objects[0] {
		t.Errorf("redelivery: run %v dataset %v, first %v %v", run2, again.Dataset.Objects, run, first.Dataset.Objects)
	}
	if got := s.rows(t, again, "store, amount"); fmt.Sprint(got) != "[paris|10]" {
		t.Errorf("redelivery read %v, want the first delivery's [paris|10]", got)
	}
	// A new request is a new run and sees both objects as they are now.
	next, _, err := s.request(t, "sales", "schedule:2026-11-22T02:00:00Z")
	if err != nil {
		t.Fatal(err)
	}
	if got := s.rows(t, next, "store, amount"); fmt.Sprint(got) != "[lyon|1 paris|99]" {
		t.Errorf("next run read %v", got)
	}
}

func TestSnapshotOfAnEmptyPrefixFails(t *testing.T) {
	s := newIngestStack(t, map[string]string{"sales.yaml": salesSnapshot})
	s.put(t, "incoming/sales/_SUCCESS", "")
	_, _, err := s.request(t, "sales", "r1")
	if err == nil || !worker.IsPermanent(err) || !strings.Contains(err.Error(), "no objects under incoming/sales/") {
		t.Fatalf("err = %v, want a permanent 'no objects' failure", err)
	}
}

// Without a schema the first object's inferred types hold for the rest: an
// object that does not fit is bad input, named by key and line, and its raw
// copy goes to quarantine.
func TestSnapshotInferredSchemaHoldsForEveryObject(t *testing.T) {
	def := "name: sales\nsource: {prefix: incoming/sales/}\ntransform: {sql: SELECT * FROM input}\n"
	s := newIngestStack(t, map[string]string{"sales.yaml": def})
	s.put(t, "incoming/sales/a.csv", "store,qty\nparis,1\nlyon,2\n")
	s.put(t, "incoming/sales/b.csv", "store,qty\nnice,3\nlille,x\n")
	_, run, err := s.request(t, "sales", "r1")
	var ie *worker.InputError
	if !errors.As(err, &ie) {
		t.Fatalf("err = %v, want bad input", err)
	}
	if ie.File != "incoming/sales/b.csv" || ie.Line != 3 || ie.Object != "raw/sales/"+run.RunID+"/b.csv" {
		t.Errorf("bad input at %s:%d (object %s): %v", ie.File, ie.Line, ie.Object, err)
	}
	s.put(t, "incoming/sales/b.csv", "store,qty\nnice,3\nlille,4\n")
	ev, _, err := s.request(t, "sales", "r2")
	if err != nil {
		t.Fatal(err)
	}
	if got := s.rows(t, ev, "store, qty"); fmt.Sprint(got) != "[lille|4 lyon|2 nice|3 paris|1]" || ev.Dataset.Schema[1].Type != "BIGINT" {
		t.Errorf("rows %v schema %v", got, ev.Dataset.Schema)
	}
}

// A snapshot of the raw zone reads the raw bytes in place, skipping the
// Parquet copies beside them and its own outputs: two runs in a row read
// the same rows.
func TestSnapshotOfTheRawZoneReadsInPlace(t *testing.T) {
	def := "name: clicks\nsource: {prefix: raw/clicks/, format: jsonl}\ntransform: {sql: SELECT * FROM input}\n"
	s := newIngestStack(t, map[string]string{"clicks.yaml": def})
	s.put(t, "raw/clicks/20261120-100000-aaaaaa/b1.jsonl", "{\"user\":\"u1\",\"n\":1}\n{\"user\":\"u2\",\"n\":2}\n")
	s.put(t, "raw/clicks/20261120-100000-aaaaaa/b1.parquet", "PAR1 not json")
	s.put(t, "raw/clicks/20261120-110000-bbbbbb/b2.jsonl", "{\"user\":\"u3\",\"n\":3}\n")
	for _, req := range []string{"schedule:2026-11-21T03:00:00Z", "schedule:2026-11-22T03:00:00Z"} {
		ev, run, err := s.request(t, "clicks", req)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.rows(t, ev, "user, n"); fmt.Sprint(got) != "[u1|1 u2|2 u3|3]" {
			t.Errorf("%s read %v", req, got)
		}
		if ev.Raw.Key != "raw/clicks/" {
			t.Errorf("raw %+v, want the prefix read in place", ev.Raw)
		}
		objs, err := s.Lake.List(context.Background(), lake.RunKey(lake.Raw, "clicks", run.RunID, ""))
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, o := range objs {
			names = append(names, o.Key[strings.LastIndex(o.Key, "/")+1:])
		}
		if fmt.Sprint(names) != "[_snapshot.json snapshot.parquet]" {
			t.Errorf("run folder holds %v, want only the manifest and the Parquet copy", names)
		}
	}
}
