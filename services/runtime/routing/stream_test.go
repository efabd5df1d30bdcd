package routing

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
)

// A streaming pipeline's records go to the stream queue; records naming a
// pipeline that does not stream go nowhere.
func TestStreamRecordsRouting(t *testing.T) {
	p, err := pipeline.Parse("clicks.yaml", []byte("name: churn_stream\nsource: {format: jsonl}\nstream: {}\ntransform: {sql: SELECT * FROM input}\n"))
	if err != nil {
		t.Fatal(err)
	}
	table, err := NewTable(ForPipelines([]*pipeline.Pipeline{churn(t), p}))
	if err != nil {
		t.Fatal(err)
	}
	body, err := os.ReadFile("../../../messages/testdata/" + messages.TypeStreamRecords + ".json")
	if err != nil {
		t.Fatal(err)
	}
	env, err := messages.Parse(body)
	if err != nil {
		t.Fatal(err)
	}
	if got := targets(t, table, env); got != StreamQueue {
		t.Errorf("churn_stream's records go to %q", got)
	}
	other := env
	other.Detail = []byte(strings.Replace(string(env.Detail), `"pipeline": "churn_stream"`, `"pipeline": "churn"`, 1))
	if string(other.Detail) == string(env.Detail) {
		t.Fatal("the golden event names no churn_stream")
	}
	if got := targets(t, table, other); got != "" {
		t.Errorf("records of churn, which does not stream, go to %q", got)
	}
	// The micro-batches it seals are landed objects of the pipeline.
	sealed, _ := messages.NewObjectCreated("lake", messages.CreatedObject{Key: "landing/churn_stream/stream/x.jsonl", Size: 1}, time.Now())
	if got := targets(t, table, sealed); got != "ingest" {
		t.Errorf("a sealed micro-batch goes to %q", got)
	}
}
