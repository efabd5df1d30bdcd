// Package handler is the traindata worker: from a curated dataset it builds
// a training set — key, features and label — split deterministically into
// train, validation and test by a hash of the key, with a manifest of row
// counts, label balance and per-feature statistics.
package handler

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
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

// SplitExpr is the SQL that assigns a row to a split: the first 32 bits of
// md5(key as text), as a fraction of 2^32, against the cumulative
// fractions. The same key always lands in the same split, in any run and in
// any language (Python: int(hashlib.md5(str(key).encode()).hexdigest()[:8], 16) / 2**32).
func SplitExpr(key string, s pipeline.Split) string {
	bucket := fmt.Sprintf("(('0x' || left(md5(CAST(%s AS VARCHAR)), 8))::UBIGINT / 4294967296.0)", engine.QuoteIdent(key))
	return fmt.Sprintf("CASE WHEN %[1]s < %[2]v THEN 'train' WHEN %[1]s < %[3]v THEN 'validation' ELSE 'test' END",
		bucket, s.Train, s.Train+s.Validation)
}

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

	cols := append([]string{spec.Key}, spec.Features...)
	cols = append(cols, spec.Label)
	view := fmt.Sprintf("SELECT %s, %s AS __split FROM %s", engine.QuoteIdents(cols), SplitExpr(spec.Key, spec.Split), engine.ReadParquet(paths...))
	if _, err := conn.ExecContext(ctx, "CREATE OR REPLACE TEMP VIEW labeled AS "+view); err != nil {
		return worker.Output{}, err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "DROP VIEW IF EXISTS labeled")

	out := worker.Output{RowsIn: ev.Dataset.Rows}
	built := &messages.TrainingDataBuilt{RunRef: in.Run, Input: ev.Dataset}
	refs := map[string]*messages.DatasetRef{"train": &built.Train, "validation": &built.Validation, "test": &built.Test}
	schema := pick(ev.Dataset.Schema, cols)
	for _, split := range Splits {
		tmp, err := os.CreateTemp(h.deps.Engine.TempDir(), "split-*.parquet")
		if err != nil {
			return worker.Output{}, err
		}
		tmp.Close()
		rows, err := engine.CopyToParquet(ctx, conn, fmt.Sprintf("SELECT %s FROM labeled WHERE __split = '%s'", engine.QuoteIdents(cols), split), tmp.Name())
		if err != nil {
			os.Remove(tmp.Name())
			return worker.Output{}, err
		}
		key := lake.RunKey(lake.Training, p.Name, in.Run.RunID, split+".parquet")
		obj, err := h.deps.Lake.PutFile(ctx, key, tmp.Name())
		os.Remove(tmp.Name())
		if err != nil {
			return worker.Output{}, err
		}
		*refs[split] = messages.DatasetRef{Name: p.DatasetName("training." + split), Zone: lake.Training, Format: "parquet",
			Objects: []string{key}, Schema: schema, Rows: rows, Bytes: obj.Size}
		out.RowsOut += rows
		out.Bytes += obj.Size
	}

	m, err := buildManifest(ctx, conn, p, in.Run, ev.Dataset, refs, schema)
	if err != nil {
		return worker.Output{}, err
	}
	body, _ := json.MarshalIndent(m, "", "  ")
	built.Manifest = lake.RunKey(lake.Training, p.Name, in.Run.RunID, "manifest.json")
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
