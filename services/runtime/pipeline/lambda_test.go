package pipeline

import (
	"errors"
	"strings"
	"testing"

	"github.com/fusiondata/fusion/messages"
)

const lambdaYAML = `name: clicks
source: {prefix: landing/clicks/, format: jsonl}
transform:
  sql: SELECT * FROM input
lambda:
  time: event_time
  keys: [event_id]
  view: clicks_serving
  batch: {table: clicks_batch}
  speed: {table: clicks_speed}
`

func TestLambdaPipeline(t *testing.T) {
	p, err := Parse("clicks.yaml", []byte(lambdaYAML))
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Lambda.BatchPrefix(p.Name); got != "raw/clicks/" {
		t.Errorf("batch prefix %q, want the speed layer's raw copies", got)
	}
	// The block loads curated into the speed table, merged by the keys.
	l, ok := p.LoadFor(DatasetCurated)
	if !ok || l.Table != "clicks_speed" || l.Mode != ModeMerge || strings.Join(l.Keys, ",") != "event_id" {
		t.Errorf("curated load %+v", l)
	}
	// Both layers start at ingest; the rest of a run is the same.
	var steps []string
	for _, s := range p.Steps() {
		steps = append(steps, s.Name+"<-"+s.Consumes)
	}
	want := "ingest<-Object Created transform<-fusion.dataset.ingested.v1 load.curated<-fusion.dataset.transformed.v1 ingest<-fusion.ingest.requested.v1"
	if got := strings.Join(steps, " "); got != want {
		t.Errorf("steps\n got %s\nwant %s", got, want)
	}
	if s, ok := p.StepFor(WorkerIngest, messages.TypeIngestRequested); !ok || s.Name != "ingest" {
		t.Errorf("no ingest step on a request: %+v", s)
	}
	if !p.OwnsKey("landing/clicks/stream/b1.jsonl") || p.OwnsKey("raw/clicks/x.jsonl") {
		t.Error("the speed layer owns landing/clicks/, the history starts no run")
	}

	p, err = Parse("clicks.yaml", []byte(strings.Replace(lambdaYAML, "  keys: [event_id]\n", "", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if l, _ := p.LoadFor(DatasetCurated); l.Mode != ModeAppend {
		t.Errorf("without keys the speed layer appends: %+v", l)
	}
}

func TestLambdaErrorsNameFileLineAndField(t *testing.T) {
	cases := map[string]struct {
		from, to string
		want     string
	}{
		"no time":          {"  time: event_time\n", "", "clicks.yaml:5: lambda.time: is required"},
		"bad view":         {"view: clicks_serving", "view: 'v; DROP TABLE x'", "clicks.yaml:8: lambda.view: must be a table name"},
		"same tables":      {"speed: {table: clicks_speed}", "speed: {table: clicks_batch}", `clicks.yaml:10: lambda.speed.table: "clicks_batch" is also lambda.batch.table`},
		"no batch table":   {"batch: {table: clicks_batch}", "batch: {prefix: raw/clicks/}", "clicks.yaml:9: lambda.batch.table: is required"},
		"landing history":  {"batch: {table: clicks_batch}", "batch: {table: clicks_batch, prefix: landing/old/}", "clicks.yaml:9: lambda.batch.prefix: must not be under landing/"},
		"curated history":  {"batch: {table: clicks_batch}", "batch: {table: clicks_batch, prefix: curated/clicks/}", "lambda.batch.prefix: must hold the history of the input, not curated/"},
		"repeated key":     {"keys: [event_id]", "keys: [event_id, event_id]", `clicks.yaml:7: lambda.keys[1]: "event_id" is listed twice`},
		"snapshot source":  {"prefix: landing/clicks/", "prefix: incoming/clicks/", "clicks.yaml:5: lambda: the speed layer is the pipeline's landed files"},
		"unknown field":    {"speed: {table: clicks_speed}", "speed: {table: clicks_speed, schedule: daily}", `clicks.yaml:10: unknown field "schedule" in lambda.speed`},
		"curated loaded":   {"lambda:", "load:\n  - {dataset: curated, table: t}\nlambda:", "clicks.yaml:6: load[0].dataset: the lambda block loads curated"},
		"retries on steps": {"lambda:", "retries: {ingest: 2, load.curated: 4}\nlambda:", ""},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Parse("clicks.yaml", []byte(strings.Replace(lambdaYAML, c.from, c.to, 1)))
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v\nwant %s", err, c.want)
			}
			var pe *Error
			if !errors.As(err, &pe) {
				t.Errorf("not a located error: %T", err)
			}
		})
	}
}
