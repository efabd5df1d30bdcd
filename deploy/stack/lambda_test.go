package stack

import (
	"strings"
	"testing"

	"github.com/fusiondata/fusion/services/runtime/pipeline"
)

// A Lambda pipeline's batch layer reads its history as a snapshot: a
// history outside the zones ingest reads gets the read policy; the
// default, the raw zone, needs none.
func TestLambdaHistoryIsReadable(t *testing.T) {
	const def = `name: clicks
source: {prefix: landing/clicks/, format: jsonl}
transform: {sql: SELECT * FROM input}
lambda:
  time: event_time
  view: clicks_serving
  batch: {table: clicks_batch, prefix: history/clicks/}
  speed: {table: clicks_speed}
`
	for _, c := range []struct {
		def  string
		want bool
	}{{def, true}, {strings.Replace(def, "prefix: history/clicks/", "prefix: raw/clicks/", 1), false}} {
		p, err := pipeline.Parse("clicks.yaml", []byte(c.def))
		if err != nil {
			t.Fatal(err)
		}
		tpl, err := Render([]*pipeline.Pipeline{p})
		if err != nil {
			t.Fatal(err)
		}
		got := strings.Contains(string(tpl), "IngestSnapshotReadPolicy") && strings.Contains(string(tpl), "/history/clicks/*")
		if got != c.want {
			t.Errorf("batch prefix %s: read policy %v, want %v", p.Lambda.BatchPrefix(p.Name), got, c.want)
		}
	}
}
