package stack

import (
	"fmt"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/fusiondata/fusion/services/runtime/pipeline"
)

// Activities and preconditions widen their workers' roles by exactly the
// lake objects they touch outside the workers' zones.
func TestActivityAccess(t *testing.T) {
	p, err := pipeline.Parse("orders.yaml", []byte(`name: orders
transform: {sql: SELECT * FROM input}
training: {key: id, label: y, features: [x], split: {train: 1}}
load: [{dataset: curated, table: orders}]
preconditions:
  - {step: transform, object_exists: "flags/orders/{{date}}/_READY"}
  - {step: load.curated, prefix_not_empty: "raw/orders/"}
activities:
  - {name: export, after: load.curated, copy: {from: "dataset:curated", to: "lake:exports/orders/{{run_id}}/"}}
  - {name: archive, after: activity.export, copy: {from: "lake:landing/orders/", to: "lake:raw/archive/"}}
  - {name: check, after: traindata, shell: {command: "true", dataset: manifest}}
`))
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := Render([]*pipeline.Pipeline{p})
	if err != nil {
		t.Fatal(err)
	}
	var doc template
	if err := yaml.Unmarshal(tpl, &doc); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for id, r := range doc.Resources {
		if !strings.HasSuffix(id, "ActivityPolicy") {
			continue
		}
		for _, s := range r.Properties["PolicyDocument"].(map[string]any)["Statement"].([]any) {
			st := s.(map[string]any)
			var keys []string
			for _, res := range st["Resource"].([]any) {
				parts := res.(map[string]any)["Fn::Join"].([]any)[1].([]any)
				keys = append(keys, parts[len(parts)-1].(string))
			}
			got[id+" "+fmt.Sprint(st["Action"])] = strings.Join(keys, " ")
		}
	}
	want := map[string]string{
		// ingest reads landing and raw already; curated is new to it.
		"IngestActivityPolicy s3:GetObject": "/curated/*",
		// raw/archive/ is in ingest's raw zone; exports/ is not.
		"IngestActivityPolicy [s3:PutObject s3:AbortMultipartUpload]": "/exports/orders/*",
		// transform reads the manifest for the shell, and the flag.
		"TransformActivityPolicy s3:GetObject": "/flags/orders/* /training/*",
		// the loader's precondition reads raw/.
		"LoaderActivityPolicy s3:GetObject": "/raw/orders/*",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("activity grants\n got %v\nwant %v", got, want)
	}
}
