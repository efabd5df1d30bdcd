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
	"time"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/catalog"
	"github.com/fusiondata/fusion/services/runtime/engine"
	"github.com/fusiondata/fusion/services/runtime/lake"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
	"github.com/fusiondata/fusion/services/runtime/worker"
)

// Names of a snapshot's outputs in its run's raw folder. They start with
// _ or end in .parquet, so a snapshot of the raw zone never reads them
// (pipeline.SnapshotSkips).
const (
	snapshotManifest = "_snapshot.json"
	snapshotParquet  = "snapshot.parquet"
)

// snapshotList is the list of objects a snapshot run reads, fixed by its
// first delivery.
type snapshotList struct {
	Prefix   string           `json:"prefix"`
	ListedAt time.Time        `json:"listed_at"`
	Objects  []snapshotObject `json:"objects"`
}

type snapshotObject struct {
	Key  string `json:"key"`
	Size int64  `json:"size"`
	ETag string `json:"etag,omitempty"`
}

// snapshot ingests every object under a snapshot source's prefix (a
// prefix outside landing/) as one dataset: each object is validated as a
// landed file is (source.schema, or the first object's inferred schema,
// checked against every object), and their rows become one typed Parquet
// copy, announced as a landed file's is.
//
// Idempotence under at-least-once delivery: the first delivery lists the
// prefix and records the list in the run's raw folder
// (raw/<pipeline>/<run>/_snapshot.json) before reading anything, and keeps
// each object's bytes there (raw/<pipeline>/<run>/<path under the
// prefix>); a redelivery reads that list and those copies, so the run's
// dataset does not change however late it is retried, and every output
// overwrites the same key. A prefix inside the raw zone is the lake's
// immutable record already: its objects are read in place.
//
// An empty prefix fails the step without retries: a run with nothing to
// read is announced as a failure, never loaded as an empty dataset (a
// precondition can make a step wait for files instead). Objects are read
// one at a time, each streamed by DuckDB, so memory stays bounded however
// many there are.
func (h *ingester) snapshot(ctx context.Context, in *worker.Input) (worker.Output, error) {
	return h.snapshotOf(ctx, in, in.Pipeline.Source.Prefix)
}

// snapshotOf ingests every object under prefix as the run's dataset, as
// snapshot describes (a lambda batch layer reads its history so).
func (h *ingester) snapshotOf(ctx context.Context, in *worker.Input, prefix string) (worker.Output, error) {
	p := in.Pipeline
	runDir := lake.RunKey(lake.Raw, p.Name, in.Run.RunID, "")
	list, err := h.snapshotList(ctx, prefix, runDir)
	if err != nil {
		return worker.Output{}, err
	}
	inPlace := strings.HasPrefix(prefix, lake.Raw+"/")

	tmpDir, err := os.MkdirTemp(h.deps.Engine.TempDir(), "snapshot-*")
	if err != nil {
		return worker.Output{}, err
	}
	defer os.RemoveAll(tmpDir)
	conn, err := h.deps.Engine.Conn(ctx)
	if err != nil {
		return worker.Output{}, err
	}
	defer conn.Close()

	src := p.Source
	var parts []string
	var schema []messages.Column
	var rows, size int64
	for i, o := range list.Objects {
		read := o.Key
		if !inPlace {
			if read, err = h.keepRaw(ctx, o.Key, runDir+"/"+strings.TrimPrefix(o.Key, prefix), list.ListedAt); err != nil {
				return worker.Output{}, err
			}
		}
		part := filepath.Join(tmpDir, fmt.Sprintf("part-%05d.parquet", i))
		res, n, err := h.convertObject(ctx, conn, read, src, part)
		if err != nil {
			return worker.Output{}, err
		}
		if res.prob != nil {
			return worker.Output{}, &worker.InputError{Object: read, File: o.Key, Line: res.prob.Line, Field: res.prob.Field, Err: res.prob.Err}
		}
		if i == 0 {
			schema = res.Schema
			if len(src.Schema) == 0 {
				// The first object's types are the snapshot's: the others must fit them.
				for _, c := range schema {
					src.Schema = append(src.Schema, pipeline.Column{Name: c.Name, Type: c.Type})
				}
			}
		}
		parts = append(parts, part)
		rows += res.Rows
		size += n
	}

	out := filepath.Join(tmpDir, snapshotParquet)
	merged, err := engine.CopyToParquet(ctx, conn, "SELECT * FROM "+engine.ReadParquet(parts...), out)
	if err != nil {
		return worker.Output{}, fmt.Errorf("merge %d objects of %s: %w", len(parts), prefix, err)
	}
	if merged != rows {
		return worker.Output{}, fmt.Errorf("merge of %s: %d rows read, %d merged", prefix, rows, merged)
	}
	parquetKey := runDir + "/" + snapshotParquet
	pq, err := h.deps.Lake.PutFile(ctx, parquetKey, out)
	if err != nil {
		return worker.Output{}, err
	}
	dataset := messages.DatasetRef{
		Name: p.DatasetName(pipeline.DatasetRaw), Zone: lake.Raw, Format: "parquet",
		Objects: []string{parquetKey}, Schema: schema, Rows: rows, Bytes: pq.Size,
	}
	if err := h.deps.Catalog.Register(ctx, catalog.FromRef(dataset, in.Run, pipeline.WorkerIngest, h.deps.Now())); err != nil {
		return worker.Output{}, err
	}
	rawKey := runDir + "/"
	if inPlace {
		rawKey = prefix
	}
	h.deps.Logger.Info("snapshot ingested", "pipeline", p.Name, "run_id", in.Run.RunID, "prefix", prefix,
		"objects", len(list.Objects), "rows", rows, "bytes", size)
	return worker.Output{
		RowsIn: rows, RowsOut: rows, Bytes: size,
		Events: []messages.Detail{&messages.DatasetIngested{
			RunRef:  in.Run,
			Source:  messages.ObjectRef{Bucket: h.deps.Lake.Bucket(), Key: prefix, Size: size},
			Raw:     messages.ObjectRef{Bucket: h.deps.Lake.Bucket(), Key: rawKey, Size: size},
			Dataset: dataset,
		}},
	}, nil
}

