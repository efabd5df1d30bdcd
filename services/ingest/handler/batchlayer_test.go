package handler

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/engine"
	"github.com/fusiondata/fusion/services/runtime/lake"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
	"github.com/fusiondata/fusion/services/runtime/worker"
	"github.com/fusiondata/fusion/services/runtime/worker/workertest"
)

const clicksLambda = `name: clicks
source: {prefix: landing/clicks/, format: jsonl}
transform: {sql: SELECT * FROM input}
lambda:
  time: event_time
  view: clicks_serving
  batch: {table: clicks_batch}
  speed: {table: clicks_speed}
`

// A Lambda pipeline's batch layer reads the raw copies the speed layer's
// ingest kept — every one, and nothing an earlier recompute wrote — and
// announces the dataset as the batch layer's.
func TestBatchLayerReadsTheSpeedLayersHistory(t *testing.T) {
	s := workertest.New(t, map[string]string{"clicks.yaml": clicksLambda})
	w, err := New(s.Deps)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	p, _ := s.Deps.Pipelines.Get("clicks")
	handle := func(run messages.RunRef, d messages.Detail, detailType string) (*messages.DatasetIngested, error) {
		t.Helper()
		env, err := messages.New(d, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		step, _ := p.StepFor(pipeline.WorkerIngest, detailType)
		out, err := w.Handlers[detailType](ctx, &worker.Input{Event: env, Detail: d, Run: run, Pipeline: p, Step: step, Attempt: 1})
		if err != nil {
			return nil, err
		}
		ev := out.Events[0].(*messages.DatasetIngested)
		if err := ev.Validate(); err != nil {
			t.Fatal(err)
		}
		return ev, nil
	}
	land := func(run, name string, lines ...string) {
		t.Helper()
		key := "landing/clicks/" + name
		obj, err := s.Lake.Put(ctx, key, strings.NewReader(strings.Join(lines, "\n")+"\n"))
		if err != nil {
			t.Fatal(err)
		}
		ev, err := handle(messages.RunRef{RunID: run, Pipeline: "clicks"}, &messages.ObjectCreated{Version: "0", Bucket: messages.BucketName{Name: "fusion-lake"},
			Object: messages.CreatedObject{Key: key, Size: obj.Size}}, messages.DetailTypeObjectCreated)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Layer != "" {
			t.Errorf("a speed-layer file announced with layer %q", ev.Layer)
		}
	}
	land("20261121-010000-aaaaaa", "a.jsonl", `{"event_id": 1, "event_time": "2026-11-21T00:01:00"}`, `{"event_id": 2, "event_time": "2026-11-21T00:02:00"}`)
	land("20261121-020000-bbbbbb", "b.jsonl", `{"event_id": 3, "event_time": "2026-11-21T00:03:00"}`)

	recompute := func(requestID string) *messages.DatasetIngested {
		t.Helper()
		rq := &messages.IngestRequested{Pipeline: "clicks", RequestID: requestID, RequestedBy: "fusion scheduler"}
		env, _ := messages.New(rq, time.Now())
		ev, err := handle(rq.StartRun(env), rq, messages.TypeIngestRequested)
		if err != nil {
			t.Fatal(err)
		}
		return ev
	}
	for i, id := range []string{"schedule:2026-11-21T03:00:00Z", "schedule:2026-11-22T03:00:00Z"} {
		ev := recompute(id)
		if ev.Layer != messages.LayerBatch || ev.Dataset.Rows != 3 || ev.Source.Key != "raw/clicks/" {
			t.Errorf("recompute %d: layer %q, %d rows from %s; want the batch layer's 3 rows from raw/clicks/", i+1, ev.Layer, ev.Dataset.Rows, ev.Source.Key)
		}
		if got := s.Query(t, "SELECT count(*), sum(event_id) FROM "+engine.ReadParquet(s.Path(t, ev.Dataset.Objects[0]))); got[0][0] != "3" || got[0][1] != "6" {
			t.Errorf("recompute %d read %v", i+1, got)
		}
	}
	objs, err := s.Lake.List(ctx, lake.Raw+"/clicks/")
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 8 { // per speed run: bytes + Parquet; per recompute: list + Parquet
		var keys []string
		for _, o := range objs {
			keys = append(keys, o.Key)
		}
		t.Errorf("raw/clicks/ holds %v", keys)
	}
}
