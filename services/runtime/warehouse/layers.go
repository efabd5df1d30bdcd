package warehouse

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/engine"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
)

// Layer makes a load one layer of a Lambda pipeline's serving view
// (pipeline.Lambda): LoadRequest.Layer. A sink that cannot serve layers
// refuses a request that has one; duckwh and pgwh serve them with the
// rules below, written once here (LayerStart, LayerFinish) against the
// sink's open load transaction (LayerTx).
//
// Inside the load's transaction, besides the rows and the history record:
//
//   - A batch load (Name batch, mode replace into Batch) moves the view's
//     watermark W to W' = max(Time) of the data, recorded in the view's
//     schema in fusion_watermarks (view_name, time_column, watermark,
//     run_id, updated_at), and deletes the speed rows with Time <= W':
//     the batch holds them now, and they could never show again.
//   - The watermark only moves forward: a batch load whose W' is older than
//     W, or that has no rows while W exists, is stale (an older recompute
//     finishing late). It changes neither table nor the watermark; only
//     its history record is written (Result.Rows 0), so a redelivery is
//     still a no-op. A recompute with W' = W is applied.
//   - Each layer's load creates the other layer's table, empty, with the
//     loaded table's columns, if it is missing; and (re)creates the
//     serving view when its definition changed.
//
// The serving view, over the columns both tables have (in the batch
// table's order), is:
//
//	visible speed = the speed rows with Time > W; every speed row while no
//	                batch has recorded a watermark; never a row whose Time
//	                is NULL once one has
//	view          = visible speed
//	                + the batch rows — without Keys, all of them; with Keys,
//	                  those whose keys no visible speed row has (a speed row
//	                  past the watermark is newer than the batch's)
//
// The watermark is read when the view is queried, so a batch load changes
// what the view shows at its commit, in one step.
type Layer struct {
	Name  string   // messages.LayerBatch or messages.LayerSpeed
	View  string   // the serving view, possibly schema-qualified
	Batch string   // the batch layer's table
	Speed string   // the speed layer's table
	Time  string   // the event-time column
	Keys  []string // optional: identify a row across layers
}

// WatermarkTable holds each serving view's batch watermark, in the view's
// schema.
const WatermarkTable = "fusion_watermarks"

// Watermarks is the watermark table of the layer's view, qualified as the
// view is.
func (l *Layer) Watermarks() string {
	if i := strings.LastIndexByte(l.View, '.'); i >= 0 {
		return l.View[:i+1] + WatermarkTable
	}
	return WatermarkTable
}

// table is the table this layer's loads write; other the other layer's.
func (l *Layer) table() string {
	if l.Name == messages.LayerBatch {
		return l.Batch
	}
	return l.Speed
}

func (l *Layer) other() string {
	if l.Name == messages.LayerBatch {
		return l.Speed
	}
	return l.Batch
}

// check refuses a request that does not fit its layer.
func (l *Layer) check(req LoadRequest) error {
	switch {
	case l.Name != messages.LayerBatch && l.Name != messages.LayerSpeed:
		return fmt.Errorf("load %s: layer %q is not %s or %s", req.LoadID, l.Name, messages.LayerBatch, messages.LayerSpeed)
	case l.View == "" || l.Batch == "" || l.Speed == "" || l.Time == "":
		return fmt.Errorf("load %s: a layer needs its view, batch and speed tables and time column", req.LoadID)
	case req.Table != l.table():
		return fmt.Errorf("load %s: the %s layer loads %s, not %s", req.LoadID, l.Name, l.table(), req.Table)
	case l.Name == messages.LayerBatch && req.Mode != pipeline.ModeReplace:
		return fmt.Errorf("load %s: a batch layer's load replaces its table (mode %q)", req.LoadID, req.Mode)
	}
	return nil
}

