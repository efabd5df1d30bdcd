// Package handler is the inference worker: it scores a dataset with a
// registered model version and writes the predictions (the pipeline's key
// columns, the score, the model and version) to the predictions zone.
package handler

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sync"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/inference/model"
	"github.com/fusiondata/fusion/services/runtime/catalog"
	"github.com/fusiondata/fusion/services/runtime/engine"
	"github.com/fusiondata/fusion/services/runtime/lake"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
	"github.com/fusiondata/fusion/services/runtime/worker"
)

func init() { worker.Register(pipeline.WorkerInference, New) }

// New builds the inference worker.
func New(d worker.Deps) (*worker.Worker, error) {
	if d.Engine == nil || d.Lake == nil || d.Catalog == nil {
		return nil, errors.New("inference needs an engine, a lake and a catalog")
	}
	h := &scorer{deps: d, models: map[string]loaded{}}
	return &worker.Worker{Name: pipeline.WorkerInference, Handlers: map[string]worker.Handler{
		messages.TypeDatasetTransformed: h.score,
		messages.TypeTrainingDataBuilt:  h.score,
	}, Attach: h.attach}, nil // realtime.go: POST /v1/score/{pipeline}
}

type scorer struct {
	deps   worker.Deps
	mu     sync.Mutex
	models map[string]loaded // by model version and file tag
}

type loaded struct {
	meta  model.Meta
	model model.Predictor
	tag   string // the version's files' identity: a new tag, a new model
}

// ModelKey is where a registered model version's model.yaml lives.
func ModelKey(name, version string) string {
	return path.Join(lake.Models, name, version, "model.yaml")
}

func (h *scorer) score(ctx context.Context, in *worker.Input) (worker.Output, error) {
	p := in.Pipeline
	inf := p.Inference
	var input messages.DatasetRef
	switch d := in.Detail.(type) {
	case *messages.DatasetTransformed:
		input = d.Dataset
	case *messages.TrainingDataBuilt:
		input, _ = d.Split(inf.InferenceInput())
	}
	m, err := h.model(ctx, inf.Model, inf.Version)
	if err != nil {
		return worker.Output{}, err
	}
	if err := checkColumns(p, m.meta, input.Schema); err != nil {
		return worker.Output{}, worker.Permanent(err)
	}
	paths, release, err := worker.LocalFiles(ctx, h.deps.Lake, input.Objects, h.deps.Engine.TempDir())
	if err != nil {
		return worker.Output{}, err
	}
	defer release()

	tmp, err := os.CreateTemp(h.deps.Engine.TempDir(), "predictions-*.parquet")
	if err != nil {
		return worker.Output{}, err
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	rows, err := scoreToParquet(ctx, h.deps.Engine, scoring{
		files: paths, keys: inf.Keys, features: m.meta.Features, model: m.model,
		extra: fmt.Sprintf("%s AS model, %s AS model_version, %s AS run_id",
			engine.QuoteString(m.meta.Name), engine.QuoteString(m.meta.Version), engine.QuoteString(in.Run.RunID)),
	}, tmp.Name())
	if err != nil {
		return worker.Output{}, err
	}
	conn, err := h.deps.Engine.Conn(ctx)
	if err != nil {
		return worker.Output{}, err
	}
	schema, err := engine.Describe(ctx, conn, "SELECT * FROM "+engine.ReadParquet(tmp.Name()))
	conn.Close()
	if err != nil {
		return worker.Output{}, err
	}
	key := lake.RunKey(lake.Predictions, p.Name, in.Run.RunID, m.meta.Name+"-"+m.meta.Version+".parquet")
	obj, err := h.deps.Lake.PutFile(ctx, key, tmp.Name())
	if err != nil {
		return worker.Output{}, err
	}
	dataset := messages.DatasetRef{Name: p.DatasetName(pipeline.DatasetPredictions), Zone: lake.Predictions, Format: "parquet",
		Objects: []string{key}, Schema: worker.Columns(schema), Rows: rows, Bytes: obj.Size}
	if err := h.deps.Catalog.Register(ctx, catalog.FromRef(dataset, in.Run, pipeline.WorkerInference, h.deps.Now())); err != nil {
		return worker.Output{}, err
	}
	return worker.Output{
		RowsIn: input.Rows, RowsOut: rows, Bytes: obj.Size,
		Events: []messages.Detail{&messages.PredictionsReady{RunRef: in.Run, Input: input, Dataset: dataset,
			Model: messages.ModelRef{Name: m.meta.Name, Version: m.meta.Version, Format: m.meta.Format}}},
	}, nil
}

// model loads a registered model version from the lake. Loaded models are
// kept: a version is immutable, and a replaced file has a new tag and is
// loaded again.
func (h *scorer) model(ctx context.Context, name, version string) (loaded, error) {
	metaKey := ModelKey(name, version)
	metaObj, err := h.deps.Lake.Stat(ctx, metaKey)
	if errors.Is(err, lake.ErrNotFound) {
		return loaded{}, worker.Permanent(fmt.Errorf("model %s version %s is not registered (no %s in the lake)", name, version, metaKey))
	}
	if err != nil {
		return loaded{}, err
	}
	metaBytes, err := h.read(ctx, metaKey)
	if err != nil {
		return loaded{}, err
	}
	meta, err := model.ParseMeta(metaBytes)
	if err != nil {
		return loaded{}, worker.Permanent(fmt.Errorf("%s: %w", metaKey, err))
	}
	fileKey := path.Join(path.Dir(metaKey), meta.File)
	fileObj, err := h.deps.Lake.Stat(ctx, fileKey)
	if err != nil {
		if errors.Is(err, lake.ErrNotFound) {
			return loaded{}, worker.Permanent(fmt.Errorf("model %s@%s: %s is missing", name, version, fileKey))
		}
		return loaded{}, err
	}
	sum := sha1.Sum([]byte(metaKey + metaObj.ETag + fileObj.ETag))
	tag := hex.EncodeToString(sum[:6])

	h.mu.Lock()
	defer h.mu.Unlock()
	if l, ok := h.models[tag]; ok {
		return l, nil
	}
	r, err := h.deps.Lake.Open(ctx, fileKey)
	if err != nil {
		return loaded{}, err
	}
	defer r.Close()
	pred, err := model.Load(meta, r)
	if err != nil {
		return loaded{}, worker.Permanent(err)
	}
	l := loaded{meta: meta, model: pred, tag: tag}
	h.models[tag] = l
	return l, nil
}

func (h *scorer) read(ctx context.Context, key string) ([]byte, error) {
	r, err := h.deps.Lake.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(io.LimitReader(r, 1<<20))
}

// checkColumns names the model features and keys the input lacks.
func checkColumns(p *pipeline.Pipeline, meta model.Meta, schema []messages.Column) error {
	have := map[string]bool{}
	for _, c := range schema {
		have[c.Name] = true
	}
	var errs []error
	for _, f := range meta.Features {
		if !have[f] {
			errs = append(errs, fmt.Errorf("model %s@%s needs feature %q, which the input dataset lacks", meta.Name, meta.Version, f))
		}
	}
	for i, k := range p.Inference.Keys {
		if !have[k] {
			errs = append(errs, fmt.Errorf("%s: inference.keys[%d]: column %q is not in the input dataset", p.File, i, k))
		}
	}
	return errors.Join(errs...)
}
