package routing

import (
	"fmt"
	"strings"
	"testing"

	"github.com/fusiondata/fusion/services/runtime/pipeline"
)

// edges lists a graph's edges as from -(rule)-> to.
func edges(g *Graph) []string {
	var out []string
	for _, e := range g.Edges {
		arrow := "->"
		if e.Rule != "" {
			arrow = "-(" + e.Rule + ")->"
		}
		out = append(out, e.From+" "+arrow+" "+e.To)
	}
	return out
}

func graphOf(t *testing.T, runtime bool, ps ...*pipeline.Pipeline) *Graph {
	t.Helper()
	table, err := NewTable(ForPipelines(ps))
	if err != nil {
		t.Fatal(err)
	}
	g, err := BuildGraph(table, ps, runtime)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// TestChurnGraph: the churn pipeline's flow, derived from its rules.
func TestChurnGraph(t *testing.T) {
	g := graphOf(t, false, churn(t))
	want := []string{
		"churn/event/Object Created -(fusion-ingest-landed-objects)-> churn/step/ingest",
		"churn/step/ingest -> churn/event/fusion.dataset.ingested.v1",
		"churn/event/fusion.dataset.ingested.v1 -(fusion-churn-transform)-> churn/step/transform",
		"churn/step/transform -> churn/event/fusion.dataset.transformed.v1",
		"churn/event/fusion.dataset.transformed.v1 -(fusion-churn-traindata)-> churn/step/traindata",
		"churn/event/fusion.dataset.transformed.v1 -(fusion-churn-inference)-> churn/step/inference",
		"churn/event/fusion.dataset.transformed.v1 -(fusion-churn-load-curated)-> churn/step/load.curated",
		"churn/step/traindata -> churn/event/fusion.trainingdata.built.v1",
		"churn/step/inference -> churn/event/fusion.predictions.ready.v1",
		"churn/event/fusion.predictions.ready.v1 -(fusion-churn-load-predictions)-> churn/step/load.predictions",
		"churn/step/load.curated -> churn/event/fusion.dataset.loaded.v1",
		"churn/step/load.predictions -> churn/event/fusion.dataset.loaded.v1",
	}
	if got := edges(g); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("edges:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Every step is reached by exactly one rule.
	for _, s := range churn(t).Steps() {
		n := 0
		for _, e := range g.Edges {
			if e.To == StepID("churn", s.Name) && e.Kind == EdgeRoute {
				n++
			}
		}
		if n != 1 {
			t.Errorf("step %s is reached by %d routes", s.Name, n)
		}
	}
	if n, _ := g.Node("churn/event/Object Created"); n.Note != "landing/churn/" {
		t.Errorf("landing node %+v", n)
	}
	if n, _ := g.Node("churn/step/load.predictions"); n.Worker != "loader" || n.Note != "churn_predictions" {
		t.Errorf("load node %+v", n)
	}
}

// TestGraphRuntimePart: with the runtime part, step events go from the
// runtime to the ledger queue, failed ones to the failures topic too.
func TestGraphRuntimePart(t *testing.T) {
	g := graphOf(t, true, churn(t))
	all := strings.Join(edges(g), "\n")
	for _, want := range []string{
		"source/fusion.runtime -> runtime/event/fusion.step.started.v1",
		"runtime/event/fusion.step.started.v1 -(fusion-ledger-steps)-> queue/ledger",
		"runtime/event/fusion.step.failed.v1 -(fusion-ledger-steps)-> queue/ledger",
		"runtime/event/fusion.step.failed.v1 -(fusion-notify-failures)-> topic/failures",
		"topic/failures -> queue/failures",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("no %q in\n%s", want, all)
		}
	}
	for _, e := range g.Edges {
		from, _ := g.Node(e.From)
		to, _ := g.Node(e.To)
		if e.Runtime != from.Runtime || e.Runtime != to.Runtime {
			t.Errorf("edge %+v mixes the runtime part (%v) with a pipeline's (%v -> %v)", e, e.Runtime, from.Runtime, to.Runtime)
		}
	}
	if strings.Count(all, "-> queue/ledger") != strings.Count(all, "-> runtime/event/fusion.step.") {
		t.Errorf("not every step event goes to the ledger:\n%s", all)
	}
}

// TestGraphFollowsThePipeline: without training and inference there are no
// traindata or inference steps; an ingest request starts a Postgres
// pipeline; inference on a training split follows traindata.
func TestGraphFollowsThePipeline(t *testing.T) {
	small, err := pipeline.Parse("small.yaml", []byte("name: small\nsource: {prefix: landing/small/, format: csv}\ntransform: {sql: SELECT 1}\nload: [{dataset: curated, table: t, mode: append}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	orders, err := pipeline.Parse("orders.yaml", []byte(ordersPipeline))
	if err != nil {
		t.Fatal(err)
	}
	split, err := pipeline.Parse("split.yaml", []byte(`name: split
source: {prefix: landing/split/, format: csv}
transform: {sql: SELECT 1}
training: {key: id, label: y, features: [x], split: {train: 0.5, validation: 0.25, test: 0.25}}
inference: {model: m, version: "1", input: test}
load: [{dataset: predictions, table: p, mode: append}]
`))
	if err != nil {
		t.Fatal(err)
	}
	g := graphOf(t, false, churn(t), orders, small, split)
	all := strings.Join(edges(g), "\n")
	for _, want := range []string{
		"small/event/Object Created -(fusion-ingest-landed-objects)-> small/step/ingest",
		"small/event/fusion.dataset.transformed.v1 -(fusion-small-load-curated)-> small/step/load.curated",
		"orders/event/fusion.ingest.requested.v1 -(fusion-orders-ingest)-> orders/step/ingest",
		"split/event/fusion.trainingdata.built.v1 -(fusion-split-inference)-> split/step/inference",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("no %q in\n%s", want, all)
		}
	}
	for _, absent := range []string{"small/step/traindata", "small/step/inference", "small/event/fusion.predictions.ready.v1",
		"orders/event/Object Created", "split/step/load.curated", "split/event/fusion.dataset.transformed.v1 -(fusion-split-inference)-> split/step/inference"} {
		if _, ok := g.Node(absent); ok || strings.Contains(all, absent) {
			t.Errorf("%q in the graph:\n%s", absent, all)
		}
	}
	if fmt.Sprint(g.Pipelines) != "[churn orders small split]" {
		t.Errorf("pipelines %v", g.Pipelines)
	}
	// Each pipeline's routes stay in it.
	for _, e := range g.Edges {
		from, _ := g.Node(e.From)
		to, _ := g.Node(e.To)
		if from.Pipeline != to.Pipeline {
			t.Errorf("edge %s -> %s crosses pipelines", e.From, e.To)
		}
	}
}
