// Package handler is the ingest worker: it takes a landed file, keeps its
// bytes unchanged in the raw zone (the lake's immutable record, from which
// any run can be replayed), validates it against the pipeline's schema (or
// infers one), writes a typed Parquet copy, registers the dataset in the
// catalog and announces it. For a pipeline whose source is a Postgres
// table, a request pulls the table (or its new rows) into the raw zone as
// Parquet and announces it the same way.
package handler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path"
	"strings"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/ingest/stream"
	"github.com/fusiondata/fusion/services/runtime/catalog"
	"github.com/fusiondata/fusion/services/runtime/lake"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
	"github.com/fusiondata/fusion/services/runtime/worker"
)

func init() { worker.Register(pipeline.WorkerIngest, New) }

// New builds the ingest worker.
func New(d worker.Deps) (*worker.Worker, error) {
	if d.Engine == nil || d.Lake == nil || d.Catalog == nil {
		return nil, errors.New("ingest needs an engine, a lake and a catalog")
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	h := &ingester{deps: d}
	return (&worker.Worker{Name: pipeline.WorkerIngest, Handlers: map[string]worker.Handler{
		messages.DetailTypeObjectCreated: h.objectCreated,
		messages.TypeIngestRequested:     h.onRequest,
	}, Attach: stream.Attach(d)}).WithActivities(h.copyActivity), nil // copy.go; stream: records endpoint and micro-batcher
}

type ingester struct{ deps worker.Deps }

// onRequest starts a requested run by its pipeline's source: a snapshot of
// a prefix (snapshot.go) or a Postgres table (pull.go).
func (h *ingester) onRequest(ctx context.Context, in *worker.Input) (worker.Output, error) {
	if in.Pipeline.Lambda != nil { // a Lambda pipeline's batch layer (batchlayer.go)
		return h.batchLayer(ctx, in)
	}
	if in.Pipeline.Source.Snapshot() {
		return h.snapshot(ctx, in)
	}
	return h.requested(ctx, in)
}

func (h *ingester) objectCreated(ctx context.Context, in *worker.Input) (worker.Output, error) {
	oc := in.Detail.(*messages.ObjectCreated)
	p := in.Pipeline
	landed := oc.Object.Key
	name := path.Base(landed)
	rawKey := lake.RunKey(lake.Raw, p.Name, in.Run.RunID, name)
	parquetKey := lake.RunKey(lake.Raw, p.Name, in.Run.RunID, strings.TrimSuffix(name, path.Ext(name))+".parquet")

	// A redelivery may find the bytes already kept in raw (and the landed
	// file gone); the raw copy is then the input.
	src := landed
	if _, err := h.deps.Lake.Stat(ctx, rawKey); err == nil {
		src = rawKey
	} else if _, err := h.deps.Lake.Stat(ctx, landed); errors.Is(err, lake.ErrNotFound) {
		return worker.Output{}, worker.Permanent(fmt.Errorf("%s is gone: neither landed nor kept in raw (quarantined or deleted by an earlier delivery)", landed))
	}

	local, release, err := h.deps.Lake.Local(ctx, src, h.deps.Engine.TempDir())
	if err != nil {
		return worker.Output{}, err
	}
	defer release()
	tmp, err := os.CreateTemp(h.deps.Engine.TempDir(), "ingest-*.parquet")
	if err != nil {
		return worker.Output{}, err
	}
	tmp.Close()
	defer os.Remove(tmp.Name())

	conn, err := h.deps.Engine.Conn(ctx)
	if err != nil {
		return worker.Output{}, err
	}
	res, prob, err := convert(ctx, conn, local, p.Source, tmp.Name())
	conn.Close()
	if err != nil {
		return worker.Output{}, err
	}
	if prob != nil {
		return worker.Output{}, &worker.InputError{Object: src, File: landed, Line: prob.Line, Field: prob.Field, Err: prob.Err}
	}

	if src == landed {
		if _, err := h.deps.Lake.Copy(ctx, landed, rawKey); err != nil {
			return worker.Output{}, err
		}
	}
	rawObj, err := h.deps.Lake.Stat(ctx, rawKey)
	if err != nil {
		return worker.Output{}, err
	}
	pq, err := h.deps.Lake.PutFile(ctx, parquetKey, tmp.Name())
	if err != nil {
		return worker.Output{}, err
	}
	dataset := messages.DatasetRef{
		Name: p.DatasetName(pipeline.DatasetRaw), Zone: lake.Raw, Format: "parquet",
		Objects: []string{parquetKey}, Schema: res.Schema, Rows: res.Rows, Bytes: pq.Size,
	}
	if err := h.deps.Catalog.Register(ctx, catalog.FromRef(dataset, in.Run, pipeline.WorkerIngest, h.deps.Now())); err != nil {
		return worker.Output{}, err
	}
	if err := h.deps.Lake.Delete(ctx, landed); err != nil {
		return worker.Output{}, err
	}
	return worker.Output{
		RowsIn: res.Rows, RowsOut: res.Rows, Bytes: rawObj.Size,
		Events: []messages.Detail{&messages.DatasetIngested{
			RunRef:  in.Run,
			Source:  messages.ObjectRef{Bucket: oc.Bucket.Name, Key: landed, Size: oc.Object.Size, ETag: oc.Object.ETag},
			Raw:     messages.ObjectRef{Bucket: h.deps.Lake.Bucket(), Key: rawKey, Size: rawObj.Size, ETag: rawObj.ETag},
			Dataset: dataset,
		}},
	}, nil
}
