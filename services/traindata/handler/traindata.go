// Package handler is the traindata worker: from a curated dataset it builds
// a training set — key, features and label — split deterministically into
// train, validation and test by a hash of the key, with a manifest of row
// counts, label balance and per-feature statistics.
package handler

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/catalog"
	"github.com/fusiondata/fusion/services/runtime/engine"
	"github.com/fusiondata/fusion/services/runtime/lake"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
	"github.com/fusiondata/fusion/services/runtime/worker"
)

func init() { worker.Register(pipeline.WorkerTraindata, New) }

// New builds the traindata worker.
func New(d worker.Deps) (*worker.Worker, error) {
	if d.Engine == nil || d.Lake == nil || d.Catalog == nil {
		return nil, errors.New("traindata needs an engine, a lake and a catalog")
	}
	h := &builder{deps: d}
	return &worker.Worker{Name: pipeline.WorkerTraindata, Handlers: map[string]worker.Handler{
		messages.TypeDatasetTransformed: h.transformed,
	}}, nil
}

type builder struct{ deps worker.Deps }

// Splits in the order they are cut from the hash range.
var Splits = []string{"train", "validation", "test"}

// BucketExpr is the SQL of a row's place in [0, 1): the first 32 bits of
// md5(key as text) as a fraction of 2^32. The same key always gets the same
// bucket, in any run and in any language
// (Python: int(hashlib.md5(str(key).encode()).hexdigest()[:8], 16) / 2**32).
func BucketExpr(key string) string {
	return fmt.Sprintf("(('0x' || left(md5(CAST(%s AS VARCHAR)), 8))::UBIGINT / 4294967296.0)", engine.QuoteIdent(key))
}

// SplitExpr assigns a bucket (a column named by bucket) to a split by
// cutting [0, 1) at the cumulative fractions: train, validation, test.
func SplitExpr(bucket string, s pipeline.Split) string {
	return fmt.Sprintf("CASE WHEN %[1]s < %[2]v THEN 'train' WHEN %[1]s < %[3]v THEN 'validation' ELSE 'test' END",
		bucket, s.Train, s.Train+s.Validation)
}

// splitColumn names the partition column of the one-pass split.
const splitColumn = "__split"

func (h *builder) transformed(ctx context.Context, in *worker.Input) (worker.Output, error) {
	ev := in.Detail.(*messages.DatasetTransformed)
	p := in.Pipeline
	spec := p.Training
	if err := checkColumns(p, ev.Dataset.Schema); err != nil {
		return worker.Output{}, worker.Permanent(err)
	}
	paths, release, err := worker.LocalFiles(ctx, h.deps.Lake, ev.Dataset.Objects, h.deps.Engine.TempDir())
	if err != nil {
		return worker.Output{}, err
	}
	defer release()
	conn, err := h.deps.Engine.Conn(ctx)
	if err != nil {
		return worker.Output{}, err
	}
	defer conn.Close()
	dir, err := os.MkdirTemp(h.deps.Engine.TempDir(), "split-")
	if err != nil {
		return worker.Output{}, err
	}
	defer os.RemoveAll(dir)

	// One pass: hash each key once and write every split's file.
	cols := append(append([]string{spec.Key}, spec.Features...), spec.Label)
	source := engine.ReadParquet(paths...)
	query := fmt.Sprintf("SELECT %s, %s AS %s FROM (SELECT *, %s AS __bucket FROM %s)",
		engine.QuoteIdents(cols), SplitExpr("__bucket", spec.Split), splitColumn, BucketExpr(spec.Key), source)
	if _, err := engine.CopyPartitioned(ctx, conn, query, splitColumn, filepath.Join(dir, "out")); err != nil {
		return worker.Output{}, err
	}

	built := &messages.TrainingDataBuilt{RunRef: in.Run, Input: ev.Dataset,
		Manifest: lake.RunKey(lake.Training, p.Name, in.Run.RunID, "manifest.json")}
	refs := map[string]*messages.DatasetRef{"train": &built.Train, "validation": &built.Validation, "test": &built.Test}
	schema := pick(ev.Dataset.Schema, cols)
	locals := map[string]string{}
	var views []string
	for _, split := range Splits {
		local, rows, err := splitFile(ctx, conn, filepath.Join(dir, "out", splitColumn+"="+split), cols, source)
		if err != nil {
			return worker.Output{}, err
		}
		locals[split] = local
		views = append(views, fmt.Sprintf("SELECT '%s' AS %s, * FROM %s", split, splitColumn, engine.ReadParquet(local)))
		*refs[split] = messages.DatasetRef{Name: p.DatasetName("training." + split), Zone: lake.Training, Format: "parquet",
			Objects: []string{lake.RunKey(lake.Training, p.Name, in.Run.RunID, split+".parquet")}, Schema: schema, Rows: rows}
	}
	// The manifest's statistics read the written splits, not the hash again.
	if _, err := conn.ExecContext(ctx, "CREATE OR REPLACE TEMP VIEW labeled AS "+strings.Join(views, " UNION ALL ")); err != nil {
		return worker.Output{}, err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "DROP VIEW IF EXISTS labeled")
	m, err := buildManifest(ctx, conn, p, in.Run, ev.Dataset, refs, schema)
	if err != nil {
		return worker.Output{}, err
	}

	out := worker.Output{RowsIn: ev.Dataset.Rows}
	for _, split := range Splits {
		ref := refs[split]
		obj, err := h.deps.Lake.PutFile(ctx, ref.Objects[0], locals[split])
		if err != nil {
			return worker.Output{}, err
		}
		ref.Bytes = obj.Size
		out.RowsOut += ref.Rows
		out.Bytes += obj.Size
	}
	body, _ := json.MarshalIndent(m, "", "  ")
	if _, err := h.deps.Lake.Put(ctx, built.Manifest, bytes.NewReader(append(body, '\n'))); err != nil {
		return worker.Output{}, err
	}
	for _, split := range Splits {
		if err := h.deps.Catalog.Register(ctx, catalog.FromRef(*refs[split], in.Run, pipeline.WorkerTraindata, h.deps.Now())); err != nil {
			return worker.Output{}, err
		}
	}
	out.Events = []messages.Detail{built}
	return out, nil
}

