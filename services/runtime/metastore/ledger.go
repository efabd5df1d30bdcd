package metastore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/ledger"
)

var _ ledger.Store = (*Store)(nil)

// querier is a *sql.DB or a *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Record reads the run in an immediate transaction (one writer at a time,
// across processes), applies the event with ledger.Apply and writes back
// what changed.
func (s *Store) Record(ctx context.Context, status string, ev messages.StepEvent, plan ledger.Plan) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	r, _, err := loadRun(ctx, tx, ev.RunID)
	if err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	stepChanged, runChanged := ledger.Apply(&r, status, ev, plan)
	if runChanged {
		if err := saveRun(ctx, tx, r); err != nil {
			return err
		}
	}
	if stepChanged {
		if err := saveStep(ctx, tx, r.ID, ledger.StepOf(status, ev)); err != nil {
			return err
		}
	}
	if stepChanged || runChanged {
		if err := saveDeadline(ctx, tx, ledger.Assemble(r)); err != nil {
			return err
		}
	}
	return tx.Commit()
}

func saveRun(ctx context.Context, tx *sql.Tx, r ledger.Run) error {
	var exp any
	if r.Expected != nil {
		b, _ := json.Marshal(r.Expected)
		exp = string(b)
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO runs (run_id, pipeline, input, expected, first_seen, trace_id)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (run_id) DO UPDATE SET pipeline = excluded.pipeline, input = excluded.input,
			expected = excluded.expected, first_seen = excluded.first_seen, trace_id = excluded.trace_id`,
		r.ID, r.Pipeline, r.Input, exp, r.StartedAt.UnixNano(), r.TraceID)
	if err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	return nil
}

func saveStep(ctx context.Context, tx *sql.Tx, runID string, st ledger.Step) error {
	var errJSON any
	if st.Error != nil {
		b, _ := json.Marshal(st.Error)
		errJSON = string(b)
	}
	if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO steps
		(run_id, step, worker, status, input, attempt, started_at, duration_ms, rows_in, rows_out, bytes, error)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		runID, st.Name, st.Worker, st.Status, st.Input, st.Attempt, st.StartedAt.UnixNano(), st.DurationMS,
		st.RowsIn, st.RowsOut, st.Bytes, errJSON); err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	return nil
}

const runColumns = `r.run_id, r.pipeline, r.input, r.expected, r.first_seen, r.trace_id,
	COALESCE(d.deadline_ms, 0), d.late_at, d.claim_until, d.notified_at`

const runFrom = ` FROM runs r LEFT JOIN run_deadlines d USING (run_id) `

// loadRun reads a run as stored: its own facts and its recorded steps
// (no pending ones; see ledger.Assemble). A run never recorded is the zero
// Run and found is false.
func loadRun(ctx context.Context, q querier, id string) (r ledger.Run, found bool, err error) {
	runs, err := scanRuns(q.QueryContext(ctx, `SELECT `+runColumns+runFrom+`WHERE r.run_id = ?`, id))
	if err != nil || len(runs) == 0 {
		return ledger.Run{}, false, err
	}
	r = runs[0]
	if err := loadSteps(ctx, q, &r); err != nil {
		return ledger.Run{}, false, err
	}
	return r, true, nil
}

func scanRuns(rows *sql.Rows, err error) ([]ledger.Run, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var runs []ledger.Run
	for rows.Next() {
		var r ledger.Run
		var expected sql.NullString
		var first, deadlineMS int64
		var late, claim, notified sql.NullInt64
		if err := rows.Scan(&r.ID, &r.Pipeline, &r.Input, &expected, &first, &r.TraceID, &deadlineMS, &late, &claim, &notified); err != nil {
			return nil, err
		}
		r.StartedAt = time.Unix(0, first)
		if expected.Valid {
			json.Unmarshal([]byte(expected.String), &r.Expected)
		}
		r.Deadline = time.Duration(deadlineMS) * time.Millisecond
		r.LateAt, r.LateClaimUntil, r.LateNotifiedAt = fromNanos(late), fromNanos(claim), fromNanos(notified)
		runs = append(runs, r)
	}
	return runs, rows.Err()
}

func loadSteps(ctx context.Context, q querier, r *ledger.Run) error {
	rows, err := q.QueryContext(ctx, `SELECT step, worker, status, input, attempt, started_at, duration_ms, rows_in, rows_out, bytes, error
		FROM steps WHERE run_id = ? ORDER BY started_at`, r.ID)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var st ledger.Step
		var started int64
		var errJSON sql.NullString
		if err := rows.Scan(&st.Name, &st.Worker, &st.Status, &st.Input, &st.Attempt, &started, &st.DurationMS, &st.RowsIn, &st.RowsOut, &st.Bytes, &errJSON); err != nil {
			return err
		}
		st.StartedAt = time.Unix(0, started)
		if errJSON.Valid {
			st.Error = &messages.StepError{}
			json.Unmarshal([]byte(errJSON.String), st.Error)
		}
		r.Steps = append(r.Steps, st)
	}
	return rows.Err()
}

func (s *Store) Runs(ctx context.Context, limit int) ([]ledger.Run, error) {
	if limit <= 0 {
		limit = 50
	}
	return s.runs(ctx, `SELECT `+runColumns+runFrom+`ORDER BY r.first_seen DESC LIMIT ?`, limit)
}

func (s *Store) Run(ctx context.Context, id string) (ledger.Run, error) {
	runs, err := s.runs(ctx, `SELECT `+runColumns+runFrom+`WHERE r.run_id = ?`, id)
	if err != nil {
		return ledger.Run{}, err
	}
	if len(runs) == 0 {
		return ledger.Run{}, fmt.Errorf("run %s: %w", id, ledger.ErrNotFound)
	}
	return runs[0], nil
}

func (s *Store) RunForInput(ctx context.Context, input string) (ledger.Run, error) {
	runs, err := s.runs(ctx, `SELECT `+runColumns+runFrom+`WHERE r.input = ? ORDER BY r.first_seen DESC LIMIT 1`, input)
	if err != nil {
		return ledger.Run{}, err
	}
	if len(runs) == 0 {
		return ledger.Run{}, fmt.Errorf("run of %s: %w", input, ledger.ErrNotFound)
	}
	return runs[0], nil
}

// runs reads runs with their steps, assembled.
func (s *Store) runs(ctx context.Context, q string, args ...any) ([]ledger.Run, error) {
	runs, err := scanRuns(s.db.QueryContext(ctx, q, args...))
	if err != nil {
		return nil, err
	}
	for i := range runs {
		if err := loadSteps(ctx, s.db, &runs[i]); err != nil {
			return nil, err
		}
		runs[i] = ledger.Assemble(runs[i])
	}
	return runs, nil
}

func nanos(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixNano()
}

func fromNanos(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.Unix(0, n.Int64)
}
