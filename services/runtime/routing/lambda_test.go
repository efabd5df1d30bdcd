package routing

import (
	"testing"
	"time"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
)

const clicksPipeline = `name: clicks
source: {prefix: landing/clicks/, format: jsonl}
transform: {sql: SELECT * FROM input}
lambda:
  time: event_time
  view: clicks_serving
  batch: {table: clicks_batch}
  speed: {table: clicks_speed}
`

// TestLambdaRouting: a Lambda pipeline's speed layer starts on its landed
// files (the landing rule), its batch layer on an ingest request (a rule
// of its own), and the graph shows both entries into the one ingest step.
func TestLambdaRouting(t *testing.T) {
	clicks, err := pipeline.Parse("clicks.yaml", []byte(clicksPipeline))
	if err != nil {
		t.Fatal(err)
	}
	table, err := NewTable(ForPipelines([]*pipeline.Pipeline{churn(t), clicks}))
	if err != nil {
		t.Fatal(err)
	}
	request, err := messages.New(&messages.IngestRequested{Pipeline: "clicks", RequestID: "schedule:2026-11-21T03:00:00Z", RequestedBy: "fusion scheduler"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if got := targets(t, table, request); got != "ingest" {
		t.Errorf("the batch layer's request goes to %q", got)
	}
	landed, err := messages.NewObjectCreated("lake", messages.CreatedObject{Key: "landing/clicks/stream/b1.jsonl", Size: 1}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if got := targets(t, table, landed); got != "ingest" {
		t.Errorf("a speed-layer file goes to %q", got)
	}
	for _, layer := range []string{"", messages.LayerBatch} {
		ev, _ := messages.New(&messages.DatasetTransformed{RunRef: messages.RunRef{RunID: "20261121-151600-3fa9c2", Pipeline: "clicks"}, Layer: layer}, time.Now())
		if got := targets(t, table, ev); got != "loader" {
			t.Errorf("layer %q: transformed goes to %q", layer, got)
		}
	}

	g, err := BuildGraph(table, []*pipeline.Pipeline{clicks}, false)
	if err != nil {
		t.Fatal(err)
	}
	into := map[string]bool{}
	for _, e := range g.Edges {
		if e.To == StepID("clicks", "ingest") {
			into[e.From] = true
		}
	}
	if !into[EventID("clicks", messages.DetailTypeObjectCreated)] || !into[EventID("clicks", messages.TypeIngestRequested)] || len(into) != 2 {
		t.Errorf("edges into ingest: %v, want Object Created and the ingest request", into)
	}
	n, ok := g.Node(StepID("clicks", "load.curated"))
	if !ok || n.Note != "clicks_speed" {
		t.Errorf("load.curated node %+v", n)
	}
}
