package metastore

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// schedulesSchema keeps the local scheduler's position per pipeline: the
// due time of its last fire, or of the moment it started counting from (a
// pipeline seen for the first time, fires skipped), so that a restarted
// `fusion run` knows which fires it missed.
const schedulesSchema = `
CREATE TABLE IF NOT EXISTS schedules (
	pipeline   TEXT PRIMARY KEY,
	mark       INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);
`

// ScheduleMark returns the pipeline's schedule mark; false when the
// scheduler has never seen the pipeline.
func (s *Store) ScheduleMark(ctx context.Context, pipeline string) (time.Time, bool, error) {
	var mark int64
	err := s.db.QueryRowContext(ctx, `SELECT mark FROM schedules WHERE pipeline = ?`, pipeline).Scan(&mark)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, err
	}
	return time.Unix(0, mark).UTC(), true, nil
}

// SetScheduleMark moves the pipeline's schedule mark to at. A mark never
// moves back: of two writers, the later fire wins.
func (s *Store) SetScheduleMark(ctx context.Context, pipeline string, at time.Time) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO schedules (pipeline, mark, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (pipeline) DO UPDATE SET mark = max(mark, excluded.mark), updated_at = excluded.updated_at`,
		pipeline, at.UnixNano(), time.Now().UnixNano())
	return err
}
