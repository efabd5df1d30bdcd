package handler

import (
	"context"
	"strings"
	"testing"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/worker"
	"github.com/fusiondata/fusion/services/runtime/worker/workertest"
)

const def = `name: p
transform:
  sql: |
    SELECT id, upper(name) AS name, amount * 2 AS doubled FROM input WHERE amount > 1;
`

func ingested(t *testing.T, s *workertest.Stack) *messages.DatasetIngested {
	ref := s.Parquet(t, "raw/p/r/in.parquet", "SELECT i AS id, 'n' || i AS name, i::DOUBLE AS amount FROM range(0, 10) t(i)")
	return &messages.DatasetIngested{RunRef: messages.RunRef{RunID: workertest.RunID, Pipeline: "p"}, Raw: messages.ObjectRef{Key: "raw/p/r/in.csv"}, Dataset: ref}
}

func TestTransformWritesCuratedAndCatalogs(t *testing.T) {
	s := workertest.New(t, map[string]string{"p.yaml": def})
	w, _ := New(s.Deps)
	out, err := s.Call(t, w, "p", ingested(t, s))
	if err != nil {
		t.Fatal(err)
	}
	ev := out.Events[0].(*messages.DatasetTransformed)
	if ev.Dataset.Rows != 8 || out.RowsIn != 10 || out.RowsOut != 8 || ev.Dataset.Name != "p.curated" {
		t.Fatalf("%+v", ev.Dataset)
	}
	if got := ev.Dataset.Schema; len(got) != 3 || got[2].Name != "doubled" || got[2].Type != "DOUBLE" {
		t.Errorf("schema %+v", got)
	}
	rows := s.Query(t, "SELECT id, name, doubled FROM read_parquet('"+s.Path(t, ev.Dataset.Objects[0])+"') ORDER BY id LIMIT 1")
	if strings.Join(rows[0], ",") != "2,N2,4" {
		t.Errorf("first row %v", rows[0])
	}
	d, err := s.Store.Get(context.Background(), "p.curated", workertest.RunID)
	if err != nil || d.Rows != 8 || d.Producer != "transform" {
		t.Errorf("catalog %+v %v", d, err)
	}
}

func TestBadSQLIsPermanentAndNamesTheFile(t *testing.T) {
	s := workertest.New(t, map[string]string{"p.yaml": "name: p\ntransform: {sql: SELECT colour FROM input}\n"})
	w, _ := New(s.Deps)
	_, err := s.Call(t, w, "p", ingested(t, s))
	if !worker.IsPermanent(err) || !strings.Contains(err.Error(), "p.yaml: transform.sql:") || !strings.Contains(err.Error(), "colour") {
		t.Errorf("got %v", err)
	}
}
