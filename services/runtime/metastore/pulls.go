package metastore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/fusiondata/fusion/services/runtime/catalog"
)

var _ catalog.Pulls = (*Store)(nil)

// pullsSchema keeps database pulls: each run's range, each pipeline's
// bookmark per source.
const pullsSchema = `
CREATE TABLE IF NOT EXISTS pulls (
	run_id     TEXT PRIMARY KEY,
	pipeline   TEXT NOT NULL,
	source     TEXT NOT NULL,
	low        TEXT,
	high       TEXT,
	status     TEXT NOT NULL,
	rows       INTEGER NOT NULL DEFAULT 0,
	started_at INTEGER NOT NULL,
	touched_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS pulls_pipeline ON pulls (pipeline, status);
CREATE TABLE IF NOT EXISTS bookmarks (
	pipeline   TEXT NOT NULL,
	source     TEXT NOT NULL,
	value      TEXT NOT NULL,
	run_id     TEXT NOT NULL,
	updated_at INTEGER NOT NULL,
	PRIMARY KEY (pipeline, source)
);
`

const pullCols = `run_id, pipeline, source, low, high, status, rows, started_at, touched_at`

func (s *Store) Pull(ctx context.Context, runID string) (catalog.Pull, error) {
	return pullOf(s.db.QueryRowContext(ctx, `SELECT `+pullCols+` FROM pulls WHERE run_id = ?`, runID), runID)
}

func (s *Store) StartPull(ctx context.Context, p catalog.Pull, lease time.Duration) (catalog.Pull, error) {
	if p.StartedAt.IsZero() {
		p.StartedAt = time.Now()
	}
	tx, err := s.db.BeginTx(ctx, nil) // immediate: pulls of one store are serialized
	if err != nil {
		return catalog.Pull{}, err
	}
	defer tx.Rollback()
	at := p.StartedAt.UnixNano()
	// A recorded run keeps its range.
	res, err := tx.ExecContext(ctx, `UPDATE pulls SET status = CASE status WHEN 'done' THEN 'done' ELSE 'running' END, touched_at = ? WHERE run_id = ?`, at, p.RunID)
	if err != nil {
		return catalog.Pull{}, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		var other string
		err := tx.QueryRowContext(ctx, `SELECT run_id FROM pulls WHERE pipeline = ? AND status = 'running' AND touched_at > ? ORDER BY touched_at DESC LIMIT 1`,
			p.Pipeline, p.StartedAt.Add(-lease).UnixNano()).Scan(&other)
		if err == nil {
			return catalog.Pull{}, fmt.Errorf("%w: run %s", catalog.ErrPullBusy, other)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return catalog.Pull{}, err
		}
		var low sql.NullString
		if err := tx.QueryRowContext(ctx, `SELECT value FROM bookmarks WHERE pipeline = ? AND source = ?`, p.Pipeline, p.Source).Scan(&low); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return catalog.Pull{}, err
		}
		if p.High == nil {
			low = sql.NullString{} // a full copy (or an empty table) has no range
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO pulls (`+pullCols+`) VALUES (?, ?, ?, ?, ?, 'running', 0, ?, ?)`,
			p.RunID, p.Pipeline, p.Source, low, nullable(p.High), at, at); err != nil {
			return catalog.Pull{}, err
		}
	}
	got, err := pullOf(tx.QueryRowContext(ctx, `SELECT `+pullCols+` FROM pulls WHERE run_id = ?`, p.RunID), p.RunID)
	if err != nil {
		return catalog.Pull{}, err
	}
	return got, tx.Commit()
}

func (s *Store) TouchPull(ctx context.Context, runID string, at time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE pulls SET touched_at = ? WHERE run_id = ?`, at.UnixNano(), runID)
	return err
}

func (s *Store) FinishPull(ctx context.Context, runID string, rows int64, at time.Time) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	p, err := pullOf(tx.QueryRowContext(ctx, `SELECT `+pullCols+` FROM pulls WHERE run_id = ?`, runID), runID)
	if err != nil {
		return err
	}
	if p.Status == catalog.PullDone {
		return nil // a redelivery: the bookmark moved the first time
	}
	if rows > 0 && p.High != nil {
		// Compare-and-set: only from the run's own Low.
		if p.Low == nil {
			_, err = tx.ExecContext(ctx, `INSERT INTO bookmarks (pipeline, source, value, run_id, updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
				p.Pipeline, p.Source, *p.High, runID, at.UnixNano())
		} else {
			_, err = tx.ExecContext(ctx, `UPDATE bookmarks SET value = ?, run_id = ?, updated_at = ? WHERE pipeline = ? AND source = ? AND value = ?`,
				*p.High, runID, at.UnixNano(), p.Pipeline, p.Source, *p.Low)
		}
		if err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE pulls SET status = 'done', rows = ?, touched_at = ? WHERE run_id = ?`, rows, at.UnixNano(), runID); err != nil {
		return err
	}
	return tx.Commit()
}

func (s *Store) FailPull(ctx context.Context, runID string, at time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE pulls SET status = 'failed', touched_at = ? WHERE run_id = ? AND status = 'running'`, at.UnixNano(), runID)
	return err
}

func (s *Store) Bookmark(ctx context.Context, pipeline, source string) (*string, error) {
	var v string
	err := s.db.QueryRowContext(ctx, `SELECT value FROM bookmarks WHERE pipeline = ? AND source = ?`, pipeline, source).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &v, nil
}

func pullOf(r scanner, runID string) (catalog.Pull, error) {
	var p catalog.Pull
	var low, high sql.NullString
	var started, touched int64
	err := r.Scan(&p.RunID, &p.Pipeline, &p.Source, &low, &high, &p.Status, &p.Rows, &started, &touched)
	if errors.Is(err, sql.ErrNoRows) {
		return p, fmt.Errorf("catalog: run %s: %w", runID, catalog.ErrNoPull)
	}
	if err != nil {
		return p, err
	}
	if low.Valid {
		p.Low = &low.String
	}
	if high.Valid {
		p.High = &high.String
	}
	p.StartedAt, p.TouchedAt = time.Unix(0, started), time.Unix(0, touched)
	return p, nil
}

func nullable(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}
