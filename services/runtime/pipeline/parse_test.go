package pipeline

import (
	"errors"
	"os"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/fusiondata/fusion/messages"
)

func TestSamplePipelinesParse(t *testing.T) {
	data, err := os.ReadFile("../../../deploy/pipelines/churn.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse("churn.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	if p.Source.Prefix != "landing/churn/" || p.Source.Delimiter != "," || len(p.Source.Schema) != 13 || p.Inference.Keys[0] != "customer_id" {
		t.Errorf("%+v", p)
	}
	var steps []string
	for _, s := range p.Steps() {
		steps = append(steps, s.Name+"<-"+s.Consumes)
	}
	want := "ingest<-Object Created transform<-fusion.dataset.ingested.v1 traindata<-fusion.dataset.transformed.v1 inference<-fusion.dataset.transformed.v1 " +
		"load.curated<-fusion.dataset.transformed.v1 load.predictions<-fusion.predictions.ready.v1"
	if strings.Join(steps, " ") != want {
		t.Errorf("steps %v", steps)
	}
}

const minimal = `name: orders
source: {format: csv}
transform:
  sql: SELECT * FROM input
`

func TestDefaults(t *testing.T) {
	p, err := Parse("orders.yaml", []byte(minimal+"load:\n  - {dataset: curated, table: orders}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Source.Prefix != "landing/orders/" || p.Load[0].Mode != ModeAppend {
		t.Errorf("%+v", p)
	}
	p, _ = Parse("orders.yaml", []byte(minimal+"load:\n  - {dataset: curated, table: orders, keys: [id]}\n"))
	if p.Load[0].Mode != ModeMerge {
		t.Errorf("keys imply merge: %+v", p.Load[0])
	}
}

// Every problem names the file, the line and the field.
func TestErrorsNameFileLineAndField(t *testing.T) {
	cases := map[string]struct {
		yaml string
		want []string
	}{
		"unknown top-level field": {minimal + "colour: blue\n", []string{"p.yaml:5:", `unknown field "colour" in the pipeline`}},
		"unknown nested field":    {strings.Replace(minimal, "{format: csv}", "{format: csv, delimeter: ';'}", 1), []string{"p.yaml:2:", `unknown field "delimeter" in source`}},
		"bad format":              {strings.Replace(minimal, "csv", "xml", 1), []string{"p.yaml:2: source.format: must be csv or jsonl"}},
		"bad name":                {strings.Replace(minimal, "orders", "Orders!", 1), []string{"p.yaml:1: name: must be lower case"}},
		"no sql":                  {"name: x\nsource: {format: csv}\n", []string{"transform.sql: is required"}},
		"bad type":                {minimal + "source:\n  schema:\n    - {name: a, type: STRING}\n", []string{"mapping key \"source\" already defined"}},
		"bad column type": {"name: x\nsource:\n  schema:\n    - {name: a, type: BIGINT}\n    - {name: b, type: STRING}\ntransform: {sql: SELECT 1}\n",
			[]string{"p.yaml:5: source.schema[1].type: unsupported type \"STRING\""}},
		"split sums":                       {minimal + "training:\n  key: id\n  label: y\n  features: [a]\n  split: {train: 0.7, validation: 0.2, test: 0.2}\n", []string{"p.yaml:9: training.split: fractions must sum to 1 (got 1.1)"}},
		"label feature":                    {minimal + "training:\n  key: id\n  label: y\n  features: [a, y]\n  split: {train: 1}\n", []string{"training.features[1]: the label \"y\" cannot be a feature"}},
		"bad mode":                         {minimal + "load:\n  - {dataset: curated, table: t, mode: upsert}\n", []string{"p.yaml:6: load[0].mode: must be append, merge or replace (got \"upsert\")"}},
		"merge no keys":                    {minimal + "load:\n  - {dataset: curated, table: t, mode: merge}\n", []string{"load[0].keys: merge needs key columns"}},
		"predictions without inference":    {minimal + "load:\n  - {dataset: predictions, table: t}\n", []string{"load[0].dataset: predictions need an inference section"}},
		"injection table":                  {minimal + "load:\n  - {dataset: curated, table: 't; DROP TABLE x'}\n", []string{"load[0].table: must be a table name"}},
		"not yaml":                         {"name: [unclosed\n", []string{"p.yaml:", "invalid YAML"}},
		"empty":                            {"  \n", []string{"p.yaml: the file is empty"}},
		"wrong type":                       {"name: x\nsource: [1, 2]\n", []string{"p.yaml:2:", "cannot unmarshal"}},
		"inference split without training": {minimal + "inference: {model: m, version: '1', input: test, keys: [id]}\n", []string{"inference.input: \"test\" is a training split"}},
		"deadline without a unit":          {minimal + "deadline: 30\n", []string{"p.yaml:5: deadline: must be a positive duration such as 30m, 2h or 1h30m (got \"30\")"}},
		"deadline not a duration":          {minimal + "deadline: half an hour\n", []string{"p.yaml:5: deadline: must be a positive duration", `(got "half an hour")`}},
		"deadline negative":                {minimal + "deadline: -5m\n", []string{"p.yaml:5: deadline: must be a positive duration"}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Parse("p.yaml", []byte(c.yaml))
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			var pe *Error
			if !errors.As(err, &pe) || pe.File != "p.yaml" {
				t.Errorf("not a located *Error: %#v", err)
			}
		})
	}
}

func TestDeadline(t *testing.T) {
	p, err := Parse("orders.yaml", []byte(minimal+"deadline: 1h30m\n"))
	if err != nil {
		t.Fatal(err)
	}
	if p.DeadlineDuration() != 90*time.Minute {
		t.Errorf("deadline %v", p.DeadlineDuration())
	}
	p, _ = Parse("orders.yaml", []byte(minimal))
	if p.DeadlineDuration() != 0 {
		t.Errorf("no deadline: %v", p.DeadlineDuration())
	}
}

func TestAllProblemsReportedTogether(t *testing.T) {
	_, err := Parse("p.yaml", []byte("name: x\nsource: {format: xml}\nload:\n  - {dataset: raw, table: t, mode: sideways}\n"))
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) || len(joined.Unwrap()) < 4 {
		t.Errorf("want every problem at once, got %v", err)
	}
}

