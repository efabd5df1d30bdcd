package metastore

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// handledSchema remembers the events each worker handled to the end: the
// runtime's deduplication, kept in the home so it survives restarts.
const handledSchema = `
CREATE TABLE IF NOT EXISTS handled (
	worker     TEXT NOT NULL,
	event_id   TEXT NOT NULL,
	run_id     TEXT NOT NULL,
	handled_at INTEGER NOT NULL,
	PRIMARY KEY (worker, event_id)
) WITHOUT ROWID;
`

// Handled reports whether worker handled the event to the end.
func (s *Store) Handled(ctx context.Context, worker, eventID string) (bool, error) {
	var one int
	err := s.db.QueryRowContext(ctx, `SELECT 1 FROM handled WHERE worker = ? AND event_id = ?`, worker, eventID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// MarkHandled records that worker handled the event to the end.
func (s *Store) MarkHandled(ctx context.Context, worker, eventID, runID string) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO handled (worker, event_id, run_id, handled_at) VALUES (?, ?, ?, ?)
		ON CONFLICT DO NOTHING`, worker, eventID, runID, time.Now().UnixMilli())
	return err
}
