package pipeline

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/fusiondata/fusion/messages"
)

const snapMinimal = `name: sales
source:
  prefix: incoming/sales/
transform:
  sql: SELECT * FROM input
`

func TestSnapshotSource(t *testing.T) {
	p, err := Parse("sales.yaml", []byte(snapMinimal))
	if err != nil {
		t.Fatal(err)
	}
	if !p.Source.Snapshot() || !p.StartsOnRequest() || p.Source.Format != "csv" || p.Source.Delimiter != "," {
		t.Errorf("source %+v", p.Source)
	}
	if steps := p.Steps(); steps[0].Consumes != messages.TypeIngestRequested {
		t.Errorf("steps %+v", steps)
	}
	// Objects arriving under a snapshot's prefix start nothing.
	if p.OwnsKey("incoming/sales/a.csv") {
		t.Error("a snapshot owns arriving keys")
	}
	landed, err := Parse("orders.yaml", []byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	if landed.Source.Snapshot() || landed.StartsOnRequest() || !landed.OwnsKey("landing/orders/a.csv") {
		t.Errorf("a landing pipeline: %+v", landed.Source)
	}
}

func TestSnapshotSkips(t *testing.T) {
	for key, skip := range map[string]bool{
		"incoming/sales/a.csv": false, "incoming/sales/2026/b.jsonl": false, "raw/c/r/b1.JSONL": false,
		"incoming/sales/": true, "incoming/sales/_SUCCESS": true, "raw/c/r/_snapshot.json": true,
		"incoming/sales/.a.csv.tmp": true, "raw/c/r/b1.parquet": true, "raw/c/r/b1.PARQUET": true,
	} {
		if SnapshotSkips(key) != skip {
			t.Errorf("SnapshotSkips(%q) = %v", key, !skip)
		}
	}
}

func TestSnapshotPrefixErrors(t *testing.T) {
	cases := map[string]struct{ prefix, want string }{
		"no slash":       {"incoming/sales", `sales.yaml:3: source.prefix: must be a key prefix ending in / (got "incoming/sales")`},
		"absolute":       {"/data/", `source.prefix: must be a key prefix ending in /`},
		"dot dot":        {"incoming/../x/", `source.prefix: must be a key prefix ending in /`},
		"quarantine":     {"quarantine/sales/", `sales.yaml:3: source.prefix: a snapshot cannot read quarantine/`},
		"models":         {"models/", `a snapshot cannot read models/`},
		"own curated":    {"curated/sales/", `"curated/sales/" holds the pipeline's own curated output`},
		"all of curated": {"curated/", `holds the pipeline's own curated output`},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Parse("sales.yaml", []byte(strings.Replace(snapMinimal, "incoming/sales/", c.prefix, 1)))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want %q", err, c.want)
			}
		})
	}
	for _, ok := range []string{"raw/clicks/", "curated/orders/", "exports/2026/"} {
		if _, err := Parse("sales.yaml", []byte(strings.Replace(snapMinimal, "incoming/sales/", ok, 1))); err != nil {
			t.Errorf("%s refused: %v", ok, err)
		}
	}
}

// Snapshots only read their prefix: two may share one, and one may read
// below a landing pipeline's raw output.
func TestRegistrySnapshotsMayOverlap(t *testing.T) {
	fsys := fstest.MapFS{
		"sales.yaml":  {Data: []byte(snapMinimal)},
		"totals.yaml": {Data: []byte(strings.NewReplacer("name: sales", "name: totals", "incoming/sales/", "incoming/").Replace(snapMinimal))},
		"orders.yaml": {Data: []byte(minimal)},
	}
	r, err := NewRegistry(fsys, "pipelines")
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Problems()) != 0 || len(r.All()) != 3 {
		t.Fatalf("problems %v, pipelines %d", r.Problems(), len(r.All()))
	}
	if _, err := r.ForKey("incoming/sales/a.csv"); err == nil {
		t.Error("an arriving object under a snapshot prefix found a pipeline")
	}
}
