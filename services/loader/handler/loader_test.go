package handler

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/worker"
	"github.com/fusiondata/fusion/services/runtime/worker/workertest"
)

const def = `name: p
transform: {sql: SELECT * FROM input}
load: [{dataset: curated, table: analytics.items, keys: [id], mode: merge}]
`

func count(t *testing.T, s *workertest.Stack, q string) string {
	var out string
	err := s.Deps.Warehouse.Query(context.Background(), q, func(_ []string, row []any) error {
		if row != nil {
			out = fmt.Sprint(row...)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestLoadIsAppliedOnceHoweverOftenItArrives(t *testing.T) {
	s := workertest.New(t, map[string]string{"p.yaml": def})
	w, _ := New(s.Deps)
	ref := s.Parquet(t, "curated/p/r/part-0.parquet", "SELECT i AS id, i * 1.5::DOUBLE AS v FROM range(100) t(i)")
	ref.Name = "p.curated"
	ev := &messages.DatasetTransformed{RunRef: messages.RunRef{RunID: workertest.RunID, Pipeline: "p"}, Dataset: ref}
	for i := 0; i < 3; i++ {
		out, err := s.Call(t, w, "p", ev)
		if err != nil {
			t.Fatal(err)
		}
		loaded := out.Events[0].(*messages.DatasetLoaded)
		if loaded.Applied != (i == 0) || loaded.Rows != 100 || loaded.Table != "analytics.items" || loaded.LoadID != workertest.RunID+"/p.curated/0" || loaded.Warehouse != "duckdb" {
			t.Errorf("delivery %d: %+v", i+1, loaded)
		}
	}
	if got := count(t, s, "SELECT count(*), sum(v) FROM analytics.items"); got != "100 7425" {
		t.Errorf("table holds %s", got)
	}
}

func TestIncompatibleDataIsBadInputNamingTheTable(t *testing.T) {
	s := workertest.New(t, map[string]string{"p.yaml": def})
	w, _ := New(s.Deps)
	first := s.Parquet(t, "curated/p/r1/part-0.parquet", "SELECT 1 AS id, 2.5 AS v")
	first.Name = "p.curated"
	if _, err := s.Call(t, w, "p", &messages.DatasetTransformed{RunRef: messages.RunRef{RunID: workertest.RunID, Pipeline: "p"}, Dataset: first}); err != nil {
		t.Fatal(err)
	}
	bad := s.Parquet(t, "curated/p/r2/part-0.parquet", "SELECT 'one' AS id, 2.5 AS v")
	bad.Name = "p.curated"
	_, err := s.Call(t, w, "p", &messages.DatasetTransformed{RunRef: messages.RunRef{RunID: "20261121-151601-3fa9c3", Pipeline: "p"}, Dataset: bad})
	var ie *worker.InputError
	if !errors.As(err, &ie) || ie.Object != "curated/p/r2/part-0.parquet" || ie.Field != "analytics.items" || !strings.Contains(err.Error(), "column id is INTEGER") {
		t.Errorf("got %v", err)
	}
}

func TestValueThatDoesNotFitNamesObjectRowAndColumn(t *testing.T) {
	s := workertest.New(t, map[string]string{"p.yaml": def})
	w, _ := New(s.Deps)
	first := s.Parquet(t, "curated/p/r1/part-0.parquet", "SELECT 1::BIGINT AS id, 2::SMALLINT AS qty")
	first.Name = "p.curated"
	if _, err := s.Call(t, w, "p", &messages.DatasetTransformed{RunRef: messages.RunRef{RunID: workertest.RunID, Pipeline: "p"}, Dataset: first}); err != nil {
		t.Fatal(err)
	}
	bad := s.Parquet(t, "curated/p/r2/part-0.parquet", "SELECT i::BIGINT AS id, (i * 10000)::INTEGER AS qty FROM range(2, 10) t(i)")
	bad.Name = "p.curated"
	_, err := s.Call(t, w, "p", &messages.DatasetTransformed{RunRef: messages.RunRef{RunID: "20261121-151601-3fa9c3", Pipeline: "p"}, Dataset: bad})
	var ie *worker.InputError
	if !errors.As(err, &ie) || ie.Object != "curated/p/r2/part-0.parquet" || ie.Line != 3 || ie.Field != "qty" ||
		!strings.Contains(err.Error(), "value 40000 does not fit SMALLINT in analytics.items") {
		t.Errorf("got %v", err)
	}
	if got := count(t, s, "SELECT count(*) FROM analytics.items"); got != "1" {
		t.Errorf("table holds %s rows", got)
	}
}
