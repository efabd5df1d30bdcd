package handler

import (
	"errors"
	"strings"
	"testing"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/worker"
	"github.com/fusiondata/fusion/services/runtime/worker/workertest"
)

const withSQL = def + `activities:
  - {name: prune, after: load.curated, sql: "DELETE FROM analytics.items WHERE v < 15 OR '{{run_id}}' = 'never'"}
  - {name: broken, after: activity.prune, sql: "DELETE FROM analytics.nowhere"}
`

// The statement runs in the warehouse after the load it follows, with the
// run's values substituted, and its completion names the rows it changed.
func TestSQLActivity(t *testing.T) {
	s := workertest.New(t, map[string]string{"p.yaml": withSQL})
	w, _ := New(s.Deps)
	ref := s.Parquet(t, "curated/p/r/part-0.parquet", "SELECT i AS id, i * 1.5::DOUBLE AS v FROM range(100) t(i)")
	ref.Name = "p.curated"
	run := messages.RunRef{RunID: workertest.RunID, Pipeline: "p"}
	if _, err := s.Call(t, w, "p", &messages.DatasetTransformed{RunRef: run, Dataset: ref}); err != nil {
		t.Fatal(err)
	}
	loaded := &messages.DatasetLoaded{RunRef: run, Dataset: ref, Warehouse: "duckdb", Table: "analytics.items", LoadID: "l", Rows: 100, Applied: true}
	out, err := s.Call(t, w, "p", loaded)
	if err != nil {
		t.Fatal(err)
	}
	done, ok := out.Events[0].(*messages.ActivityCompleted)
	if !ok || done.Activity != "prune" || done.Kind != messages.ActivitySQL || done.Rows != 10 || done.Target != "warehouse" || out.RowsOut != 10 {
		t.Errorf("output %+v, event %+v", out, out.Events[0])
	}
	if got := count(t, s, "SELECT count(*), min(id) FROM analytics.items"); got != "90 10" {
		t.Errorf("table holds %s", got)
	}
	// Run again (a redelivery): the statement is idempotent, nothing more goes.
	if out, err := s.Call(t, w, "p", loaded); err != nil || out.RowsOut != 0 {
		t.Errorf("again: %+v %v", out, err)
	}
	// A failing statement fails the attempt, naming the activity; it is retried.
	_, err = s.Call(t, w, "p", done)
	if err == nil || !strings.Contains(err.Error(), "activity broken: ") || !strings.Contains(err.Error(), "nowhere") || worker.IsPermanent(err) {
		t.Errorf("a failing statement: %v (permanent %v)", err, worker.IsPermanent(err))
	}
	var ie *worker.InputError
	if errors.As(err, &ie) {
		t.Error("a statement's failure is not bad input")
	}
}
