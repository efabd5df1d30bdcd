package pipeline

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/fusiondata/fusion/messages"
)

func parseSample(t *testing.T, name string) *Pipeline {
	t.Helper()
	data, err := os.ReadFile("../../../deploy/pipelines/" + name + ".yaml")
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse(name+".yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func stepList(p *Pipeline) string {
	var out []string
	for _, s := range p.Steps() {
		out = append(out, s.Name+"@"+s.Worker+"<-"+s.Consumes)
	}
	return strings.Join(out, " ")
}

// The samples' activities are steps: each on its kind's worker, starting on
// the event of the step it follows.
func TestActivitySamples(t *testing.T) {
	training := parseSample(t, "churn_training")
	if got, want := stepList(training), "ingest@ingest<-Object Created transform@transform<-fusion.dataset.ingested.v1 "+
		"traindata@traindata<-fusion.dataset.transformed.v1 load.curated@loader<-fusion.dataset.transformed.v1 "+
		"activity.check_manifest@transform<-fusion.trainingdata.built.v1"; got != want {
		t.Errorf("churn_training steps\n got %s\nwant %s", got, want)
	}
	if pc := training.PreconditionsFor("traindata"); len(pc) != 1 || pc[0].Kind() != CondTableHasRows {
		t.Errorf("traindata's preconditions %+v", pc)
	}
	scoring := parseSample(t, "churn_scoring")
	if got, want := stepList(scoring), "ingest@ingest<-Object Created transform@transform<-fusion.dataset.ingested.v1 "+
		"inference@inference<-fusion.dataset.transformed.v1 load.predictions@loader<-fusion.predictions.ready.v1 "+
		"activity.export_lake@ingest<-fusion.dataset.loaded.v1 activity.export_reporting@ingest<-fusion.activity.completed.v1 "+
		"activity.prune_low_scores@loader<-fusion.dataset.loaded.v1"; got != want {
		t.Errorf("churn_scoring steps\n got %s\nwant %s", got, want)
	}
	for step, want := range map[string]string{"activity.export_lake": "[dataset name] churn_scoring.predictions", "activity.export_reporting": "[activity] export_lake"} {
		path, value, ok := scoring.EventFilter(step)
		if got := fmt.Sprint(path, " ", value); !ok || got != want {
			t.Errorf("%s filters on %s (%v)", step, got, ok)
		}
	}
	if _, _, ok := scoring.EventFilter("load.predictions"); ok {
		t.Error("a built-in step has no filter")
	}
	if s := (Step{Name: "activity.x", Worker: WorkerLoader}); s.Publishes() != messages.TypeActivityCompleted {
		t.Errorf("an activity publishes %s", s.Publishes())
	}
}

// An event reaches the activity that follows its producer, not another.
func TestStepForEvent(t *testing.T) {
	p, err := Parse("p.yaml", []byte(minimal+`inference: {model: m, version: "1", keys: [id]}
load:
  - {dataset: curated, table: c}
  - {dataset: predictions, table: s}
activities:
  - {name: after_curated, after: load.curated, sql: DELETE FROM c WHERE id < 0}
  - {name: after_scores, after: load.predictions, sql: DELETE FROM s WHERE score < 0}
  - {name: chained, after: activity.after_scores, sql: DELETE FROM s WHERE id < 0}
  - {name: copy_scores, after: activity.after_scores, copy: {from: "dataset:predictions", to: "lake:exports/{{run_id}}/"}}
`))
	if err != nil {
		t.Fatal(err)
	}
	ref := messages.RunRef{RunID: "20261121-151600-3fa9c2", Pipeline: "orders"}
	cases := []struct {
		worker string
		d      messages.Detail
		want   string
	}{
		{WorkerLoader, &messages.DatasetLoaded{RunRef: ref, Dataset: messages.DatasetRef{Name: "orders.curated"}}, "activity.after_curated"},
		{WorkerLoader, &messages.DatasetLoaded{RunRef: ref, Dataset: messages.DatasetRef{Name: "orders.predictions"}}, "activity.after_scores"},
		{WorkerLoader, &messages.ActivityCompleted{RunRef: ref, Activity: "after_scores"}, "activity.chained"},
		{WorkerIngest, &messages.ActivityCompleted{RunRef: ref, Activity: "after_scores"}, "activity.copy_scores"},
		{WorkerLoader, &messages.ActivityCompleted{RunRef: ref, Activity: "chained"}, ""},
		{WorkerLoader, &messages.DatasetTransformed{RunRef: ref}, "load.curated"},
	}
	for _, c := range cases {
		env, err := messages.New(c.d, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		s, ok := p.StepForEvent(c.worker, env.DetailType, c.d)
		if s.Name != c.want || ok != (c.want != "") {
			t.Errorf("%s on %s %+v: step %q, want %q", c.worker, env.DetailType, c.d, s.Name, c.want)
		}
	}
}

func TestActivityErrors(t *testing.T) {
	base := minimal + "load: [{dataset: curated, table: orders}]\nactivities:\n"
	cases := map[string]struct{ yaml, want string }{
		"no kind":        {"  - {name: a, after: load.curated}\n", "p.yaml:7: activities[0]: needs one of copy, sql or shell"},
		"two kinds":      {"  - {name: a, after: load.curated, sql: SELECT 1, shell: {command: 'true'}}\n", "activities[0].shell: an activity does one thing (it also has sql)"},
		"bad name":       {"  - {name: Export, after: load.curated, sql: SELECT 1}\n", "activities[0].name: must be lower case"},
		"dup name":       {"  - {name: a, after: load.curated, sql: SELECT 1}\n  - {name: a, after: activity.a, sql: SELECT 1}\n", `p.yaml:8: activities[1].name: "a" is declared twice`},
		"no after":       {"  - {name: a, sql: SELECT 1}\n", "activities[0].after: is required: a run of this pipeline starts with a landed file"},
		"unknown after":  {"  - {name: a, after: load.predictions, sql: SELECT 1}\n", `activities[0].after: "load.predictions" is not a step of this pipeline (steps: ingest, transform, load.curated, or activity.<name>)`},
		"unknown act":    {"  - {name: a, after: activity.b, sql: SELECT 1}\n", `activities[0].after: "activity.b" is not an activity of this pipeline`},
		"itself":         {"  - {name: a, after: activity.a, sql: SELECT 1}\n", "activities[0].after: an activity cannot follow itself"},
		"cycle":          {"  - {name: a, after: activity.b, sql: SELECT 1}\n  - {name: b, after: activity.a, shell: {command: 'true'}}\n", "activities[0].after: activities activity.a, activity.b form a cycle"},
		"conflict":       {"  - {name: a, after: transform, sql: SELECT 1}\n", "activities[0].after: a sql activity runs on the loader worker, which already runs load.curated on the event this activity would start on (fusion.dataset.transformed.v1): put it after load.curated instead"},
		"siblings":       {"  - {name: a, after: load.curated, sql: SELECT 1}\n  - {name: b, after: load.curated, sql: SELECT 2}\n", "activities[1].after: activities a and b both run on the loader worker after load.curated: chain them (after: activity.a)"},
		"no from":        {"  - {name: a, after: load.curated, copy: {to: 'lake:x/'}}\n", "activities[0].copy.from: is required"},
		"bad endpoint":   {"  - {name: a, after: load.curated, copy: {from: 'ftp://x', to: 'lake:x/'}}\n", `activities[0].copy.from: "ftp://x" is not an endpoint`},
		"to dataset":     {"  - {name: a, after: load.curated, copy: {from: 'lake:x/', to: 'dataset:curated'}}\n", "activities[0].copy.to: a dataset is only a source"},
		"pg to pg":       {"  - {name: a, after: load.curated, copy: {from: 'postgres://a/t', to: 'postgres://b/t'}}\n", "copies from one database to another go through the lake"},
		"no table":       {"  - {name: a, after: load.curated, copy: {from: 'lake:x/', to: 'postgres://crm'}}\n", "activities[0].copy.to: postgres://<connection>/<table>: the table is missing"},
		"key not prefix": {"  - {name: a, after: load.curated, copy: {from: 'lake:x/', to: 'lake:y'}}\n", "objects are copied under a prefix: end it with /"},
		"pg to key":      {"  - {name: a, after: load.curated, copy: {from: 'postgres://crm/t', to: 'lake:y/z.csv'}}\n", "give a prefix ending in / or a key ending in .parquet"},
		"no query":       {"  - {name: a, after: load.curated, copy: {from: 'postgres://crm', to: 'lake:y/'}}\n", "postgres://<connection> needs a table"},
		"both":           {"  - {name: a, after: load.curated, copy: {from: 'postgres://crm/t', query: SELECT 1, to: 'lake:y/'}}\n", "activities[0].copy.query: give either a table in from or a query"},
		"bad mode":       {"  - {name: a, after: load.curated, copy: {from: 'lake:x/', to: 'postgres://crm/t', mode: upsert}}\n", `activities[0].copy.mode: must be append, merge or replace (got "upsert")`},
		"merge no keys":  {"  - {name: a, after: load.curated, copy: {from: 'lake:x/', to: 'postgres://crm/t', mode: merge}}\n", "activities[0].copy.keys: merge needs key columns"},
		"lake mode":      {"  - {name: a, after: load.curated, copy: {from: 'lake:x/', to: 'lake:y/', mode: merge}}\n", "activities[0].copy.mode: only applies to a copy into a table"},
		"optional":       {"  - {name: a, after: load.curated, copy: {from: 'lake:x/', to: 'lake:y/', optional: true}}\n", "activities[0].copy.optional: only applies to a copy to or from a database"},
		"bad conn":       {"  - {name: a, after: load.curated, copy: {from: 'lake:x/', to: 'postgres://CRM/t'}}\n", `"CRM" does not name a connection`},
		"s3 no bucket":   {"  - {name: a, after: load.curated, copy: {from: 's3:///x/', to: 'lake:y/'}}\n", "s3:// needs a bucket"},
		"traversal":      {"  - {name: a, after: load.curated, copy: {from: 'lake:../x/', to: 'lake:y/'}}\n", `".." segment`},
		"no predictions": {"  - {name: a, after: load.curated, copy: {from: 'dataset:predictions', to: 'lake:y/'}}\n", "activities[0].copy.from: dataset predictions needs an inference section"},
		"too early":      {"  - {name: a, after: ingest, shell: {command: 'true', dataset: curated}}\n", "activities[0].shell.dataset: dataset curated is written by transform, which has not run when this activity starts (after: ingest)"},
		"no command":     {"  - {name: a, after: load.curated, shell: {dataset: curated}}\n", "activities[0].shell.command: is required"},
		"bad timeout":    {"  - {name: a, after: load.curated, shell: {command: 'true', timeout: 1d}}\n", `activities[0].shell.timeout: must be a positive duration such as 30s or 10m (got "1d")`},
		"empty sql":      {"  - {name: a, after: load.curated, sql: ' '}\n", "activities[0].sql: is empty"},
		"placeholder":    {"  - {name: a, after: load.curated, sql: 'DELETE FROM t WHERE d = {{day}}'}\n", "activities[0].sql: unknown placeholder {{day}}"},
		"unknown field":  {"  - {name: a, after: load.curated, sql: SELECT 1, when: later}\n", `unknown field "when" in an activity`},
		"retries":        {"  - {name: a, after: load.curated, sql: SELECT 1}\nretries: {activity.b: 2}\n", `retries.activity.b: is not a step of this pipeline`},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Parse("p.yaml", []byte(base+c.yaml))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v\nwant %q", err, c.want)
			}
		})
	}
	long := strings.Replace(base, "name: orders", "name: orders_of_the_northern_region", 1) + "  - {name: reconcile_with_ledger, after: load.curated, sql: SELECT 1}\n"
	if _, err := Parse("p.yaml", []byte(long)); err == nil || !strings.Contains(err.Error(), "fusion-orders-of-the-northern-region-activity-reconcile_with_ledger, must fit EventBridge's 64 characters") {
		t.Errorf("a rule name too long: %v", err)
	}
	// Retries and preconditions apply to activities by their step name.
	if _, err := Parse("p.yaml", []byte(base+"  - {name: a, after: load.curated, sql: SELECT 1}\nretries: {activity.a: 2}\npreconditions: [{step: activity.a, table_exists: orders}]\n")); err != nil {
		t.Error(err)
	}
}