// snapshotList returns the objects the run reads: the list an earlier
// delivery recorded, or the prefix's objects now, recorded before use.
func (h *ingester) snapshotList(ctx context.Context, prefix, runDir string) (snapshotList, error) {
	key := runDir + "/" + snapshotManifest
	var list snapshotList
	r, err := h.deps.Lake.Open(ctx, key)
	if err == nil {
		defer r.Close()
		if err := json.NewDecoder(r).Decode(&list); err != nil {
			return list, fmt.Errorf("%s: %w", key, err)
		}
		return list, nil
	}
	if !errors.Is(err, lake.ErrNotFound) {
		return list, err
	}
	objs, err := h.deps.Lake.List(ctx, prefix)
	if err != nil {
		return list, err
	}
	list = snapshotList{Prefix: prefix, ListedAt: h.deps.Now().UTC()}
	for _, o := range objs {
		if pipeline.SnapshotSkips(o.Key) || strings.HasPrefix(o.Key, runDir+"/") {
			continue
		}
		list.Objects = append(list.Objects, snapshotObject{Key: o.Key, Size: o.Size, ETag: o.ETag})
	}
	if len(list.Objects) == 0 {
		return list, worker.Permanent(fmt.Errorf("nothing to ingest: no objects under %s at %s", prefix, list.ListedAt.Format(time.RFC3339)))
	}
	body, err := json.MarshalIndent(list, "", "  ")
	if err != nil {
		return list, err
	}
	if _, err := h.deps.Lake.Put(ctx, key, bytes.NewReader(append(body, '\n'))); err != nil {
		return list, err
	}
	return list, nil
}

// keepRaw copies an object's bytes to rawKey, unless an earlier delivery
// did, and returns the key to read.
func (h *ingester) keepRaw(ctx context.Context, key, rawKey string, listedAt time.Time) (string, error) {
	if _, err := h.deps.Lake.Stat(ctx, rawKey); err == nil {
		return rawKey, nil
	} else if !errors.Is(err, lake.ErrNotFound) {
		return "", err
	}
	if _, err := h.deps.Lake.Copy(ctx, key, rawKey); err != nil {
		if errors.Is(err, lake.ErrNotFound) {
			return "", worker.Permanent(fmt.Errorf("%s, listed at %s, is gone: request a new run", key, listedAt.Format(time.RFC3339)))
		}
		return "", err
	}
	return rawKey, nil
}

// convertedObject is one object's conversion: its typed copy, or the
// problem that refused it.
type convertedObject struct {
	converted
	prob *problem
}

// convertObject validates one object and writes its typed Parquet copy to
// out, returning its size in bytes.
func (h *ingester) convertObject(ctx context.Context, conn *sql.Conn, key string, src pipeline.Source, out string) (convertedObject, int64, error) {
	local, release, err := h.deps.Lake.Local(ctx, key, h.deps.Engine.TempDir())
	if err != nil {
		return convertedObject{}, 0, err
	}
	defer release()
	st, err := os.Stat(local)
	if err != nil {
		return convertedObject{}, 0, err
	}
	res, prob, err := convert(ctx, conn, local, src, out)
	if err != nil {
		return convertedObject{}, 0, err
	}
	return convertedObject{converted: res, prob: prob}, st.Size(), nil
}
