package handler

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"strings"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/ingest/pgsource"
	"github.com/fusiondata/fusion/services/runtime/activity"
	"github.com/fusiondata/fusion/services/runtime/engine"
	"github.com/fusiondata/fusion/services/runtime/lake"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
	"github.com/fusiondata/fusion/services/runtime/warehouse"
	"github.com/fusiondata/fusion/services/runtime/warehouse/pgwh"
	"github.com/fusiondata/fusion/services/runtime/worker"
)

// A copy activity (pipeline.Copy) runs on ingest, the worker that moves
// data in and holds the lake's and the sources' credentials. It copies
//
//   - within the lake: each object under the source prefix (or of the
//     run's dataset) to the same name under the target prefix, replacing
//     what is there — a rerun writes the same keys;
//   - from the lake into a Postgres table: the objects' rows (Parquet,
//     CSV or JSON lines) are applied as one load of the table, with the
//     warehouse's loader (binary COPY, the load recorded in the database's
//     _fusion_loads in the same transaction, under the id
//     <run>/<pipeline>.activity.<name>/0): a rerun of the same run adds
//     nothing;
//   - from a Postgres table or query into one Parquet object: the table's
//     name (or the activity's, for a query) .parquet under the target
//     prefix, or the target key itself; a rerun replaces it.

// maxListedObjects bounds the keys an activity's event lists.
const maxListedObjects = 100

func (h *ingester) copyActivity(ctx context.Context, in *worker.Input) (worker.Output, error) {
	a, err := activity.Of(in)
	if err != nil {
		return worker.Output{}, err
	}
	vars := activity.Vars(in)
	from, err := pipeline.ParseEndpoint(a.Copy.From)
	if err != nil {
		return worker.Output{}, worker.Permanent(err)
	}
	to, err := pipeline.ParseEndpoint(a.Copy.To)
	if err != nil {
		return worker.Output{}, worker.Permanent(err)
	}
	from, to = from.Expand(vars), to.Expand(vars)
	done := activity.Completed(in, a)
	done.Target = to.String()
	for _, e := range []pipeline.Endpoint{from, to} {
		if e.Kind != pipeline.EndpointPostgres {
			continue
		}
		if _, err := h.deps.Connection(e.Connection); err != nil {
			if a.Copy.Optional {
				h.deps.Logger.Info("optional copy skipped: its connection is not configured", "activity", a.Name, "run_id", in.Run.RunID, "connection", e.Connection)
				done.Skipped = true
				return worker.Output{Events: []messages.Detail{done}}, nil
			}
			return worker.Output{}, worker.Permanent(fmt.Errorf("activity %s: %w", a.Name, err))
		}
	}
	var out worker.Output
	switch {
	case to.Kind == pipeline.EndpointPostgres:
		out, err = h.copyToPostgres(ctx, in, a, from, to, done)
	case from.Kind == pipeline.EndpointPostgres:
		out, err = h.copyFromPostgres(ctx, in, a, from, to, done)
	default:
		out, err = h.copyInLake(ctx, in, from, to, done)
	}
	if err != nil {
		return worker.Output{}, fmt.Errorf("activity %s: copy %s to %s: %w", a.Name, from, to, err)
	}
	out.Events = []messages.Detail{done}
	return out, nil
}

// sources lists the lake objects a source endpoint names, each with the
// name it keeps under a target prefix.
func (h *ingester) sources(ctx context.Context, in *worker.Input, from pipeline.Endpoint) ([]lake.Object, []string, error) {
	if from.Kind == pipeline.EndpointDataset {
		objs, err := activity.Dataset(ctx, h.deps.Lake, in.Run.Pipeline, in.Run.RunID, from.Dataset)
		names := make([]string, len(objs))
		for i, o := range objs {
			names[i] = path.Base(o.Key)
		}
		return objs, names, err
	}
	key, err := activity.LakeKey(h.deps.Lake, from)
	if err != nil {
		return nil, nil, err
	}
	if !from.IsPrefix() {
		obj, err := h.deps.Lake.Stat(ctx, key)
		if errors.Is(err, lake.ErrNotFound) {
			return nil, nil, worker.Permanent(fmt.Errorf("%s: %w", from, err))
		}
		return []lake.Object{obj}, []string{path.Base(key)}, err
	}
	objs, err := h.deps.Lake.List(ctx, key)
	names := make([]string, len(objs))
	for i, o := range objs {
		names[i] = strings.TrimPrefix(o.Key, key)
	}
	return objs, names, err
}