func TestRegistry(t *testing.T) {
	fsys := fstest.MapFS{
		"orders.yaml":  {Data: []byte(minimal)},
		"broken.yaml":  {Data: []byte("name: broken\ncolour: red\n")},
		"misnamed.yml": {Data: []byte(strings.Replace(minimal, "orders", "other", 1))},
		"overlap.yaml": {Data: []byte("name: overlap\nsource: {prefix: landing/orders/eu/}\ntransform: {sql: SELECT 1}\n")},
		"README.md":    {Data: []byte("not a pipeline")},
	}
	r, err := NewRegistry(fsys, "deploy/pipelines")
	if err != nil {
		t.Fatal(err)
	}
	if p, err := r.Get("orders"); err != nil || p.Name != "orders" || p.File != "deploy/pipelines/orders.yaml" {
		t.Errorf("get orders: %v %v", p, err)
	}
	if p, err := r.ForKey("landing/orders/2026/11/a.csv"); err != nil || p.Name != "orders" {
		t.Errorf("for key: %v %v", p, err)
	}
	if _, err := r.ForKey("landing/unknown/a.csv"); !errors.Is(err, ErrNoPipeline) || !strings.Contains(err.Error(), "landing/orders/") {
		t.Errorf("unknown prefix: %v", err)
	}
	if _, err := r.ForKey("landing/broken/a.csv"); err == nil || !strings.Contains(err.Error(), "deploy/pipelines/broken.yaml:2") {
		t.Errorf("broken pipeline: %v", err)
	}
	if _, err := r.Get("misnamed"); err == nil || !strings.Contains(err.Error(), "must match the file name") {
		t.Errorf("misnamed: %v", err)
	}
	if _, err := r.Get("overlap"); err == nil || !strings.Contains(err.Error(), "overlaps") {
		t.Errorf("overlap: %v", err)
	}
	if len(r.All()) != 1 || len(r.Problems()) != 3 {
		t.Errorf("all %d, problems %v", len(r.All()), r.Problems())
	}
}

func TestStepForRoutesInferenceInput(t *testing.T) {
	p, err := Parse("p.yaml", []byte(minimal+"training: {key: id, label: y, features: [a], split: {train: 0.8, test: 0.2}}\ninference: {model: m, version: '2', input: test}\n"))
	if err != nil {
		t.Fatal(err)
	}
	s, ok := p.StepFor(WorkerInference, messages.TypeTrainingDataBuilt)
	if !ok || s.Name != "inference" {
		t.Errorf("inference on the test split should consume training data: %+v", s)
	}
	if _, ok := p.StepFor(WorkerInference, messages.TypeDatasetTransformed); ok {
		t.Error("inference also bound to the curated dataset")
	}
}

func TestRetriesPerStep(t *testing.T) {
	base := "name: p\ntransform: {sql: SELECT 1}\nload: [{dataset: curated, table: t}]\n"
	p, err := Parse("p.yaml", []byte(base+"retries: {transform: 5, load: 0}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if n, ok := p.RetriesFor("transform"); !ok || n != 5 {
		t.Errorf("transform: %d %v", n, ok)
	}
	if n, ok := p.RetriesFor("load.curated"); !ok || n != 0 {
		t.Errorf("load.curated: %d %v", n, ok)
	}
	if _, ok := p.RetriesFor("ingest"); ok {
		t.Error("ingest has no override")
	}
	_, err = Parse("p.yaml", []byte(base+"retries:\n  transfrom: 2\n  ingest: 11\n"))
	for _, want := range []string{"p.yaml:6: retries.ingest: must be between 0 and 10 (got 11)", "p.yaml:5: retries.transfrom: is not a step of this pipeline"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("got %v, want %q", err, want)
		}
	}
}
