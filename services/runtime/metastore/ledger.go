package metastore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/ledger"
)

var _ ledger.Ledger = (*Store)(nil)

func rank(status string) int {
	switch status {
	case ledger.Succeeded:
		return 2
	case ledger.Failed:
		return 1
	}
	return 0
}

func (s *Store) Record(ctx context.Context, status string, ev messages.StepEvent, expected []string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()

	var exp any
	if expected != nil {
		b, _ := json.Marshal(expected)
		exp = string(b)
	}
	input := ""
	if ev.Step == "ingest" {
		input = ev.Input
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO runs (run_id, pipeline, input, expected, first_seen, trace_id)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (run_id) DO UPDATE SET
			pipeline   = CASE WHEN runs.pipeline = '' THEN excluded.pipeline ELSE runs.pipeline END,
			input      = CASE WHEN runs.input = '' THEN excluded.input ELSE runs.input END,
			expected   = COALESCE(runs.expected, excluded.expected),
			first_seen = MIN(runs.first_seen, excluded.first_seen),
			trace_id   = CASE WHEN runs.trace_id = '' THEN excluded.trace_id ELSE runs.trace_id END`,
		ev.RunID, ev.Pipeline, input, exp, ev.StartedAt.UnixNano(), ledger.TraceID(ev.Traceparent)); err != nil {
		return fmt.Errorf("ledger: %w", err)
	}

	var haveStatus string
	var haveStart int64
	err = tx.QueryRowContext(ctx, `SELECT status, started_at FROM steps WHERE run_id = ? AND step = ?`, ev.RunID, ev.Step).Scan(&haveStatus, &haveStart)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return err
	default:
		// A success is final and wins over any other attempt, older or
		// newer: another attempt is a duplicate delivery, abandoned when
		// its process died or dropped once its event was found handled,
		// and must not reopen the step. Otherwise the newest attempt wins.
		start := ev.StartedAt.UnixNano()
		switch succeeded := status == ledger.Succeeded; {
		case haveStatus == ledger.Succeeded && !succeeded:
			return tx.Commit()
		case succeeded && haveStatus != ledger.Succeeded:
		case start < haveStart || (start == haveStart && rank(status) <= rank(haveStatus)):
			return tx.Commit() // older or no newer news
		}
	}
	var errJSON any
	if ev.Error != nil {
		b, _ := json.Marshal(ev.Error)
		errJSON = string(b)
	}
	if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO steps
		(run_id, step, worker, status, input, attempt, started_at, duration_ms, rows_in, rows_out, bytes, error)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		ev.RunID, ev.Step, ev.Worker, status, ev.Input, ev.Attempt, ev.StartedAt.UnixNano(), ev.DurationMS,
		ev.RowsIn, ev.RowsOut, ev.Bytes, errJSON); err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	return tx.Commit()
}

func (s *Store) Runs(ctx context.Context, limit int) ([]ledger.Run, error) {
	if limit <= 0 {
		limit = 50
	}
	return s.runs(ctx, `SELECT run_id, pipeline, input, expected, first_seen, trace_id FROM runs ORDER BY first_seen DESC LIMIT ?`, limit)
}

func (s *Store) Run(ctx context.Context, id string) (ledger.Run, error) {
	runs, err := s.runs(ctx, `SELECT run_id, pipeline, input, expected, first_seen, trace_id FROM runs WHERE run_id = ?`, id)
	if err != nil {
		return ledger.Run{}, err
	}
	if len(runs) == 0 {
		return ledger.Run{}, fmt.Errorf("run %s: %w", id, ledger.ErrNotFound)
	}
	return runs[0], nil
}

func (s *Store) RunForInput(ctx context.Context, input string) (ledger.Run, error) {
	runs, err := s.runs(ctx, `SELECT run_id, pipeline, input, expected, first_seen, trace_id FROM runs WHERE input = ? ORDER BY first_seen DESC LIMIT 1`, input)
	if err != nil {
		return ledger.Run{}, err
	}
	if len(runs) == 0 {
		return ledger.Run{}, fmt.Errorf("run of %s: %w", input, ledger.ErrNotFound)
	}
	return runs[0], nil
}

func (s *Store) runs(ctx context.Context, q string, args ...any) ([]ledger.Run, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	var runs []ledger.Run
	for rows.Next() {
		var r ledger.Run
		var expected sql.NullString
		var first int64
		if err := rows.Scan(&r.ID, &r.Pipeline, &r.Input, &expected, &first, &r.TraceID); err != nil {
			rows.Close()
			return nil, err
		}
		r.StartedAt = time.Unix(0, first)
		if expected.Valid {
			json.Unmarshal([]byte(expected.String), &r.Expected)
		}
		runs = append(runs, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range runs {
		if err := s.fillSteps(ctx, &runs[i]); err != nil {
			return nil, err
		}
	}
	return runs, nil
}

func (s *Store) fillSteps(ctx context.Context, r *ledger.Run) error {
	rows, err := s.db.QueryContext(ctx, `SELECT step, worker, status, input, attempt, started_at, duration_ms, rows_in, rows_out, bytes, error
		FROM steps WHERE run_id = ? ORDER BY started_at`, r.ID)
	if err != nil {
		return err
	}
	defer rows.Close()
	byName := map[string]ledger.Step{}
	var order []string
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
		byName[st.Name] = st
		order = append(order, st.Name)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	// Expected steps first, in pipeline order, pending ones included.
	seen := map[string]bool{}
	for _, name := range r.Expected {
		st, ok := byName[name]
		if !ok {
			st = ledger.Step{Name: name, Status: ledger.Pending}
		}
		r.Steps = append(r.Steps, st)
		seen[name] = true
	}
	for _, name := range order {
		if !seen[name] {
			r.Steps = append(r.Steps, byName[name])
		}
	}
	summarize(r)
	return nil
}

// summarize derives the run's status and end from its steps.
func summarize(r *ledger.Run) {
	failed, done := false, len(r.Expected) > 0
	var end time.Time
	for _, st := range r.Steps {
		switch st.Status {
		case ledger.Failed:
			failed = true
		case ledger.Succeeded:
		default:
			done = false
		}
		if st.Status != ledger.Pending {
			if e := st.StartedAt.Add(time.Duration(st.DurationMS) * time.Millisecond); e.After(end) {
				end = e
			}
		}
	}
	switch {
	case failed:
		r.Status = ledger.Failed
		r.FinishedAt = end
	case done:
		r.Status = ledger.Succeeded
		r.FinishedAt = end
	default:
		r.Status = ledger.Running
	}
}
