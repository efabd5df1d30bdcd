package routing

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
)

const ordersPipeline = `name: orders
source: {postgres: {connection: crm, table: public.orders, bookmark: updated_at}}
transform: {sql: SELECT * FROM input}
load: [{dataset: curated, table: orders, keys: [id]}]
`

// TestIngestRequestRouting: a request for a pipeline with a Postgres
// source goes to ingest by a rule derived from that pipeline; requests for
// other pipelines match nothing, and the rest of its run routes as usual.
func TestIngestRequestRouting(t *testing.T) {
	orders, err := pipeline.Parse("orders.yaml", []byte(ordersPipeline))
	if err != nil {
		t.Fatal(err)
	}
	rules := ForPipelines([]*pipeline.Pipeline{churn(t), orders})
	table, err := NewTable(rules)
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, r := range rules {
		if r.Name == "fusion-orders-ingest" {
			found = r.Target == pipeline.WorkerIngest &&
				string(r.Pattern) == `{"source":["fusion.control"],"detail-type":["fusion.ingest.requested.v1"],"detail":{"pipeline":["orders"]}}`
		}
		if r.Name == "fusion-churn-ingest" {
			t.Error("a landed-files pipeline got an ingest rule of its own")
		}
	}
	if !found {
		t.Errorf("no ingest request rule for orders in %v", rules)
	}

	body, err := os.ReadFile(filepath.Join("../../../messages/testdata", messages.TypeIngestRequested+".json"))
	if err != nil {
		t.Fatal(err)
	}
	env, err := messages.Parse(body) // the golden request names orders
	if err != nil {
		t.Fatal(err)
	}
	if got := targets(t, table, env); got != "ingest" {
		t.Errorf("request for orders goes to %q", got)
	}
	for _, other := range []string{"churn", "nobody"} {
		e := env
		e.Detail = []byte(strings.Replace(string(env.Detail), `"pipeline": "orders"`, `"pipeline": "`+other+`"`, 1))
		if got := targets(t, table, e); got != "" {
			t.Errorf("request for %s goes to %q", other, got)
		}
	}
	ingested, _ := messages.New(&messages.DatasetIngested{RunRef: messages.RunRef{RunID: "20261121-151600-3fa9c2", Pipeline: "orders"}}, env.Time)
	if got := targets(t, table, ingested); got != "transform" {
		t.Errorf("orders' ingested dataset goes to %q", got)
	}
	for _, r := range rules {
		if !ruleNameRE.MatchString(r.Name) {
			t.Errorf("rule name %q", r.Name)
		}
	}
}
