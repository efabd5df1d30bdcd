package handler

import (
	"strconv"
	"testing"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/worker/workertest"
)

const clicks = `name: clicks
source: {prefix: landing/clicks/, format: jsonl}
transform: {sql: SELECT * FROM input}
lambda:
  time: event_time
  keys: [event_id]
  view: clicks_serving
  batch: {table: clicks_batch}
  speed: {table: clicks_speed}
`

// A Lambda pipeline's runs load by their layer: speed runs merge into the
// speed table, a batch recompute replaces the batch table and moves the
// watermark; the serving view counts each event once.
func TestLambdaLoadsByLayer(t *testing.T) {
	s := workertest.New(t, map[string]string{"clicks.yaml": clicks})
	w, _ := New(s.Deps)
	events := func(run string, from, to int) messages.DatasetRef {
		ref := s.Parquet(t, "curated/clicks/"+run+"/part-0.parquet",
			"SELECT i::BIGINT AS event_id, TIMESTAMP '2026-11-21 00:00:00' + i * INTERVAL 1 MINUTE AS event_time FROM range("+itoa(from)+", "+itoa(to)+") t(i)")
		ref.Name = "clicks.curated"
		return ref
	}
	call := func(run, layer string, ref messages.DatasetRef) *messages.DatasetLoaded {
		t.Helper()
		out, err := s.Call(t, w, "clicks", &messages.DatasetTransformed{RunRef: messages.RunRef{RunID: run, Pipeline: "clicks"}, Dataset: ref, Layer: layer})
		if err != nil {
			t.Fatal(err)
		}
		return out.Events[0].(*messages.DatasetLoaded)
	}
	speed1, speed2, batch := "20261121-010000-aaaaaa", "20261121-020000-bbbbbb", "20261121-030000-cccccc"
	if l := call(speed1, "", events(speed1, 0, 10)); l.Table != "clicks_speed" || l.Rows != 10 {
		t.Errorf("speed load %+v", l)
	}
	if got := count(t, s, "SELECT count(*) FROM clicks_serving"); got != "10" {
		t.Errorf("before the batch the view holds %s rows, want 10", got)
	}
	if l := call(batch, messages.LayerBatch, events(batch, 0, 6)); l.Table != "clicks_batch" || l.Rows != 6 || !l.Applied {
		t.Errorf("batch load %+v", l)
	}
	if got := count(t, s, "SELECT count(*), count(DISTINCT event_id), max(event_id) FROM clicks_serving"); got != "10 10 9" {
		t.Errorf("after the batch the view holds %s, want 10 10 9", got)
	}
	if got := count(t, s, "SELECT watermark || ' ' || run_id FROM fusion_watermarks WHERE view_name = 'clicks_serving'"); got != "2026-11-21 00:05:00 "+batch {
		t.Errorf("watermark %s", got)
	}
	call(speed2, "", events(speed2, 8, 12)) // 8 and 9 again: merged by event_id
	if got := count(t, s, "SELECT count(*), count(DISTINCT event_id) FROM clicks_serving"); got != "12 12" {
		t.Errorf("after more speed rows the view holds %s, want 12 12", got)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