// LayerTx is a sink's open load transaction as the layer rules use it.
// Statements carry no parameters: values are inlined as quoted literals,
// identifiers quoted, so one text serves every sink.
type LayerTx interface {
	Exec(ctx context.Context, stmt string) error
	// Texts returns the first column of stmt's rows as text, nil for NULL.
	Texts(ctx context.Context, stmt string) ([]*string, error)
	// CastType spells a column type of the data (DuckDB's vocabulary) as
	// the warehouse spells it in a CAST.
	CastType(column, duckType string) (string, error)
	// Lock makes loads of one serving view take turns until commit; a
	// sink whose loads are serialized otherwise does nothing. It is called
	// before anything else of a layer's load.
	Lock(ctx context.Context, view string) error
	// ReplaceView makes the view select this, recreating it only when its
	// definition changed (readers of an unchanged view are not blocked).
	ReplaceView(ctx context.Context, view, selectSQL string) error
}

// LayerState is what LayerStart found, for LayerFinish.
type LayerState struct {
	// Stale says the batch load is older than the view's watermark: the
	// sink must leave the table as it is and record only the history.
	Stale    bool
	next     *string // the watermark a batch load moves to
	current  *string // the view's watermark before it
	timeType string  // the time column's type, DuckDB's
}

// LayerStart runs a layer's checks before the sink touches the table: the
// time column is in the data; for a batch load, the watermark it moves to
// (max(Time) of the Parquet files, read through data, a DuckDB querier)
// and whether it is stale. plan is the sink's plan of the load.
func LayerStart(ctx context.Context, tx LayerTx, data RowQuerier, req LoadRequest, plan Plan) (LayerState, error) {
	l := req.Layer
	var st LayerState
	if err := l.check(req); err != nil {
		return st, err
	}
	for _, c := range plan.Columns {
		if c.Name == l.Time {
			st.timeType = c.Type
		}
	}
	if st.timeType == "" {
		return st, fmt.Errorf("%w: the time column %s of view %s is not in the data", ErrIncompatible, l.Time, l.View)
	}
	if !typeRE.MatchString(st.timeType) {
		return st, fmt.Errorf("%w: the time column %s has type %q, which cannot carry a watermark", ErrIncompatible, l.Time, st.timeType)
	}
	if err := ensureWatermarks(ctx, tx, l); err != nil {
		return st, err
	}
	if l.Name != messages.LayerBatch {
		return st, nil
	}
	if err := data.QueryRowContext(ctx, fmt.Sprintf("SELECT CAST(max(%s) AS VARCHAR) FROM %s",
		engine.QuoteIdent(l.Time), engine.ReadParquet(req.Files...))).Scan(&st.next); err != nil {
		return st, fmt.Errorf("the watermark of %s: %w", req.LoadID, err)
	}
	current, err := watermark(ctx, tx, l)
	if err != nil || current == nil {
		return st, err
	}
	st.current = current
	if st.next == nil {
		st.Stale = true
		return st, nil
	}
	var older bool
	err = data.QueryRowContext(ctx, fmt.Sprintf("SELECT CAST(%s AS %s) < CAST(%s AS %s)",
		engine.QuoteString(*st.next), st.timeType, engine.QuoteString(*current), st.timeType)).Scan(&older)
	if err != nil {
		return st, fmt.Errorf("compare watermarks %q and %q of %s: %w", *st.next, *current, l.View, err)
	}
	st.Stale = older
	return st, nil
}

// RowQuerier reads one row: a *sql.DB, *sql.Conn or *sql.Tx of DuckDB.
type RowQuerier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// typeRE is the shape of the DuckDB type names a watermark may have
// (TIMESTAMP WITH TIME ZONE, DECIMAL(18,3)...): they are spelled into SQL.
var typeRE = regexp.MustCompile(`^[A-Z][A-Z0-9_ ]*(\(\d+(,\s*\d+)?\))?$`)

