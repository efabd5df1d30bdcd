package duckwh

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fusiondata/fusion/services/runtime/engine"
	"github.com/fusiondata/fusion/services/runtime/warehouse"
	"github.com/fusiondata/fusion/services/runtime/warehouse/warehousetest"
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

func TestConformance(t *testing.T) {
	warehousetest.Run(t, func(t *testing.T, env warehousetest.Env, hooks warehouse.Hooks) warehouse.Warehouse {
		return New(filepath.Join(env.Dir, "wh.duckdb"), Options{MemoryLimit: "256MB", Hooks: hooks})
	})
}
