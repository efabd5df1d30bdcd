package routing

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
)

func scoring(t *testing.T) *pipeline.Pipeline {
	t.Helper()
	data, err := os.ReadFile("../../../deploy/pipelines/churn_scoring.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p, err := pipeline.Parse("churn_scoring.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// An activity's rule matches exactly the event of the step it follows:
// the load of its dataset, the completion of its activity.
func TestActivityRules(t *testing.T) {
	p := scoring(t)
	table, err := NewTable(ForPipelines([]*pipeline.Pipeline{p, churn(t)}))
	if err != nil {
		t.Fatal(err)
	}
	var rule Rule
	for _, r := range table.Rules() {
		if r.Name == "fusion-churn-scoring-activity-export_lake" {
			rule = r
		}
	}
	if want := `{"source":["fusion.loader"],"detail-type":["fusion.dataset.loaded.v1"],"detail":{"pipeline":["churn_scoring"],"dataset":{"name":["churn_scoring.predictions"]}}}`; string(rule.Pattern) != want || rule.Target != "ingest" {
		t.Errorf("export_lake's rule %s -> %s\nwant %s -> ingest", rule.Pattern, rule.Target, want)
	}
	ref := messages.RunRef{RunID: "20261121-151600-3fa9c2", Pipeline: "churn_scoring"}
	at := time.Date(2026, 11, 21, 15, 16, 0, 0, time.UTC)
	for _, c := range []struct {
		d    messages.Detail
		want string
	}{
		{&messages.DatasetLoaded{RunRef: ref, Dataset: messages.DatasetRef{Name: "churn_scoring.predictions", Objects: []string{"p/x.parquet"}}, Table: "t", LoadID: "l"}, "ingest,loader"},
		{&messages.DatasetLoaded{RunRef: ref, Dataset: messages.DatasetRef{Name: "churn_scoring.curated", Objects: []string{"c/x.parquet"}}, Table: "t", LoadID: "l"}, ""},
		{&messages.ActivityCompleted{RunRef: ref, Activity: "export_lake", Kind: messages.ActivityCopy}, "ingest"},
		{&messages.ActivityCompleted{RunRef: ref, Activity: "prune_low_scores", Kind: messages.ActivitySQL}, ""},
		{&messages.ActivityCompleted{RunRef: messages.RunRef{RunID: ref.RunID, Pipeline: "churn"}, Activity: "export_lake", Kind: messages.ActivityCopy}, ""},
	} {
		env, err := messages.New(c.d, at)
		if err != nil {
			t.Fatal(err)
		}
		if got := targets(t, table, env); got != c.want {
			t.Errorf("%s %+v reaches %q, want %q", env.DetailType, c.d, got, c.want)
		}
	}
}

// The graph draws each activity from the event of the step it follows.
func TestActivityGraph(t *testing.T) {
	g := graphOf(t, false, scoring(t))
	got := strings.Join(edges(g), "\n")
	for _, want := range []string{
		"churn_scoring/event/fusion.dataset.loaded.v1 -(fusion-churn-scoring-activity-export_lake)-> churn_scoring/step/activity.export_lake",
		"churn_scoring/event/fusion.dataset.loaded.v1 -(fusion-churn-scoring-activity-prune_low_scores)-> churn_scoring/step/activity.prune_low_scores",
		"churn_scoring/step/activity.export_lake -> churn_scoring/event/fusion.activity.completed.v1",
		"churn_scoring/event/fusion.activity.completed.v1 -(fusion-churn-scoring-activity-export_reporting)-> churn_scoring/step/activity.export_reporting",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("graph lacks %s:\n%s", want, got)
		}
	}
	if n, ok := g.Node(StepID("churn_scoring", "activity.prune_low_scores")); !ok || n.Worker != "loader" || n.Note != "sql in the warehouse" {
		t.Errorf("prune node %+v", n)
	}
}