// LayerFinish completes a layer's load once its rows are in: a batch
// load's watermark and pruned speed rows, the other table, the view.
func LayerFinish(ctx context.Context, tx LayerTx, req LoadRequest, st LayerState) error {
	l := req.Layer
	castType, err := tx.CastType(l.Time, st.timeType)
	if err != nil {
		return err
	}
	wm := l.Watermarks()
	if l.Name == messages.LayerBatch && !st.Stale && st.next != nil {
		// UPDATE the row when there is one: DuckDB refuses a key deleted
		// and inserted again in one transaction.
		stmt := fmt.Sprintf("INSERT INTO %s (view_name, time_column, watermark, run_id, updated_at) VALUES (%s, %s, %s, %s, CURRENT_TIMESTAMP)",
			engine.QuoteQualified(wm), engine.QuoteString(l.View), engine.QuoteString(l.Time), engine.QuoteString(*st.next), engine.QuoteString(req.RunID))
		if st.current != nil {
			stmt = fmt.Sprintf("UPDATE %s SET time_column = %s, watermark = %s, run_id = %s, updated_at = CURRENT_TIMESTAMP WHERE view_name = %s",
				engine.QuoteQualified(wm), engine.QuoteString(l.Time), engine.QuoteString(*st.next), engine.QuoteString(req.RunID), engine.QuoteString(l.View))
		}
		if err := tx.Exec(ctx, stmt); err != nil {
			return err
		}
	}
	cols, err := tableColumns(ctx, tx, l.table())
	if err != nil {
		return err
	}
	other, err := tableColumns(ctx, tx, l.other())
	if err != nil {
		return err
	}
	if len(other) == 0 {
		if err := createSchemaOf(ctx, tx, l.other()); err != nil {
			return err
		}
		if err := tx.Exec(ctx, fmt.Sprintf("CREATE TABLE %s AS SELECT * FROM %s WHERE 1 = 0",
			engine.QuoteQualified(l.other()), engine.QuoteQualified(l.table()))); err != nil {
			return err
		}
		other = cols
	}
	batchCols, speedCols := cols, other
	if l.Name == messages.LayerSpeed {
		batchCols, speedCols = other, cols
	}
	for _, c := range append([]string{l.Time}, l.Keys...) {
		if !contains(batchCols, c) || !contains(speedCols, c) {
			return fmt.Errorf("%w: view %s needs column %s in both %s and %s", ErrIncompatible, l.View, c, l.Batch, l.Speed)
		}
	}
	if l.Name == messages.LayerBatch && !st.Stale && st.next != nil {
		// The batch holds these rows now; they could never show again.
		if err := tx.Exec(ctx, fmt.Sprintf("DELETE FROM %s WHERE %s <= CAST(%s AS %s)",
			engine.QuoteQualified(l.Speed), engine.QuoteIdent(l.Time), engine.QuoteString(*st.next), castType)); err != nil {
			return err
		}
	}
	var common []string
	for _, c := range batchCols {
		if contains(speedCols, c) {
			common = append(common, c)
		}
	}
	return tx.ReplaceView(ctx, l.View, l.viewSQL(common, castType))
}

// viewSQL is the serving view's SELECT (see Layer).
func (l *Layer) viewSQL(columns []string, castType string) string {
	cols := engine.QuoteIdents(columns)
	var b strings.Builder
	fmt.Fprintf(&b, "WITH _fusion_watermark AS (SELECT CAST(watermark AS %s) AS w FROM %s WHERE view_name = %s),\n",
		castType, engine.QuoteQualified(l.Watermarks()), engine.QuoteString(l.View))
	fmt.Fprintf(&b, "_fusion_speed AS (SELECT %s FROM %s AS s WHERE NOT EXISTS (SELECT 1 FROM _fusion_watermark) OR s.%s > (SELECT w FROM _fusion_watermark))\n",
		cols, engine.QuoteQualified(l.Speed), engine.QuoteIdent(l.Time))
	fmt.Fprintf(&b, "SELECT %s FROM %s AS b", cols, engine.QuoteQualified(l.Batch))
	if len(l.Keys) > 0 {
		on := make([]string, len(l.Keys))
		for i, k := range l.Keys {
			on[i] = fmt.Sprintf("s.%s = b.%s", engine.QuoteIdent(k), engine.QuoteIdent(k))
		}
		fmt.Fprintf(&b, " WHERE NOT EXISTS (SELECT 1 FROM _fusion_speed AS s WHERE %s)", strings.Join(on, " AND "))
	}
	fmt.Fprintf(&b, "\nUNION ALL\nSELECT %s FROM _fusion_speed", cols)
	return b.String()
}

