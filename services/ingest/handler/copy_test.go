package handler

import (
	"strings"
	"testing"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/worker"
	"github.com/fusiondata/fusion/services/runtime/worker/workertest"
)

const withCopies = `name: p
source: {prefix: landing/p/}
transform: {sql: SELECT * FROM input}
load: [{dataset: curated, table: items}]
activities:
  - {name: export, after: load.curated, copy: {from: "dataset:curated", to: "lake:exports/p/{{date}}/{{run_id}}/"}}
  - {name: mirror, after: activity.export, copy: {from: "s3://fusion-lake/exports/p/", to: "lake:mirror/"}}
  - {name: elsewhere, after: activity.mirror, copy: {from: "s3://other-bucket/x/", to: "lake:mirror/"}}
  - {name: report, after: activity.elsewhere, copy: {from: "dataset:curated", to: "postgres://reporting/items", optional: true}}
  - {name: must_report, after: activity.report, copy: {from: "dataset:curated", to: "postgres://reporting/items"}}
`

// Copies within the lake write the same names under the target prefix; a
// rerun writes the same keys again.
func TestCopyInTheLake(t *testing.T) {
	s := workertest.New(t, map[string]string{"p.yaml": withCopies})
	w, err := New(s.Deps)
	if err != nil {
		t.Fatal(err)
	}
	run := messages.RunRef{RunID: workertest.RunID, Pipeline: "p"}
	curated := s.Parquet(t, "curated/p/"+workertest.RunID+"/part-0.parquet", "SELECT i AS id FROM range(7) t(i)")
	curated.Name = "p.curated"
	loaded := &messages.DatasetLoaded{RunRef: run, Dataset: curated, Warehouse: "duckdb", Table: "items", LoadID: "l", Rows: 7}
	for i := 0; i < 2; i++ {
		out, err := s.Call(t, w, "p", loaded)
		if err != nil {
			t.Fatal(err)
		}
		done := out.Events[0].(*messages.ActivityCompleted)
		want := "exports/p/2026-11-21/" + workertest.RunID + "/part-0.parquet"
		if done.Activity != "export" || done.Kind != messages.ActivityCopy || len(done.Objects) != 1 || done.Objects[0] != want ||
			done.Target != "lake:exports/p/2026-11-21/"+workertest.RunID+"/" || out.Bytes != curated.Bytes {
			t.Fatalf("copy %d: %+v %+v", i+1, done, out)
		}
		if got := s.Query(t, "SELECT count(*), sum(id) FROM read_parquet('"+s.Path(t, want)+"')"); strings.Join(got[0], ",") != "7,21" {
			t.Errorf("the copy holds %v", got)
		}
	}
	// A prefix keeps the objects' paths below it.
	out, err := s.Call(t, w, "p", &messages.ActivityCompleted{RunRef: run, Activity: "export", Kind: messages.ActivityCopy})
	if err != nil {
		t.Fatal(err)
	}
	if done := out.Events[0].(*messages.ActivityCompleted); len(done.Objects) != 1 || done.Objects[0] != "mirror/2026-11-21/"+workertest.RunID+"/part-0.parquet" {
		t.Errorf("mirror %+v", done)
	}
	// Another bucket is not the lake.
	_, err = s.Call(t, w, "p", &messages.ActivityCompleted{RunRef: run, Activity: "mirror", Kind: messages.ActivityCopy})
	if err == nil || !worker.IsPermanent(err) || !strings.Contains(err.Error(), "s3://other-bucket/x/ is not in the lake (bucket fusion-lake)") {
		t.Errorf("another bucket: %v", err)
	}
}

// A copy to a database without a configured connection is skipped when
// optional, and fails naming the variable to set otherwise.
func TestCopyWithoutConnection(t *testing.T) {
	s := workertest.New(t, map[string]string{"p.yaml": withCopies})
	w, _ := New(s.Deps)
	run := messages.RunRef{RunID: workertest.RunID, Pipeline: "p"}
	out, err := s.Call(t, w, "p", &messages.ActivityCompleted{RunRef: run, Activity: "elsewhere", Kind: messages.ActivityCopy})
	if err != nil {
		t.Fatal(err)
	}
	if done := out.Events[0].(*messages.ActivityCompleted); !done.Skipped || done.Activity != "report" || done.Target != "postgres://reporting/items" {
		t.Errorf("optional copy: %+v", done)
	}
	_, err = s.Call(t, w, "p", &messages.ActivityCompleted{RunRef: run, Activity: "report", Kind: messages.ActivityCopy})
	if err == nil || !worker.IsPermanent(err) || !strings.Contains(err.Error(), "activity must_report: connection \"reporting\" is not configured: set FUSION_CONN_REPORTING") {
		t.Errorf("required copy: %v", err)
	}
}
