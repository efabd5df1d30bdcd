// Package workertest gives worker handler tests a real embedded stack —
// a lake directory, a DuckDB engine and warehouse, a SQLite catalog — and
// helpers to call a handler the way the runtime does.
package workertest

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/engine"
	"github.com/fusiondata/fusion/services/runtime/lake/fslake"
	"github.com/fusiondata/fusion/services/runtime/metastore"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
	"github.com/fusiondata/fusion/services/runtime/warehouse/duckwh"
	"github.com/fusiondata/fusion/services/runtime/worker"
)

// RunID is the run every helper uses.
const RunID = "20261121-151600-3fa9c2"

// Stack is an embedded tier in a temporary directory.
type Stack struct {
	Deps  worker.Deps
	Lake  *fslake.Lake
	Store *metastore.Store
	Dir   string
}

// New builds a stack serving the given pipeline definitions (file name to YAML).
func New(t *testing.T, pipelines map[string]string) *Stack {
	t.Helper()
	dir := t.TempDir()
	pdir := filepath.Join(dir, "pipelines")
	if err := os.MkdirAll(pdir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range pipelines {
		if err := os.WriteFile(filepath.Join(pdir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	reg, err := pipeline.NewRegistry(os.DirFS(pdir), pdir)
	if err != nil {
		t.Fatal(err)
	}
	l, err := fslake.Open(filepath.Join(dir, "lake"), "fusion-lake")
	if err != nil {
		t.Fatal(err)
	}
	store, err := metastore.Open(filepath.Join(dir, "fusion.db"))
	if err != nil {
		t.Fatal(err)
	}
	eng, err := engine.Open(engine.Config{TempDir: filepath.Join(dir, "tmp"), Threads: 2, MemoryLimit: "512MB"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close(); store.Close() })
	return &Stack{Dir: dir, Lake: l, Store: store, Deps: worker.Deps{
		Lake: l, Catalog: store, Engine: eng, Pipelines: reg, Now: time.Now,
		Warehouse: duckwh.New(filepath.Join(dir, "warehouse.duckdb"), duckwh.Options{MemoryLimit: "512MB"}),
	}}
}

// Call runs a worker's handler for one event the way the runtime would.
func (s *Stack) Call(t *testing.T, w *worker.Worker, pipelineName string, d messages.Detail) (worker.Output, error) {
	t.Helper()
	env, err := messages.New(d, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Deps.Pipelines.Get(pipelineName)
	if err != nil {
		t.Fatal(err)
	}
	step, ok := p.StepForEvent(w.Name, env.DetailType, d)
	if !ok {
		t.Fatalf("%s has no step of %s for %s", pipelineName, w.Name, env.DetailType)
	}
	h, ok := w.Handlers[env.DetailType]
	if !ok {
		t.Fatalf("%s has no handler for %s", w.Name, env.DetailType)
	}
	run := messages.RunRef{RunID: RunID, Pipeline: pipelineName}
	if r, ok := d.(interface{ Ref() messages.RunRef }); ok {
		run = r.Ref()
	}
	return h(context.Background(), &worker.Input{Event: env, Detail: d, Run: run, Pipeline: p, Step: step, Attempt: 1})
}

// Parquet writes the result of a SQL query to a lake key as Parquet and
// returns a dataset reference to it.
func (s *Stack) Parquet(t *testing.T, key, query string) messages.DatasetRef {
	t.Helper()
	ctx := context.Background()
	conn, err := s.Deps.Engine.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	f, err := s.Lake.TempFile("fixture-*.parquet")
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	rows, err := engine.CopyToParquet(ctx, conn, query, f.Name())
	if err != nil {
		t.Fatal(err)
	}
	cols, err := engine.Describe(ctx, conn, query)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := s.Lake.PutFile(ctx, key, f.Name())
	if err != nil {
		t.Fatal(err)
	}
	return messages.DatasetRef{Name: "fixture", Zone: "curated", Format: "parquet", Objects: []string{key}, Schema: worker.Columns(cols), Rows: rows, Bytes: obj.Size}
}

// Query runs SQL on the engine over lake files and returns rows as strings.
func (s *Stack) Query(t *testing.T, query string) [][]string {
	t.Helper()
	ctx := context.Background()
	conn, err := s.Deps.Engine.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rows, err := conn.QueryContext(ctx, query)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out [][]string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		row := make([]string, len(cols))
		for i, v := range vals {
			var b bytes.Buffer
			if v != nil {
				b.WriteString(fmtValue(v))
			}
			row[i] = b.String()
		}
		out = append(out, row)
	}
	return out
}

// Path is the local file of a lake key.
func (s *Stack) Path(t *testing.T, key string) string {
	t.Helper()
	p, err := s.Lake.Path(key)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