// copyInLake copies objects to the same names under the target prefix.
func (h *ingester) copyInLake(ctx context.Context, in *worker.Input, from, to pipeline.Endpoint, done *messages.ActivityCompleted) (worker.Output, error) {
	dst, err := activity.LakeKey(h.deps.Lake, to)
	if err != nil {
		return worker.Output{}, err
	}
	objs, names, err := h.sources(ctx, in, from)
	if err != nil {
		return worker.Output{}, err
	}
	var out worker.Output
	for i, o := range objs {
		copied, err := h.deps.Lake.Copy(ctx, o.Key, dst+names[i])
		if err != nil {
			return worker.Output{}, err
		}
		out.Bytes += copied.Size
		if len(done.Objects) < maxListedObjects {
			done.Objects = append(done.Objects, copied.Key)
		}
	}
	return out, nil
}

// copyToPostgres applies the source's rows to a table, once per run.
func (h *ingester) copyToPostgres(ctx context.Context, in *worker.Input, a pipeline.Activity, from, to pipeline.Endpoint, done *messages.ActivityCompleted) (worker.Output, error) {
	objs, _, err := h.sources(ctx, in, from)
	if err != nil {
		return worker.Output{}, err
	}
	if len(objs) == 0 {
		return worker.Output{}, worker.Permanent(fmt.Errorf("nothing to copy: %s holds no objects", from))
	}
	tmp, err := os.MkdirTemp(h.deps.Engine.TempDir(), "copy-*")
	if err != nil {
		return worker.Output{}, err
	}
	defer os.RemoveAll(tmp)
	var files []string
	var size int64
	for _, o := range objs {
		f, err := h.asParquet(ctx, o.Key, tmp)
		if err != nil {
			return worker.Output{}, err
		}
		files = append(files, f)
		size += o.Size
	}
	table, err := postgresTable(to.Table)
	if err != nil {
		return worker.Output{}, worker.Permanent(err)
	}
	dsn, _ := h.deps.Connection(to.Connection)
	w, err := pgwh.Open(ctx, dsn, pgwh.Options{MemoryLimit: "256MB"})
	if err != nil {
		return worker.Output{}, err
	}
	defer w.Close()
	mode := a.Copy.Mode
	if mode == "" {
		mode = pipeline.ModeAppend
	}
	dataset := in.Run.Pipeline + "." + pipeline.ActivityPrefix + a.Name
	req := warehouse.LoadRequest{LoadID: warehouse.LoadID(in.Run.RunID, dataset, 0), RunID: in.Run.RunID, Dataset: dataset,
		Table: table, Keys: a.Copy.Keys, Mode: mode, Files: files}
	res, err := warehouse.Traced(w).Load(ctx, req)
	var re *warehouse.RowError
	if errors.As(err, &re) || errors.Is(err, warehouse.ErrIncompatible) {
		return worker.Output{}, worker.Permanent(err)
	}
	if err != nil {
		return worker.Output{}, err
	}
	if !res.Applied {
		h.deps.Logger.Info("copy applied before; nothing changed", "activity", a.Name, "run_id", in.Run.RunID, "load_id", req.LoadID)
	}
	done.Rows = res.Rows
	return worker.Output{RowsIn: res.Rows, RowsOut: res.Rows, Bytes: size}, nil
}

// postgresTable spells a table of a postgres:// endpoint as the loader
// takes it: unquoted names folded to lower case, as Postgres does.
func postgresTable(name string) (string, error) {
	parts, err := pipeline.ParseSQLName(name)
	if err != nil {
		return "", fmt.Errorf("table %q: %w", name, err)
	}
	for _, p := range parts {
		if strings.Contains(p, ".") {
			return "", fmt.Errorf("table %q: a name with a dot cannot be a copy's target", name)
		}
	}
	return strings.Join(parts, "."), nil
}

