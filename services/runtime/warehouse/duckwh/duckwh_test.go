package duckwh

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fusiondata/fusion/services/runtime/engine"
	"github.com/fusiondata/fusion/services/runtime/warehouse"
)

// parquet writes rows (a SQL VALUES list) with the given column names.
func parquet(t *testing.T, e *engine.Engine, cols, values string) string {
	t.Helper()
	ctx := context.Background()
	conn, err := e.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	path := filepath.Join(t.TempDir(), "part.parquet")
	if _, err := engine.CopyToParquet(ctx, conn, fmt.Sprintf("SELECT * FROM (VALUES %s) AS v(%s)", values, cols), path); err != nil {
		t.Fatal(err)
	}
	return path
}

func query(t *testing.T, w *Warehouse, q string) []string {
	t.Helper()
	var out []string
	err := w.Query(context.Background(), q, func(cols []string, row []any) error {
		if row == nil {
			return nil
		}
		parts := make([]string, len(row))
		for i, v := range row {
			parts[i] = fmt.Sprint(v)
		}
		out = append(out, strings.Join(parts, "|"))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func setup(t *testing.T) (*Warehouse, *engine.Engine) {
	e, err := engine.Open(engine.Config{TempDir: t.TempDir(), Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return New(filepath.Join(t.TempDir(), "wh.duckdb"), Options{MemoryLimit: "512MB"}), e
}

func TestLoadIsAppliedOnce(t *testing.T) {
	w, e := setup(t)
	ctx := context.Background()
	f := parquet(t, e, "id, name", "(1, 'a'), (2, 'b'), (3, 'c')")
	req := warehouse.LoadRequest{LoadID: "r1/p.curated/0", RunID: "r1", Dataset: "p.curated", Table: "customers", Mode: "append", Files: []string{f}}
	for i := 0; i < 3; i++ {
		res, err := w.Load(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if res.Applied != (i == 0) || res.Rows != 3 {
			t.Errorf("delivery %d: %+v", i+1, res)
		}
	}
	if got := query(t, w, "SELECT count(*) FROM customers"); got[0] != "3" {
		t.Errorf("rows after three deliveries: %v", got)
	}
	if got := query(t, w, "SELECT load_id, rows FROM "+History); len(got) != 1 || got[0] != "r1/p.curated/0|3" {
		t.Errorf("history %v", got)
	}
}

func TestMergeReplacesByKey(t *testing.T) {
	w, e := setup(t)
	ctx := context.Background()
	load := func(id, values string) {
		t.Helper()
		_, err := w.Load(ctx, warehouse.LoadRequest{LoadID: id, Table: "analytics.scores", Keys: []string{"id"}, Mode: "merge", Files: []string{parquet(t, e, "id, score", values)}})
		if err != nil {
			t.Fatal(err)
		}
	}
	load("r1/x/0", "(1, 0.5::DOUBLE), (2, 0.25::DOUBLE)")
	load("r2/x/0", "(2, 0.75::DOUBLE), (3, 0.125::DOUBLE)")
	got := query(t, w, "SELECT id, score FROM analytics.scores ORDER BY id")
	if strings.Join(got, " ") != "1|0.5 2|0.75 3|0.125" {
		t.Errorf("after merge: %v", got)
	}
}

func TestReplaceAndSchemaEvolution(t *testing.T) {
	w, e := setup(t)
	ctx := context.Background()
	if _, err := w.Load(ctx, warehouse.LoadRequest{LoadID: "a", Table: "t", Mode: "append", Files: []string{parquet(t, e, "id", "(1), (2)")}}); err != nil {
		t.Fatal(err)
	}
	// A new column is added; old rows read it as NULL.
	if _, err := w.Load(ctx, warehouse.LoadRequest{LoadID: "b", Table: "t", Mode: "replace", Files: []string{parquet(t, e, "id, extra", "(7, 'x')")}}); err != nil {
		t.Fatal(err)
	}
	if got := query(t, w, "SELECT id, extra FROM t"); strings.Join(got, " ") != "7|x" {
		t.Errorf("after replace: %v", got)
	}
	// A changed type is refused and nothing is applied.
	_, err := w.Load(ctx, warehouse.LoadRequest{LoadID: "c", Table: "t", Mode: "append", Files: []string{parquet(t, e, "id", "('not a number')")}})
	if !errors.Is(err, warehouse.ErrIncompatible) || !strings.Contains(err.Error(), "column id is INTEGER in t but VARCHAR") {
		t.Errorf("type change: %v", err)
	}
	if got := query(t, w, "SELECT count(*) FROM "+History+" WHERE load_id = 'c'"); got[0] != "0" {
		t.Error("a refused load was recorded")
	}
}

func TestMergeRefusesDuplicateKeys(t *testing.T) {
	w, e := setup(t)
	_, err := w.Load(context.Background(), warehouse.LoadRequest{LoadID: "d", Table: "t", Keys: []string{"id"}, Mode: "merge", Files: []string{parquet(t, e, "id, v", "(1, 'a'), (1, 'b')")}})
	if !errors.Is(err, warehouse.ErrIncompatible) || !strings.Contains(err.Error(), "id=1") {
		t.Errorf("duplicate keys: %v", err)
	}
	if got := query(t, w, "SELECT count(*) FROM information_schema.tables WHERE table_name = 't'"); got[0] != "0" {
		t.Error("a refused load left its table behind")
	}
}

func TestHostileColumnNamesStayNames(t *testing.T) {
	w, e := setup(t)
	evil := `"x""; DROP TABLE t; --"`
	if _, err := w.Load(context.Background(), warehouse.LoadRequest{LoadID: "e", Table: "t", Keys: []string{`x"; DROP TABLE t; --`}, Mode: "merge", Files: []string{parquet(t, e, evil, "(1)")}}); err != nil {
		t.Fatal(err)
	}
	if got := query(t, w, `SELECT "x""; DROP TABLE t; --" FROM t`); strings.Join(got, "") != "1" {
		t.Errorf("got %v", got)
	}
}