// ensureWatermarks creates the watermark table (and the view's schema).
func ensureWatermarks(ctx context.Context, tx LayerTx, l *Layer) error {
	if cols, err := tableColumns(ctx, tx, l.Watermarks()); err != nil || len(cols) > 0 {
		return err
	}
	if err := createSchemaOf(ctx, tx, l.View); err != nil {
		return err
	}
	return tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+engine.QuoteQualified(l.Watermarks())+` (
		view_name VARCHAR(1024) PRIMARY KEY, time_column VARCHAR(1024) NOT NULL, watermark VARCHAR(1024) NOT NULL,
		run_id VARCHAR(256) NOT NULL, updated_at TIMESTAMP NOT NULL)`)
}

// watermark reads the view's watermark; nil when no batch recorded one.
func watermark(ctx context.Context, tx LayerTx, l *Layer) (*string, error) {
	vals, err := tx.Texts(ctx, fmt.Sprintf("SELECT watermark FROM %s WHERE view_name = %s",
		engine.QuoteQualified(l.Watermarks()), engine.QuoteString(l.View)))
	if err != nil || len(vals) == 0 {
		return nil, err
	}
	return vals[0], nil
}

// tableColumns lists a table's columns in order; none when it is missing.
func tableColumns(ctx context.Context, tx LayerTx, table string) ([]string, error) {
	schema, name := "current_schema()", table
	if i := strings.IndexByte(table, '.'); i >= 0 {
		schema, name = engine.QuoteString(table[:i]), table[i+1:]
	}
	vals, err := tx.Texts(ctx, fmt.Sprintf(`SELECT column_name FROM information_schema.columns
		WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position`, schema, engine.QuoteString(name)))
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(vals))
	for _, v := range vals {
		if v != nil {
			out = append(out, *v)
		}
	}
	return out, nil
}

func createSchemaOf(ctx context.Context, tx LayerTx, table string) error {
	i := strings.IndexByte(table, '.')
	if i < 0 {
		return nil
	}
	return tx.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+engine.QuoteIdent(table[:i]))
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// SQLLayerTx adapts a database/sql transaction (DuckDB's) to LayerTx for a
// sink whose loads are serialized in its process: Lock does nothing, types
// are DuckDB's, and the view is replaced in place.
type SQLLayerTx struct{ Tx *sql.Tx }

func (t SQLLayerTx) Exec(ctx context.Context, stmt string) error {
	_, err := t.Tx.ExecContext(ctx, stmt)
	return err
}

func (t SQLLayerTx) Texts(ctx context.Context, stmt string) ([]*string, error) {
	rows, err := t.Tx.QueryContext(ctx, stmt)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*string
	for rows.Next() {
		var v sql.NullString
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		if v.Valid {
			out = append(out, &v.String)
		} else {
			out = append(out, nil)
		}
	}
	return out, rows.Err()
}

func (t SQLLayerTx) CastType(_, duckType string) (string, error) { return duckType, nil }

func (t SQLLayerTx) Lock(context.Context, string) error { return nil }

func (t SQLLayerTx) ReplaceView(ctx context.Context, view, selectSQL string) error {
	return t.Exec(ctx, "CREATE OR REPLACE VIEW "+engine.QuoteQualified(view)+" AS "+selectSQL)
}

// ErrNoLayers is returned by a sink that does not serve Lambda layers.
var ErrNoLayers = errors.New("this warehouse does not serve Lambda layers (pipeline lambda blocks): use DuckDB or Postgres")
