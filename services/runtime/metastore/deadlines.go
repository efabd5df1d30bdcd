package metastore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/fusiondata/fusion/services/runtime/ledger"
)

// deadlinesSchema keeps, per run of a pipeline with a deadline, the
// deadline and the state of its late notice (ledger.Deadlines), and when
// the late checker must next look at it (ledger.NextCheck; NULL: never),
// indexed so that finding the overdue runs reads only them. A table of its
// own, so that homes made before deadlines existed gain it unchanged.
const deadlinesSchema = `
CREATE TABLE IF NOT EXISTS run_deadlines (
	run_id      TEXT PRIMARY KEY,
	deadline_ms INTEGER NOT NULL,
	next_check  INTEGER,
	late_at     INTEGER,
	claim_until INTEGER,
	notified_at INTEGER
);
CREATE INDEX IF NOT EXISTS run_deadlines_next ON run_deadlines (next_check) WHERE next_check IS NOT NULL;
`

// saveDeadline writes an assembled run's deadline state; runs without a
// deadline have none.
func saveDeadline(ctx context.Context, tx *sql.Tx, r ledger.Run) error {
	if r.Deadline <= 0 {
		return nil
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO run_deadlines (run_id, deadline_ms, next_check, late_at, claim_until, notified_at)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (run_id) DO UPDATE SET deadline_ms = excluded.deadline_ms, next_check = excluded.next_check,
			late_at = excluded.late_at, claim_until = excluded.claim_until, notified_at = excluded.notified_at`,
		r.ID, r.Deadline.Milliseconds(), nanos(ledger.NextCheck(r)), nanos(r.LateAt), nanos(r.LateClaimUntil), nanos(r.LateNotifiedAt))
	if err != nil {
		return fmt.Errorf("ledger: deadline of %s: %w", r.ID, err)
	}
	return nil
}

func (s *Store) Overdue(ctx context.Context, now time.Time, limit int) ([]ledger.Run, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT run_id FROM run_deadlines WHERE next_check IS NOT NULL AND next_check <= ?
		ORDER BY next_check LIMIT ?`, now.UnixNano(), limit)
	if err != nil {
		return nil, err
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var out []ledger.Run
	for _, id := range ids {
		r, found, err := loadRun(ctx, s.db, id)
		if err != nil {
			return nil, err
		}
		if r = ledger.Assemble(r); found && ledger.Claimable(r, now) {
			out = append(out, r)
		}
	}
	return out, nil
}

func (s *Store) ClaimLate(ctx context.Context, runID string, now time.Time, lease time.Duration) (bool, error) {
	claimed := false
	err := s.updateRun(ctx, runID, func(r *ledger.Run) bool {
		if !ledger.Claimable(ledger.Assemble(*r), now) {
			return false
		}
		ledger.Claim(r, now, lease)
		claimed = true
		return true
	})
	return claimed, err
}

func (s *Store) LateNotified(ctx context.Context, runID string, at time.Time) error {
	var errs error
	err := s.updateRun(ctx, runID, func(r *ledger.Run) bool {
		switch {
		case !r.LateNotifiedAt.IsZero():
			return false
		case r.LateAt.IsZero():
			errs = fmt.Errorf("run %s: %w", runID, ledger.ErrNotClaimed)
			return false
		}
		ledger.Notified(r, at)
		return true
	})
	if err != nil {
		return err
	}
	return errs
}

// updateRun reads a run in an immediate transaction and, when change
// reports a change, writes its deadline state back.
func (s *Store) updateRun(ctx context.Context, runID string, change func(*ledger.Run) bool) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	r, found, err := loadRun(ctx, tx, runID)
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("run %s: %w", runID, ledger.ErrNotFound)
	}
	if !change(&r) {
		return tx.Commit()
	}
	if err := saveDeadline(ctx, tx, ledger.Assemble(r)); err != nil {
		return err
	}
	return tx.Commit()
}