// A pipeline started by a request may start an activity with the run.
func TestActivityStartingTheRun(t *testing.T) {
	p, err := Parse("orders.yaml", []byte(`name: orders
source:
  postgres: {connection: crm, table: orders}
transform: {sql: SELECT * FROM input}
activities:
  - {name: snapshot, copy: {from: "postgres://crm/orders", to: "lake:exports/orders/{{run_id}}/"}}
  - {name: purge, sql: "DELETE FROM orders_archive WHERE day < current_date - 30"}
`))
	if err == nil || !strings.Contains(err.Error(), "activities[0].after: a copy activity runs on the ingest worker, which already runs ingest") {
		t.Fatalf("a copy with the run's start conflicts with ingest: %v", err)
	}
	p, err = Parse("orders.yaml", []byte(`name: orders
source:
  postgres: {connection: crm, table: orders}
transform: {sql: SELECT * FROM input}
activities:
  - {name: purge, sql: "DELETE FROM orders_archive WHERE day < current_date - 30"}
`))
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := p.StepFor(WorkerLoader, messages.TypeIngestRequested); !ok || s.Name != "activity.purge" {
		t.Errorf("the loader runs %+v on the request", s)
	}
}

func TestEndpoints(t *testing.T) {
	for in, want := range map[string]Endpoint{
		"lake:exports/x/":                   {Kind: EndpointLake, Key: "exports/x/"},
		"s3://fusion-lake/exports/x/":       {Kind: EndpointLake, Bucket: "fusion-lake", Key: "exports/x/"},
		"dataset:train":                     {Kind: EndpointDataset, Dataset: "train"},
		"postgres://reporting/public.t":     {Kind: EndpointPostgres, Connection: "reporting", Table: "public.t"},
		"postgres://reporting":              {Kind: EndpointPostgres, Connection: "reporting"},
		`postgres://crm/"Order Lines"`:      {Kind: EndpointPostgres, Connection: "crm", Table: `"Order Lines"`},
		"lake:exports/{{date}}/{{run_id}}/": {Kind: EndpointLake, Key: "exports/{{date}}/{{run_id}}/"},
	} {
		got, err := ParseEndpoint(in)
		if err != nil || got != want {
			t.Errorf("%s: %+v %v", in, got, err)
		}
		if got.String() != in {
			t.Errorf("%s prints as %s", in, got.String())
		}
	}
	for _, in := range []string{"lake:", "dataset:everything", "postgres://crm/a.b.c", "postgres://crm/", "file:///etc", "lake:/abs"} {
		if _, err := ParseEndpoint(in); err == nil {
			t.Errorf("%s accepted", in)
		}
	}
}
