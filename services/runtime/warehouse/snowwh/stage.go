package snowwh

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/fusiondata/fusion/services/runtime/engine"
	"github.com/fusiondata/fusion/services/runtime/warehouse"
)

// staging is where a load's rows wait for its transaction: a table of the
// load's own in the home schema, with the data's columns under the table's
// names and types, filled by binding (bind.go) or PUT and COPY (put.go).
//
// It is TRANSIENT, not TEMPORARY: fakesnow's COPY INTO cannot see
// temporary tables. The difference does not touch correctness: the name is
// the load's alone and the table is dropped after the load; TRANSIENT with
// no retention keeps neither Time Travel nor Fail-safe copies. What it
// changes: a process killed mid-load leaves its _FUSION_STAGING_… table
// behind (a temporary one would go with the session). Such a table holds
// nothing committed; one older than the longest load can be dropped.
type staging struct {
	table tableName
	stage *tableName // the temporary stage files were PUT to
}

// Staging methods, as reported to Warehouse.staged.
const (
	viaBind = "bind"
	viaPut  = "put"
)

// stage fills a new staging table with the files' rows and returns it with
// their count. On error the staging table may exist: drop it.
func (w *Warehouse) stage(ctx context.Context, conn *sql.Conn, req warehouse.LoadRequest, cols []column) (staging, int64, error) {
	s := staging{table: w.in("_FUSION_STAGING_" + randomHex(8))}
	var rows int64
	if err := w.duck.QueryRowContext(ctx, "SELECT count(*) FROM "+engine.ReadParquet(req.Files...)).Scan(&rows); err != nil {
		return s, 0, fmt.Errorf("load %s: count rows: %w", req.LoadID, err)
	}
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("CREATE TRANSIENT TABLE %s (%s) DATA_RETENTION_TIME_IN_DAYS = 0",
		s.table, definitions(cols))); err != nil {
		return s, 0, fmt.Errorf("load %s: staging table: %w", req.LoadID, err)
	}
	via := viaPut
	if w.opts.ArrayBindRows > 0 && rows <= int64(w.opts.ArrayBindRows) {
		via = viaBind
	}
	var err error
	if via == viaBind {
		via, err = w.bind(ctx, conn, req.Files, cols, s.table)
	}
	if via == viaPut && err == nil {
		s.stage, err = w.put(ctx, conn, req.Files, s.table)
	}
	if err != nil {
		return s, 0, fmt.Errorf("load %s: staging: %w", req.LoadID, err)
	}
	if w.staged != nil {
		w.staged(via)
	}
	// A file COPY skipped or a row lost would otherwise go unnoticed.
	var got int64
	if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM "+s.table.String()).Scan(&got); err != nil {
		return s, 0, fmt.Errorf("load %s: staging: %w", req.LoadID, err)
	}
	if got != rows {
		return s, 0, fmt.Errorf("load %s: staged %d rows of %d", req.LoadID, got, rows)
	}
	return s, rows, nil
}

// unstage drops the staging table and stage, best effort: it runs after
// the load has succeeded or failed, which it must not change. A stage that
// cannot be dropped goes with the session (fakesnow has no DROP STAGE).
func (w *Warehouse) unstage(ctx context.Context, conn *sql.Conn, s staging) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	conn.ExecContext(ctx, "DROP TABLE IF EXISTS "+s.table.String())
	if s.stage != nil {
		conn.ExecContext(ctx, "DROP STAGE IF EXISTS "+s.stage.String())
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return strings.ToUpper(hex.EncodeToString(b))
}

// StageFiles copies Parquet files into a new staging table of the home
// schema for SQL to read, as a pushed-down transform does, on conn (a
// session of Conn). Simple lower-case column names are stored upper-case,
// so unquoted names in SQL find them. drop removes the table; call it when
// done, whatever happened.
func (w *Warehouse) StageFiles(ctx context.Context, conn *sql.Conn, files []string) (table string, drop func(), err error) {
	req := warehouse.LoadRequest{LoadID: "staging", Files: files}
	_, cols, err := w.plan(ctx, req, nil)
	if err != nil {
		return "", func() {}, err
	}
	s, _, err := w.stage(ctx, conn, req, cols)
	drop = func() { w.unstage(ctx, conn, s) }
	if err != nil {
		drop()
		return "", func() {}, err
	}
	return s.table.String(), drop, nil
}

// Conn returns a session of the warehouse's connection pool.
func (w *Warehouse) Conn(ctx context.Context) (*sql.Conn, error) { return w.db.Conn(ctx) }
