// Package duckwh is the embedded tier's warehouse: a DuckDB database file.
package duckwh

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "github.com/marcboeker/go-duckdb" // registers the duckdb driver

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/engine"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
	"github.com/fusiondata/fusion/services/runtime/warehouse"
)

// Warehouse loads into a DuckDB file. DuckDB lets one process hold a
// database file at a time, so the file is opened for each operation and
// closed after it: `fusion query` in another process can read between
// loads. Opening waits while another process holds the file.
type Warehouse struct {
	path string
	opts Options
	mu   *sync.RWMutex // the file's lock within the process (filelock.go)

	checkMu sync.Mutex
	check   *sql.DB // checks the files before a load (precheck.go)
}

// Options tune the warehouse.
type Options struct {
	// LockTimeout is how long opening waits for another process to release
	// the file; default 30s.
	LockTimeout time.Duration
	// MemoryLimit bounds the memory of each of the Warehouse's DuckDBs
	// (the file's, and the in-memory one that checks a merge's files),
	// e.g. "64MB"; "" is DuckDB's default (80% of RAM).
	MemoryLimit string
	// Threads DuckDB uses for a load; default 1. Loads write compressed
	// storage, which a second thread keeping the files' row order speeds
	// up by little at a high CPU cost, and loads run beside the other
	// steps.
	Threads int
	Hooks   warehouse.Hooks
}

var _ warehouse.Warehouse = (*Warehouse)(nil)

// History is the load-history table; it lives in the warehouse so that a
// load and its record commit in one transaction.
const History = "_fusion_loads"

// New returns a warehouse on the DuckDB file at path.
func New(path string, opts Options) *Warehouse {
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = 30 * time.Second
	}
	if opts.Threads <= 0 {
		opts.Threads = 1
	}
	return &Warehouse{path: path, opts: opts, mu: fileLock(path)}
}

func (w *Warehouse) Kind() string { return "duckdb" }

func (w *Warehouse) Close() error {
	w.checkMu.Lock()
	defer w.checkMu.Unlock()
	if w.check == nil {
		return nil
	}
	err := w.check.Close()
	w.check = nil
	return err
}

