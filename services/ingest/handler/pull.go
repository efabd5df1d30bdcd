package handler

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/ingest/pgsource"
	"github.com/fusiondata/fusion/services/runtime/catalog"
	"github.com/fusiondata/fusion/services/runtime/config"
	"github.com/fusiondata/fusion/services/runtime/lake"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
	"github.com/fusiondata/fusion/services/runtime/worker"
)

// pullLease is how long a pull whose handler went silent (a crash) still
// holds its pipeline; a running pull touches its state well within it.
const pullLease = 2 * time.Minute

// requested pulls a pipeline's Postgres table: the whole table, or with a
// bookmark the rows in (bookmark of the last successful pull, max now].
//
// Idempotence under at-least-once delivery: the range is fixed and
// recorded (catalog.Pulls) before anything is read, so a redelivery reads
// exactly that range again and overwrites the same raw key; the pipeline's
// bookmark moves to the range's high only once the Parquet copy is in the
// raw zone and registered; a redelivery of a finished pull announces the
// recorded copy again without reading the table. An empty range completes
// the run with 0 rows, so every request ends as a run that finished.
func (h *ingester) requested(ctx context.Context, in *worker.Input) (worker.Output, error) {
	p := in.Pipeline
	src := p.Source.Postgres
	if src == nil {
		return worker.Output{}, worker.Permanent(fmt.Errorf("pipeline %s has no postgres source", p.Name))
	}
	pulls, ok := h.deps.Catalog.(catalog.Pulls)
	if !ok {
		return worker.Output{}, worker.Permanent(errors.New("the catalog keeps no pull state; postgres sources need one"))
	}
	schema, name := src.TableName()
	table := pgsource.Table{Schema: schema, Name: name}
	runID := in.Run.RunID
	fail := func(err error) (worker.Output, error) {
		err = fmt.Errorf("pipeline %s: postgres table %s (connection %s): %w", p.Name, table, src.Connection, err)
		if pgsource.Permanent(err) || worker.IsPermanent(err) {
			// Release the pipeline for the next request.
			if ferr := pulls.FailPull(context.WithoutCancel(ctx), runID, h.deps.Now()); ferr != nil {
				h.deps.Logger.Warn("pull not released", "run_id", runID, "error", ferr)
			}
			return worker.Output{}, worker.Permanent(err)
		}
		return worker.Output{}, err
	}
	rawKey := lake.RunKey(lake.Raw, p.Name, runID, rawName(name)+".parquet")

	if out, ok := h.announceFinished(ctx, pulls, in, rawKey); ok {
		return out, nil
	}
	url, err := h.deps.Connection(src.Connection)
	if err != nil {
		return fail(worker.Permanent(err))
	}
	if scheme, _ := config.SchemeOf(url); scheme != config.SchemePostgres {
		return fail(worker.Permanent(fmt.Errorf("connection %s is a %s URL, not postgres://", src.Connection, scheme)))
	}
	conn, err := pgsource.Connect(ctx, url)
	if err != nil {
		return fail(err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	have, err := pgsource.Describe(ctx, conn, table)
	if err != nil {
		return fail(err)
	}
	plan, err := planPull(p, have)
	if err != nil {
		return fail(err)
	}

	pull, err := h.startPull(ctx, pulls, in, conn, table, plan)
	if err != nil {
		return fail(err)
	}
	defer h.keepAlive(ctx, pulls, runID)()

	var rng *pgsource.Range
	if plan.bookmark != nil {
		rng = &pgsource.Range{Column: *plan.bookmark, Low: pull.Low, High: pull.High}
	}
	rows, obj, err := h.pullToLake(ctx, conn, table, plan, rng, rawKey)
	if err != nil {
		return fail(err)
	}
	dataset := messages.DatasetRef{
		Name: p.DatasetName(pipeline.DatasetRaw), Zone: lake.Raw, Format: "parquet",
		Objects: []string{rawKey}, Schema: plan.schema(), Rows: rows, Bytes: obj.Size,
	}
	if err := h.deps.Catalog.Register(ctx, catalog.FromRef(dataset, in.Run, pipeline.WorkerIngest, h.deps.Now())); err != nil {
		return fail(err)
	}
	if err := pulls.FinishPull(ctx, runID, rows, h.deps.Now()); err != nil {
		return fail(err)
	}
	h.deps.Logger.Info("pulled", "pipeline", p.Name, "run_id", runID, "table", table.String(), "rows", rows,
		"low", deref(pull.Low), "high", deref(pull.High))
	return h.pulled(in, obj, dataset), nil
}

// startPull fixes the run's range — low the pipeline's bookmark, high the
// bookmark column's max now — or finds the range an earlier delivery fixed.
func (h *ingester) startPull(ctx context.Context, pulls catalog.Pulls, in *worker.Input, conn *pgx.Conn, table pgsource.Table, plan pullPlan) (catalog.Pull, error) {
	// The bookmark belongs to what is pulled: another table or column starts over.
	source := in.Pipeline.Source.Postgres.Label()
	if plan.bookmark != nil {
		source += "#" + plan.bookmark.Name
	}
	start := catalog.Pull{RunID: in.Run.RunID, Pipeline: in.Pipeline.Name, Source: source, StartedAt: h.deps.Now()}
	_, err := pulls.Pull(ctx, in.Run.RunID)
	switch {
	case errors.Is(err, catalog.ErrNoPull):
		if plan.bookmark != nil {
			if start.High, err = pgsource.MaxBookmark(ctx, conn, table, *plan.bookmark); err != nil {
				return catalog.Pull{}, err
			}
		}
	case err != nil:
		return catalog.Pull{}, err
	}
	pull, err := pulls.StartPull(ctx, start, pullLease)
	if errors.Is(err, catalog.ErrPullBusy) {
		return catalog.Pull{}, fmt.Errorf("%w; pulls of one pipeline run one at a time, so this request waits by retrying", err)
	}
	if err != nil {
		return catalog.Pull{}, err
	}
	if pull.Source != source {
		return catalog.Pull{}, worker.Permanent(fmt.Errorf("the pipeline's source changed since run %s fixed its range on %s; request a new run", in.Run.RunID, pull.Source))
	}
	return pull, nil
}

// announceFinished returns the output of a pull an earlier delivery
// finished, from the catalog and the raw zone, without reading the table.
func (h *ingester) announceFinished(ctx context.Context, pulls catalog.Pulls, in *worker.Input, rawKey string) (worker.Output, bool) {
	pull, err := pulls.Pull(ctx, in.Run.RunID)
	if err != nil || pull.Status != catalog.PullDone {
		return worker.Output{}, false
	}
	d, err := h.deps.Catalog.Get(ctx, in.Pipeline.DatasetName(pipeline.DatasetRaw), in.Run.RunID)
	if err != nil {
		return worker.Output{}, false
	}
	obj, err := h.deps.Lake.Stat(ctx, rawKey)
	if err != nil {
		return worker.Output{}, false // gone from raw: pull the same range again
	}
	dataset := messages.DatasetRef{Name: d.Name, Zone: d.Zone, Format: d.Format, Objects: d.Objects, Schema: d.Schema, Rows: d.Rows, Bytes: d.Bytes}
	return h.pulled(in, obj, dataset), true
}

// pulled is the output of a pull: the dataset announced as file ingest
// announces one, so transform and what follows work unchanged.
func (h *ingester) pulled(in *worker.Input, raw lake.Object, dataset messages.DatasetRef) worker.Output {
	return worker.Output{
		RowsIn: dataset.Rows, RowsOut: dataset.Rows, Bytes: raw.Size,
		Events: []messages.Detail{&messages.DatasetIngested{
			RunRef:  in.Run,
			Source:  messages.ObjectRef{Key: in.Pipeline.Source.Postgres.Label()},
			Raw:     messages.ObjectRef{Bucket: h.deps.Lake.Bucket(), Key: raw.Key, Size: raw.Size, ETag: raw.ETag},
			Dataset: dataset,
		}},
	}
}

// pullToLake copies the range to a local CSV file, converts it to Parquet
// and stores that under rawKey.
func (h *ingester) pullToLake(ctx context.Context, conn *pgx.Conn, table pgsource.Table, plan pullPlan, rng *pgsource.Range, rawKey string) (int64, lake.Object, error) {
	csvFile, err := os.CreateTemp(h.deps.Engine.TempDir(), "pull-*.csv")
	if err != nil {
		return 0, lake.Object{}, err
	}
	defer os.Remove(csvFile.Name())
	w := bufio.NewWriterSize(csvFile, 1<<20)
	rows, err := pgsource.CopyCSV(ctx, conn, table, plan.names(), rng, w)
	if err == nil {
		err = w.Flush()
	}
	if cerr := csvFile.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, lake.Object{}, err
	}
	pq, err := os.CreateTemp(h.deps.Engine.TempDir(), "pull-*.parquet")
	if err != nil {
		return 0, lake.Object{}, err
	}
	pq.Close()
	defer os.Remove(pq.Name())
	duck, err := h.deps.Engine.Conn(ctx)
	if err != nil {
		return 0, lake.Object{}, err
	}
	err = pulledToParquet(ctx, duck, csvFile.Name(), rows, plan.cols, pq.Name())
	duck.Close()
	if err != nil {
		return 0, lake.Object{}, err
	}
	obj, err := h.deps.Lake.PutFile(ctx, rawKey, pq.Name())
	return rows, obj, err
}

// keepAlive touches the run's pull until the returned stop is called, so
// the pipeline stays held however long the copy takes.
func (h *ingester) keepAlive(ctx context.Context, pulls catalog.Pulls, runID string) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(pullLease / 4)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if err := pulls.TouchPull(ctx, runID, h.deps.Now()); err != nil && ctx.Err() == nil {
					h.deps.Logger.Warn("pull not touched", "run_id", runID, "error", err)
				}
			}
		}
	}()
	return func() { cancel(); <-done }
}

var unsafeKeyChars = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// rawName turns a table name into a safe lake file name.
func rawName(table string) string {
	if n := unsafeKeyChars.ReplaceAllString(table, "_"); n != "" && n != "_" {
		return n
	}
	return "table"
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
