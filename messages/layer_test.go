package messages

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// A batch-layer run carries its layer on the ingested and transformed
// events (golden JSON beside the plain samples, whose goldens have no
// layer field: it is omitted when empty).
func TestLayerGoldenRoundTrip(t *testing.T) {
	s := samples()
	ingested := *s[TypeDatasetIngested].(*DatasetIngested)
	ingested.Layer = LayerBatch
	transformed := *s[TypeDatasetTransformed].(*DatasetTransformed)
	transformed.Layer = LayerBatch
	for _, d := range []Detail{&ingested, &transformed} {
		env, err := New(d, at)
		if err != nil {
			t.Fatal(err)
		}
		got, err := json.MarshalIndent(env, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("testdata", env.DetailType+".batch-layer.json")
		if *update {
			if err := os.WriteFile(path, append(got, '\n'), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		golden, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test ./messages -update to create it)", err)
		}
		assertJSONEqual(t, golden, got)
		if !strings.Contains(string(golden), `"layer": "batch"`) {
			t.Errorf("%s has no layer", path)
		}
		parsed, err := Parse(golden)
		if err != nil {
			t.Fatal(err)
		}
		decoded, err := Decode(parsed)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(decoded, d) {
			t.Errorf("decoded %+v, want %+v", decoded, d)
		}
	}
	// The plain goldens stay valid: no layer, decoded as empty.
	for _, dt := range []string{TypeDatasetIngested, TypeDatasetTransformed} {
		golden, err := os.ReadFile(goldenPath(dt))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(golden), `"layer"`) {
			t.Errorf("%s: an empty layer must be omitted", dt)
		}
	}
}

func TestLayerIsValidated(t *testing.T) {
	d := *samples()[TypeDatasetTransformed].(*DatasetTransformed)
	d.Layer = "fast"
	env, err := New(&d, at)
	if err == nil {
		_, err = Decode(env)
	}
	if err == nil || !strings.Contains(err.Error(), `layer "fast"`) {
		t.Fatalf("got %v, want the layer refused", err)
	}
}