// open opens the file, waiting while another process holds its lock.
func (w *Warehouse) open(ctx context.Context, readOnly bool) (*sql.DB, error) {
	q := url.Values{}
	if readOnly {
		q.Set("access_mode", "read_only")
	} else {
		q.Set("threads", strconv.Itoa(w.opts.Threads))
	}
	if w.opts.MemoryLimit != "" {
		q.Set("memory_limit", w.opts.MemoryLimit)
	}
	dsn := w.path + "?" + q.Encode()
	deadline := time.Now().Add(w.opts.LockTimeout)
	wait := 20 * time.Millisecond
	for {
		db, err := sql.Open("duckdb", dsn)
		if err == nil {
			err = db.PingContext(ctx)
			if err != nil {
				db.Close()
			}
		}
		if err == nil {
			return db, nil
		}
		if replayFailed(err) {
			if err := w.setWALAside(ctx, err); err != nil {
				return nil, err
			}
			continue
		}
		if !strings.Contains(err.Error(), "lock") || time.Now().After(deadline) {
			return nil, fmt.Errorf("warehouse %s: %w", w.path, err)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(wait*2, 500*time.Millisecond)
	}
}

func (w *Warehouse) Load(ctx context.Context, req warehouse.LoadRequest) (warehouse.Result, error) {
	if err := req.Check(); err != nil {
		return warehouse.Result{}, err
	}
	if err := w.checkKeys(ctx, req); err != nil {
		return warehouse.Result{}, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	db, err := w.open(ctx, false)
	if err != nil {
		return warehouse.Result{}, err
	}
	if err := w.markLoading(req.LoadID); err != nil {
		db.Close()
		return warehouse.Result{}, err
	}
	defer func() {
		db.Close() // checkpoints
		w.doneLoading()
	}()
	conn, err := db.Conn(ctx)
	if err != nil {
		return warehouse.Result{}, err
	}
	defer conn.Close()

	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+History+` (
		load_id VARCHAR PRIMARY KEY, table_name VARCHAR NOT NULL, run_id VARCHAR, dataset VARCHAR,
		mode VARCHAR, rows BIGINT NOT NULL, loaded_at TIMESTAMP NOT NULL)`); err != nil {
		return warehouse.Result{}, err
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return warehouse.Result{}, err
	}
	defer tx.Rollback()

	var done int64
	switch err := tx.QueryRowContext(ctx, `SELECT rows FROM `+History+` WHERE load_id = ?`, req.LoadID).Scan(&done); {
	case err == nil:
		return warehouse.Result{Applied: false, Rows: done}, nil
	case !errors.Is(err, sql.ErrNoRows):
		return warehouse.Result{}, err
	}

	src := engine.ReadParquet(req.Files...)
	table := engine.QuoteQualified(req.Table)
	plan, err := prepareTable(ctx, tx, req, src)
	if err != nil {
		return warehouse.Result{}, err
	}
	var nullKeys []string // repeated keys were checked before (precheck.go)
	if req.Mode == pipeline.ModeMerge {
		nullKeys = req.Keys
	}
	if err := warehouse.CheckValues(ctx, tx, req.Files, plan.Checks, nullKeys); err != nil {
		return warehouse.Result{}, err
	}
	// The Parquet files are the staging area: DuckDB reads them in place.
	if err := w.opts.Hooks.RunAfterStage(req.LoadID); err != nil {
		return warehouse.Result{}, err
	}
	lay, err := layerStart(ctx, tx, req, plan) // a Lambda layer's load (layers.go)
	if err != nil {
		return warehouse.Result{}, err
	}
	switch {
	case lay.Stale: // an older batch recompute: only its history record
	case plan.Create: // nothing to replace or merge with
	case req.Mode == pipeline.ModeReplace:
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+table); err != nil {
			return warehouse.Result{}, err
		}
	case req.Mode == pipeline.ModeMerge:
		var on []string
		for _, k := range req.Keys {
			on = append(on, fmt.Sprintf("t.%s = s.%s", engine.QuoteIdent(k), engine.QuoteIdent(k)))
		}
		del := fmt.Sprintf("DELETE FROM %s AS t WHERE EXISTS (SELECT 1 FROM %s AS s WHERE %s)", table, src, strings.Join(on, " AND "))
		if _, err := tx.ExecContext(ctx, del); err != nil {
			return warehouse.Result{}, err
		}
	}
	var rows int64
	if !lay.Stale {
		res, err := tx.ExecContext(ctx, fmt.Sprintf("INSERT INTO %s BY NAME SELECT * FROM %s", table, src))
		if err != nil {
			return warehouse.Result{}, fmt.Errorf("load %s into %s: %w", req.LoadID, req.Table, err)
		}
		rows, _ = res.RowsAffected()
	}
	if err := layerFinish(ctx, tx, req, lay); err != nil {
		return warehouse.Result{}, fmt.Errorf("load %s into %s: %w", req.LoadID, req.Table, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO `+History+` VALUES (?, ?, ?, ?, ?, ?, ?)`,
		req.LoadID, req.Table, req.RunID, req.Dataset, req.Mode, rows, time.Now().UTC()); err != nil {
		return warehouse.Result{}, err
	}
	if err := tx.Commit(); err != nil {
		return warehouse.Result{}, err
	}
	return warehouse.Result{Applied: true, Rows: rows}, nil
}

// prepareTable creates the table from the files' schema, or evolves it:
// new columns are added (nullable), a changed type is refused.
func prepareTable(ctx context.Context, tx *sql.Tx, req warehouse.LoadRequest, src string) (warehouse.Plan, error) {
	schemaName, tableName := "main", req.Table
	if i := strings.IndexByte(req.Table, '.'); i >= 0 {
		schemaName, tableName = req.Table[:i], req.Table[i+1:]
		if _, err := tx.ExecContext(ctx, "CREATE SCHEMA IF NOT EXISTS "+engine.QuoteIdent(schemaName)); err != nil {
			return warehouse.Plan{}, err
		}
	}
	var existing []messages.Column
	rows, err := tx.QueryContext(ctx, `SELECT column_name, data_type FROM information_schema.columns
		WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position`, schemaName, tableName)
	if err != nil {
		return warehouse.Plan{}, err
	}
	for rows.Next() {
		var c messages.Column
		if err := rows.Scan(&c.Name, &c.Type); err != nil {
			rows.Close()
			return warehouse.Plan{}, err
		}
		existing = append(existing, c)
	}
	rows.Close()
	plan, err := warehouse.PlanFiles(ctx, tx, req, existing)
	if err != nil {
		return plan, err
	}
	table := engine.QuoteQualified(req.Table)
	if plan.Create {
		_, err := tx.ExecContext(ctx, fmt.Sprintf("CREATE TABLE %s AS SELECT * FROM %s LIMIT 0", table, src))
		return plan, err
	}
	for _, c := range plan.Add {
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("ALTER TABLE %s ADD COLUMN %s %s", table, engine.QuoteIdent(c.Name), c.Type)); err != nil {
			return plan, err
		}
	}
	return plan, nil
}

func (w *Warehouse) Query(ctx context.Context, query string, fn func([]string, []any) error) error {
	return w.read(ctx, func(db *sql.DB) error {
		rows, err := db.QueryContext(ctx, query)
		if err != nil {
			return err
		}
		return warehouse.ScanRows(rows, fn)
	})
}