// asParquet makes a lake object a local Parquet file: Parquet as it is,
// CSV (with a header) and JSON lines converted by DuckDB.
func (h *ingester) asParquet(ctx context.Context, key, tmp string) (string, error) {
	local, release, err := h.deps.Lake.Local(ctx, key, tmp)
	if err != nil {
		return "", err
	}
	var read string
	switch ext := strings.ToLower(path.Ext(key)); ext {
	case ".parquet":
		return local, nil // the lake's file (or a copy in tmp), read in place
	case ".csv":
		read = "SELECT * FROM read_csv(" + engine.QuoteString(local) + ", header = true)"
	case ".jsonl", ".ndjson", ".json":
		read = "SELECT * FROM read_json(" + engine.QuoteString(local) + ", format = 'newline_delimited')"
	default:
		release()
		return "", worker.Permanent(fmt.Errorf("%s: a copy into a table reads Parquet, CSV or JSON lines (.parquet, .csv, .jsonl), not %q", key, ext))
	}
	defer release()
	conn, err := h.deps.Engine.Conn(ctx)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	f, err := os.CreateTemp(tmp, "*.parquet")
	if err != nil {
		return "", err
	}
	f.Close()
	if _, err := engine.CopyToParquet(ctx, conn, read, f.Name()); err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return "", worker.Permanent(fmt.Errorf("%s: %w", key, err))
	}
	return f.Name(), nil
}

// copyFromPostgres writes a table's or a query's rows as one Parquet
// object.
func (h *ingester) copyFromPostgres(ctx context.Context, in *worker.Input, a pipeline.Activity, from, to pipeline.Endpoint, done *messages.ActivityCompleted) (worker.Output, error) {
	key, err := activity.LakeKey(h.deps.Lake, to)
	if err != nil {
		return worker.Output{}, err
	}
	query, name := strings.TrimRight(strings.TrimSpace(activity.Vars(in).Expand(a.Copy.Query)), ";"), a.Name
	if from.Table != "" {
		parts, err := pipeline.ParseSQLName(from.Table)
		if err != nil {
			return worker.Output{}, worker.Permanent(err)
		}
		t := pgsource.Table{Name: parts[len(parts)-1]}
		if len(parts) == 2 {
			t.Schema = parts[0]
		}
		query, name = "SELECT * FROM "+t.SQL(), t.Name
	}
	if to.IsPrefix() {
		key += name + ".parquet"
	}
	dsn, _ := h.deps.Connection(from.Connection)
	conn, err := pgsource.Connect(ctx, dsn)
	if err != nil {
		return worker.Output{}, permanentIf(err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	have, err := pgsource.DescribeQuery(ctx, conn, query)
	if err != nil {
		return worker.Output{}, permanentIf(err)
	}
	cols := make([]column, len(have))
	for i, c := range have {
		t, err := pgsource.DuckType(c)
		if err != nil {
			return worker.Output{}, permanentIf(err)
		}
		cols[i] = column{Name: c.Name, Type: t}
	}
	csvFile, err := os.CreateTemp(h.deps.Engine.TempDir(), "copy-*.csv")
	if err != nil {
		return worker.Output{}, err
	}
	defer os.Remove(csvFile.Name())
	bw := bufio.NewWriterSize(csvFile, 1<<20)
	rows, err := pgsource.CopyQueryCSV(ctx, conn, query, bw)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := csvFile.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return worker.Output{}, permanentIf(err)
	}
	pq, err := os.CreateTemp(h.deps.Engine.TempDir(), "copy-*.parquet")
	if err != nil {
		return worker.Output{}, err
	}
	pq.Close()
	defer os.Remove(pq.Name())
	duck, err := h.deps.Engine.Conn(ctx)
	if err != nil {
		return worker.Output{}, err
	}
	err = pulledToParquet(ctx, duck, csvFile.Name(), rows, cols, pq.Name())
	duck.Close()
	if err != nil {
		return worker.Output{}, err
	}
	obj, err := h.deps.Lake.PutFile(ctx, key, pq.Name())
	if err != nil {
		return worker.Output{}, err
	}
	done.Objects, done.Rows = []string{obj.Key}, rows
	return worker.Output{RowsIn: rows, RowsOut: rows, Bytes: obj.Size}, nil
}

// permanentIf keeps pgsource's verdict: a missing table or an unmapped
// type is permanent, a dropped connection is not.
func permanentIf(err error) error {
	if pgsource.Permanent(err) {
		return worker.Permanent(err)
	}
	return err
}
