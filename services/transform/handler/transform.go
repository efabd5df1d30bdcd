// Package handler is the transform worker: it runs a pipeline's SQL over
// the ingested dataset (visible as "input") in DuckDB, or pushed down into
// Snowflake, and writes the result to the curated zone as Parquet.
package handler

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/catalog"
	"github.com/fusiondata/fusion/services/runtime/engine"
	"github.com/fusiondata/fusion/services/runtime/lake"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
	"github.com/fusiondata/fusion/services/runtime/warehouse/snowwh"
	"github.com/fusiondata/fusion/services/runtime/worker"
)

func init() { worker.Register(pipeline.WorkerTransform, New) }

// New builds the transform worker.
func New(d worker.Deps) (*worker.Worker, error) {
	if d.Engine == nil || d.Lake == nil || d.Catalog == nil {
		return nil, errors.New("transform needs an engine, a lake and a catalog")
	}
	h := &transformer{deps: d, snow: map[string]*snowwh.Warehouse{}}
	return (&worker.Worker{Name: pipeline.WorkerTransform, Handlers: map[string]worker.Handler{
		messages.TypeDatasetIngested: h.ingested,
	}}).WithActivities(h.shellActivity), nil // shell.go
}

type transformer struct {
	deps worker.Deps

	mu   sync.Mutex
	snow map[string]*snowwh.Warehouse // by DSN, for pushed-down transforms
}

func (h *transformer) ingested(ctx context.Context, in *worker.Input) (worker.Output, error) {
	ev := in.Detail.(*messages.DatasetIngested)
	p := in.Pipeline
	paths, release, err := worker.LocalFiles(ctx, h.deps.Lake, ev.Dataset.Objects, h.deps.Engine.TempDir())
	if err != nil {
		return worker.Output{}, err
	}
	defer release()

	tmp, err := os.CreateTemp(h.deps.Engine.TempDir(), "transform-*.parquet")
	if err != nil {
		return worker.Output{}, err
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	run := h.inDuckDB
	if p.Transform.Engine == pipeline.EngineSnowflake {
		run = h.inSnowflake
	}
	schema, rows, err := run(ctx, p, ev.Dataset, paths, tmp.Name())
	if err != nil {
		return worker.Output{}, err
	}
	key := lake.RunKey(lake.Curated, p.Name, in.Run.RunID, "part-0.parquet")
	obj, err := h.deps.Lake.PutFile(ctx, key, tmp.Name())
	if err != nil {
		return worker.Output{}, err
	}
	dataset := messages.DatasetRef{
		Name: p.DatasetName(pipeline.DatasetCurated), Zone: lake.Curated, Format: "parquet",
		Objects: []string{key}, Schema: schema, Rows: rows, Bytes: obj.Size,
	}
	if err := h.deps.Catalog.Register(ctx, catalog.FromRef(dataset, in.Run, pipeline.WorkerTransform, h.deps.Now())); err != nil {
		return worker.Output{}, err
	}
	return worker.Output{
		RowsIn: ev.Dataset.Rows, RowsOut: rows, Bytes: obj.Size,
		Events: []messages.Detail{&messages.DatasetTransformed{RunRef: in.Run, Input: ev.Dataset, Dataset: dataset, Layer: ev.Layer}},
	}, nil
}

// inDuckDB runs the SQL in the worker's DuckDB over the input files and
// writes the result to out.
func (h *transformer) inDuckDB(ctx context.Context, p *pipeline.Pipeline, _ messages.DatasetRef, paths []string, out string) ([]messages.Column, int64, error) {
	conn, err := h.deps.Engine.Conn(ctx)
	if err != nil {
		return nil, 0, err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "CREATE OR REPLACE TEMP VIEW input AS SELECT * FROM "+engine.ReadParquet(paths...)); err != nil {
		return nil, 0, err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "DROP VIEW IF EXISTS input")

	query := strings.TrimRight(strings.TrimSpace(p.Transform.SQL), ";")
	schema, err := engine.Describe(ctx, conn, query)
	if err != nil {
		// The SQL does not fit the data: the pipeline must change, retrying won't help.
		return nil, 0, worker.Permanent(fmt.Errorf("%s: transform.sql: %w", p.File, err))
	}
	rows, err := engine.CopyToParquet(ctx, conn, query, out)
	if err != nil {
		if ctx.Err() != nil {
			return nil, 0, err
		}
		return nil, 0, worker.Permanent(fmt.Errorf("%s: transform.sql: %w", p.File, err))
	}
	return worker.Columns(schema), rows, nil
}
