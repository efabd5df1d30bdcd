package routing

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
)

func churn(t *testing.T) *pipeline.Pipeline {
	t.Helper()
	data, err := os.ReadFile("../../../deploy/pipelines/churn.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p, err := pipeline.Parse("churn.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func targets(t *testing.T, table *Table, env messages.Envelope) string {
	t.Helper()
	rules, err := table.MatchEnvelope(env)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rules {
		out = append(out, r.Target)
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

// TestChurnRouting routes each contract's golden event through the rules
// derived from the churn pipeline.
func TestChurnRouting(t *testing.T) {
	table, err := NewTable(ForPipelines([]*pipeline.Pipeline{churn(t)}))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		messages.TypeDatasetIngested:    "transform",
		messages.TypeDatasetTransformed: "inference,loader,traindata",
		messages.TypeTrainingDataBuilt:  "",
		messages.TypePredictionsReady:   "loader",
		messages.TypeDatasetLoaded:      "",
		messages.TypeStepStarted:        "ledger",
		messages.TypeStepSucceeded:      "ledger",
		messages.TypeStepFailed:         "failures,ledger",
		messages.TypeRunLate:            "failures",
	}
	for detailType, target := range want {
		body, err := os.ReadFile(filepath.Join("../../../messages/testdata", detailType+".json"))
		if err != nil {
			t.Fatal(err)
		}
		env, err := messages.Parse(body)
		if err != nil {
			t.Fatal(err)
		}
		if got := targets(t, table, env); got != target {
			t.Errorf("%s goes to %q, want %q", detailType, got, target)
		}
		// Another pipeline's events are not routed by churn's rules (step
		// events and late runs go to the ledger and the failures topic
		// whatever their pipeline).
		other := env
		other.Detail = []byte(strings.NewReplacer(`"pipeline":"churn"`, `"pipeline":"orders"`, `"pipeline": "churn"`, `"pipeline": "orders"`).Replace(string(env.Detail)))
		if got := targets(t, table, other); !strings.HasPrefix(detailType, "fusion.step.") && detailType != messages.TypeRunLate && got != "" {
			t.Errorf("orders' %s goes to %q", detailType, got)
		}
	}

	landed, _ := messages.NewObjectCreated("fusion-lake", messages.CreatedObject{Key: "landing/anything/x.csv", Size: 1}, time.Now())
	if got := targets(t, table, landed); got != "ingest" {
		t.Errorf("landed object goes to %q", got)
	}
	elsewhere, _ := messages.NewObjectCreated("fusion-lake", messages.CreatedObject{Key: "raw/churn/x.csv", Size: 1}, time.Now())
	if got := targets(t, table, elsewhere); got != "" {
		t.Errorf("an object outside landing/ goes to %q", got)
	}
}

func TestRuleNamesFitEventBridge(t *testing.T) {
	for _, r := range ForPipelines([]*pipeline.Pipeline{churn(t)}) {
		if !ruleNameRE.MatchString(r.Name) {
			t.Errorf("rule name %q", r.Name)
		}
	}
	if _, err := NewTable([]Rule{{Name: "a", Target: "x", Pattern: []byte(`{"source":["s"]}`)}, {Name: "a", Target: "y", Pattern: []byte(`{"source":["s"]}`)}}); err == nil {
		t.Error("duplicate rule names accepted")
	}
	if _, err := NewTable([]Rule{{Name: "bad name!", Target: "x", Pattern: []byte(`{"source":["s"]}`)}}); err == nil {
		t.Error("bad rule name accepted")
	}
}