// checkColumns names the training columns the curated dataset lacks.
func checkColumns(p *pipeline.Pipeline, schema []messages.Column) error {
	have := map[string]bool{}
	for _, c := range schema {
		have[c.Name] = true
	}
	var errs []error
	t := p.Training
	if !have[t.Key] {
		errs = append(errs, fmt.Errorf("%s: training.key: column %q is not in the curated dataset", p.File, t.Key))
	}
	if !have[t.Label] {
		errs = append(errs, fmt.Errorf("%s: training.label: column %q is not in the curated dataset", p.File, t.Label))
	}
	for i, f := range t.Features {
		if !have[f] {
			errs = append(errs, fmt.Errorf("%s: training.features[%d]: column %q is not in the curated dataset", p.File, i, f))
		}
	}
	return errors.Join(errs...)
}

func pick(schema []messages.Column, names []string) []messages.Column {
	byName := map[string]messages.Column{}
	for _, c := range schema {
		byName[c.Name] = c
	}
	out := make([]messages.Column, len(names))
	for i, n := range names {
		out[i] = byName[n]
	}
	return out
}

func isNumeric(sqlType string) bool {
	t := strings.ToUpper(sqlType)
	for _, n := range []string{"INT", "DOUBLE", "FLOAT", "DECIMAL", "REAL", "NUMERIC"} {
		if strings.Contains(t, n) {
			return true
		}
	}
	return false
}

// splitFile returns one Parquet file holding a split's partition (merging
// several, or writing an empty one with the right columns when no row fell
// in the split) and its row count.
func splitFile(ctx context.Context, conn *sql.Conn, dir string, cols []string, source string) (string, int64, error) {
	files, _ := filepath.Glob(filepath.Join(dir, "*.parquet"))
	out := dir + ".parquet"
	var err error
	switch len(files) {
	case 1:
		err = os.Rename(files[0], out)
	case 0:
		_, err = engine.CopyToParquet(ctx, conn, fmt.Sprintf("SELECT %s FROM %s LIMIT 0", engine.QuoteIdents(cols), source), out)
	default:
		_, err = engine.CopyToParquet(ctx, conn, "SELECT * FROM "+engine.ReadParquet(files...), out)
	}
	if err != nil {
		return "", 0, err
	}
	var rows int64
	err = conn.QueryRowContext(ctx, "SELECT count(*) FROM "+engine.ReadParquet(out)).Scan(&rows)
	return out, rows, err
}
