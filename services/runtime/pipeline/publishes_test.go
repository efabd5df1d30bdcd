package pipeline

import (
	"os"
	"strings"
	"testing"

	"github.com/fusiondata/fusion/messages"
)

// TestWhatStepsPublish: every worker publishes one registered contract
// whose source names that worker, and every step a pipeline goes through
// starts on its run's entry event or on what an earlier step published.
func TestWhatStepsPublish(t *testing.T) {
	for _, w := range Workers {
		dt := Step{Worker: w}.Publishes()
		c, ok := messages.Lookup(dt)
		if !ok {
			t.Errorf("worker %s publishes %q, which is no contract", w, dt)
			continue
		}
		if c.Source != "fusion."+w {
			t.Errorf("worker %s publishes %s, whose contract names source %q", w, dt, c.Source)
		}
	}

	churn, err := os.ReadFile("../../../deploy/pipelines/churn.yaml")
	if err != nil {
		t.Fatal(err)
	}
	small := "name: small\nsource: {prefix: landing/small/, format: csv}\ntransform: {sql: SELECT 1}\n"
	cases := map[string]string{
		"churn": string(churn),
		"small": small + "load: [{dataset: curated, table: t, mode: append}]\n",
		"split": small + `training: {key: id, label: y, features: [x], split: {train: 1, validation: 0, test: 0}}
inference: {model: m, version: "1", input: test}
load: [{dataset: predictions, table: p, mode: append}]
`,
		"orders": "name: orders\nsource: {postgres: {connection: crm, table: public.orders}}\ntransform: {sql: SELECT 1}\n",
	}
	for name, body := range cases {
		p, err := Parse(name+".yaml", []byte(strings.ReplaceAll(body, "name: small", "name: "+name)))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		steps := p.Steps()
		published := map[string]bool{}
		for i, s := range steps {
			entry := s.Consumes == messages.DetailTypeObjectCreated || s.Consumes == messages.TypeIngestRequested
			if entry != (i == 0) || (!entry && !published[s.Consumes]) {
				t.Errorf("%s: step %s consumes %s, which no earlier step publishes", name, s.Name, s.Consumes)
			}
			published[s.Publishes()] = true
		}
	}
}
